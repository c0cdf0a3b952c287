"""Backbone tests run single-threaded: their tensors are tiny, and on a busy small machine
intra-op threads spend far more time waiting on each other than computing (measured 5x)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
