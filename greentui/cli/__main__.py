"""``python -m greentui.cli`` is the same as the ``greentui`` command."""

import sys

from greentui.cli.entry import main

sys.exit(main())
