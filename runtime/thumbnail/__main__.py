"""Container entrypoint: `python -m runtime.thumbnail`."""

import sys

from runtime.thumbnail.worker import main

sys.exit(main())
