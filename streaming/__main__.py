"""``python -m streaming ...`` is ``python -m streaming.pipeline ...``."""

from streaming.pipeline import main

raise SystemExit(main())
