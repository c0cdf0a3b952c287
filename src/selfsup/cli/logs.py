"""Logging and warning set-up of the ``selfsup`` command, done once per process.

Nothing here imports Lightning or torch: ``--help`` and config errors answer at once. The
engine hides Lightning's chatter itself while it trains (:mod:`selfsup.engine.quiet`), so the
command and the Python API print the same lines.
"""

from __future__ import annotations

import logging
import warnings

from selfsup.engine.quiet import install_selfsup_handler


def configure_logging(verbose: bool) -> None:
    """selfsup's own messages at INFO; Lightning's start-up chatter only with ``--verbose``."""
    install_selfsup_handler(verbose)
    logging.getLogger("lightning.pytorch").setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:  # deprecation notices from inside libraries are not the user's to act on
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
