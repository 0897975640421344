import sys

from tray_app.cli import main

sys.exit(main())
