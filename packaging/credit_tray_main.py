"""Entry point of the frozen app: the same ``credit-tray`` command as the pip-installed one.

No arguments start the tray; ``check``, ``accounts``, ``key``, ... work as documented.
"""

import sys

from tray_app.launch import main

if __name__ == "__main__":
    sys.exit(main())
