"""MemoryQueue: FIFO contents against a plain list of every key pushed, wrap-around, state."""

from __future__ import annotations

import pytest
import torch

from selfsup.nn.queue import MemoryQueue


def _as_set(rows: torch.Tensor) -> set[tuple[float, ...]]:
    return {tuple(r.tolist()) for r in rows}


@pytest.mark.parametrize("sizes", [[3, 4, 5, 2, 6], [7], [12], [1, 1, 1, 1, 1, 1, 1, 1, 1]])
def test_holds_exactly_the_newest_keys(sizes: list[int]) -> None:
    queue = MemoryQueue(size=7, dim=2)
    pushed: list[torch.Tensor] = []
    counter = 0
    for n in sizes:
        keys = torch.arange(counter, counter + n, dtype=torch.float32)[:, None].repeat(1, 2)
        counter += n
        queue.push(keys)
        pushed.extend(keys)
        expected = torch.stack(pushed[-7:])
        got = queue.features()
        assert got.shape == expected.shape
        assert _as_set(got) == _as_set(expected)
        assert len(queue) == min(len(pushed), 7)


def test_wrap_around_across_the_boundary_overwrites_oldest_rows() -> None:
    queue = MemoryQueue(size=5, dim=1)
    queue.push(torch.tensor([[0.0], [1.0], [2.0], [3.0]]))
    assert queue.features().flatten().tolist() == [0.0, 1.0, 2.0, 3.0]  # only the filled part
    queue.push(torch.tensor([[4.0], [5.0], [6.0]]))  # rows 4, 0, 1
    assert queue.keys.flatten().tolist() == [5.0, 6.0, 2.0, 3.0, 4.0]
    assert int(queue.ptr) == 2


def test_state_rides_in_state_dict_and_checks_shape() -> None:
    queue = MemoryQueue(size=4, dim=3)
    queue.push(torch.randn(3, 3))
    restored = MemoryQueue(size=4, dim=3)
    restored.load_state_dict(queue.state_dict())
    torch.testing.assert_close(restored.features(), queue.features())
    assert int(restored.ptr) == 3
    with pytest.raises(ValueError, match=r"shape \[N, 3\]"):
        queue.push(torch.randn(2, 4))
    with pytest.raises(ValueError, match="size >= 1"):
        MemoryQueue(0, 3)


def test_push_records_no_gradient() -> None:
    queue = MemoryQueue(size=4, dim=2)
    keys = torch.randn(2, 2, requires_grad=True)
    queue.push(keys * 2)
    assert not queue.features().requires_grad
    torch.testing.assert_close(queue.features(), (keys * 2).detach())
