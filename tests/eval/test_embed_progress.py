"""Progress of an embedding pass: plain lines at most every N seconds off a terminal, with the
rate and time left; a bar on a terminal."""

from __future__ import annotations

import io

from run_helpers import FakeTime
from selfsup.eval.embed_progress import ItemProgress, format_seconds


def test_plain_lines_come_every_n_seconds_with_rate_and_eta() -> None:
    clock, stream = FakeTime(), io.StringIO()
    with ItemProgress(1000, every=10.0, stream=stream, tty=False, clock=clock) as progress:
        clock.now += 4
        progress.advance(200)  # 4 s since the start: too soon for a line
        clock.now += 6
        progress.advance(300)  # 10 s: 500 items at 50 items/s, 500 left
        clock.now += 5
        progress.advance(100)
    assert stream.getvalue().splitlines() == [
        "embedded 500 of 1,000 items (50%), 50 items/s, ETA 0:00:10"
    ]
    assert progress.done == 600 and progress.rate() == 40.0


def test_a_terminal_gets_a_bar_that_leaves_no_lines_behind() -> None:
    clock, stream = FakeTime(), io.StringIO()
    with ItemProgress(10, every=0.0, stream=stream, tty=True, clock=clock) as progress:
        clock.now += 1
        progress.advance(10)
    assert "embedded 10 of 10" not in stream.getvalue()  # the bar, not plain lines
    assert progress.eta() == 0.0


def test_eta_is_unknown_before_any_item_and_seconds_read_as_a_clock() -> None:
    progress = ItemProgress(5, tty=False, stream=io.StringIO(), clock=FakeTime())
    assert progress.eta() is None and "ETA ?" in progress.line()
    assert format_seconds(3725.4) == "1:02:05"
