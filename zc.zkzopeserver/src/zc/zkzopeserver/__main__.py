"""``python -m zc.zkzopeserver``: the ``zkzopeserver`` console script."""
import sys

from zc.zkzopeserver.script import main

sys.exit(main())
