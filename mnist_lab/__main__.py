"""Entry point of ``python -m mnist_lab``."""

import sys

from mnist_lab.cli import main

sys.exit(main())
