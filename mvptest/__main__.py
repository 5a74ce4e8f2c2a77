"""``python -m mvptest``: the same program as the ``mvptest`` command."""

import sys

from mvptest.cli import main

sys.exit(main())
