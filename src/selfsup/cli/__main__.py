"""``python -m selfsup.cli`` (what ``torchrun ... -m selfsup.cli pretrain ...`` runs)."""

import sys

from selfsup.cli import main

sys.exit(main())
