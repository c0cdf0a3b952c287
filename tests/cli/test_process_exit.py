"""The command ends its process without interpreter teardown, and loses nothing by it."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_fast_exit_finishes_threads_exit_handlers_and_buffered_output(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import atexit, logging, sys, threading, time
        from pathlib import Path
        from selfsup.cli import _end_process

        out = Path({str(tmp_path)!r})
        def late_write():
            time.sleep(0.5)
            (out / "thread.txt").write_text("done")
        threading.Thread(target=late_write).start()
        atexit.register(lambda: (out / "atexit.txt").write_text("done"))
        handler = logging.FileHandler(out / "log.txt")
        logging.getLogger("x").addHandler(handler)
        logging.getLogger("x").warning("logged")
        sys.stdout.write("no newline, still buffered")
        _end_process(3)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "no newline, still buffered"
    assert (tmp_path / "thread.txt").read_text() == "done"
    assert (tmp_path / "atexit.txt").read_text() == "done"
    assert (tmp_path / "log.txt").read_text() == "logged\n"


@pytest.mark.slow
def test_a_pretrain_command_leaves_complete_records(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "selfsup.cli", "pretrain", "configs/quickstart-digits.yaml"]
    overrides = [
        "train.max_steps=6",
        "train.log_every_n_steps=1",
        "eval.knn_every_n_epochs=0",
        f"train.output_dir={tmp_path}",
        "train.run_name=exit",
    ]
    done = subprocess.run([*cmd, *overrides], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    run = tmp_path / "exit"
    with (run / "csv" / "part-0" / "metrics.csv").open() as f:
        steps = {row["step"] for row in csv.DictReader(f) if row.get("loss")}
    assert len(steps) == 6, steps
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100
    assert "last checkpoint:" in done.stdout + done.stderr
    assert list((run / "checkpoints").glob("step-00000006.ckpt"))
