"""Logging and warning set-up of the ``selfsup`` command, done once per process."""

from __future__ import annotations

import logging
import sys
import warnings

_HANDLER_NAME = "selfsup-cli"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests and notebooks
    swap it), not to the stream that was current when logging was configured."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure_logging(verbose: bool) -> None:
    """selfsup's own messages at INFO; Lightning's start-up chatter only with ``--verbose``.

    Repeated calls (``main()`` run twice in one process, as tests and notebooks do) change the
    level but never add a second handler, so no line is printed twice.
    """
    ours = logging.getLogger("selfsup")
    if not any(h.get_name() == _HANDLER_NAME for h in ours.handlers):
        handler = _CurrentStderr()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose else logging.INFO)
    import lightning.pytorch  # noqa: F401  (it sets its own log level on import; override after)

    logging.getLogger("lightning.pytorch").setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:  # deprecation notices from inside Lightning are not the user's to act on
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
