"""``python -m robocritic.cli``."""

import sys

from robocritic.cli import main

sys.exit(main())
