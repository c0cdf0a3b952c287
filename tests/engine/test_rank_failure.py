"""One of two gloo ranks under torchrun raises, or is killed with SIGKILL, at step 3 of a real
pretraining run: every rank exits non-zero soon after, the failing rank's error is in the
output, and nothing hangs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from run_helpers import tiny_digits_simclr
from selfsup.config.load import load_config, save_config

FAULT_STEP = 3
# From the fault to torchrun's return; measured ~5-10 s on 2 loaded cores. A hang would wait
# for train.dist_timeout_minutes (30 min by default).
TEARDOWN_BOUND_S = 60.0
WHOLE_RUN_TIMEOUT_S = 300.0

FAULTY_RANK = textwrap.dedent(
    f"""
    import os, signal, sys, time
    import lightning as L
    from selfsup.config.load import load_config
    from selfsup.engine.run import pretrain

    class Fault(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.global_rank == 1 and trainer.global_step == {FAULT_STEP}:
                with open(sys.argv[3] + ".at", "w") as f:
                    f.write(repr(time.time()))
                if sys.argv[3].endswith("raise"):
                    raise RuntimeError("injected fault: rank 1 raised at step {FAULT_STEP}")
                os.kill(os.getpid(), signal.SIGKILL)

    pretrain(load_config(sys.argv[1]), run_dir=sys.argv[2], extra_callbacks=[Fault()])
    """
)

# torchrun's closing summary: one block per failed rank.
RANK_EXIT = re.compile(r"rank\s*:\s*(\d+) \(local_rank: \d+\)\s*\n\s*exitcode\s*:\s*(-?\d+)")


def run_with_a_faulty_rank(
    tmp_path: Path, fault: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """torchrun 2 gloo ranks of a tiny digits run whose rank 1 meets ``fault``; the completed
    torchrun and the seconds from the fault to its return."""
    cfg = load_config(
        None,
        [*tiny_digits_simclr(), "optim.name=adamw", "data.batch_size=32", "train.max_steps=10",
         "train.devices=2", "train.strategy=ddp", "train.accelerator=cpu"],
    )  # fmt: skip
    save_config(cfg, tmp_path / "config.yaml")
    script = tmp_path / "faulty_rank.py"
    script.write_text(FAULTY_RANK)
    marker = tmp_path / fault
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--standalone", str(script), str(tmp_path / "config.yaml"),
               str(tmp_path / "run"), str(marker)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # so a hang can be ended with every rank
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=WHOLE_RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"torchrun with a {fault} rank still ran after {WHOLE_RUN_TIMEOUT_S:.0f} s")
    ended = time.time()
    fault_file = Path(f"{marker}.at")
    assert fault_file.exists(), f"rank 1 never reached step {FAULT_STEP}:\n{stderr[-3000:]}"
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return result, ended - float(fault_file.read_text())


def rank_exit_codes(output: str) -> dict[int, int]:
    """Each failed rank's exit code, from torchrun's summary."""
    return {int(rank): int(code) for rank, code in RANK_EXIT.findall(output)}


def root_cause(output: str) -> str:
    return output.split("Root Cause", 1)[-1]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["raise", "sigkill"])
def test_a_failing_rank_ends_every_rank_with_its_error_shown(tmp_path: Path, fault: str) -> None:
    from distributed_helpers import require_gloo

    require_gloo()
    proc, teardown_s = run_with_a_faulty_rank(tmp_path, fault)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert teardown_s < TEARDOWN_BOUND_S, output[-3000:]
    codes = rank_exit_codes(output)
    assert sorted(codes) == [0, 1], output[-3000:]
    assert all(code != 0 for code in codes.values()), codes
    assert re.search(r"rank\s*:\s*1 \(local_rank", root_cause(output)), output[-3000:]
    if fault == "raise":
        assert f"RuntimeError: injected fault: rank 1 raised at step {FAULT_STEP}" in output
    else:
        assert codes[1] == -signal.SIGKILL
        assert "SIGKILL" in root_cause(output)
