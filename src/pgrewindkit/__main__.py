from __future__ import annotations

import sys

from pgrewindkit.cli import main

sys.exit(main())
