"""``python -m greentui`` is the same as the ``greentui`` command."""

import sys

from greentui.cli import main

sys.exit(main())
