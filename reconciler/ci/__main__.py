"""``python -m reconciler.ci``."""

import sys

from reconciler.ci.cli import main

if __name__ == "__main__":
    sys.exit(main())
