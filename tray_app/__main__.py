import sys

from tray_app.launch import main

sys.exit(main())
