"""selfsup's own lines on stderr, Lightning's chatter off: the same output from ``selfsup
pretrain`` and from ``pretrain()`` in a notebook or script.

Imports nothing heavy at module level, so the command line can set logging up before (or
without) importing torch and Lightning.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_HANDLER_NAME = "selfsup-stderr"
# Lightning's loggers: start-up banners, "Tip" adverts, checkpoint notices.
_LIGHTNING = ("lightning.pytorch", "lightning.fabric", "lightning")
# Warnings raised inside Lightning and torch that the user cannot act on.
_NOT_THE_USERS = (
    r".*isinstance\(treespec, LeafSpec\)",
    r".*weights_only.*",
    r".*does not have many workers.*",
    r".*Found \d+ module\(s\) in eval mode.*",
    r".*litlogger.*",
)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record (tests and notebooks
    swap it), not to the stream that was current when logging was configured."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def install_selfsup_handler(verbose: bool = False) -> None:
    """selfsup's messages on stderr at INFO (DEBUG with ``verbose``). Repeated calls change the
    level but never add a second handler, so no line is printed twice."""
    ours = logging.getLogger("selfsup")
    if not any(h.get_name() == _HANDLER_NAME for h in ours.handlers):
        handler = _CurrentStderr()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose else logging.INFO)


def ensure_selfsup_lines() -> None:
    """Show selfsup's lines unless the application configured logging itself."""
    if not logging.getLogger("selfsup").handlers and not logging.getLogger().handlers:
        install_selfsup_handler()


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's INFO chatter and warnings that are not the user's to act on are hidden
    inside the block, unless selfsup logs at DEBUG (``selfsup -v``)."""
    if logging.getLogger("selfsup").getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    loggers = [logging.getLogger(name) for name in _LIGHTNING]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            for pattern in _NOT_THE_USERS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
