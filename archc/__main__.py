"""`python -m archc` is the `archc` command."""

import sys

from archc.cli import main

sys.exit(main())
