"""The command line: listings, and config errors as one line with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from selfsup.cli import main

CPU_PRESET = Path(__file__).resolve().parents[2] / "configs" / "simclr-cifar10-cpu.yaml"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "selfsup.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_listings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["methods"]) == 0
    assert "simclr" in capsys.readouterr().out
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "vit_tiny" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["method.name=simclrr"], "unknown method 'simclrr' (did you mean 'simclr'?)"),
        (["backbone.name=resnet81"], "unknown backbone 'resnet81' (did you mean 'resnet18'?)"),
        (["train.max_epoch=3"], "unknown key 'train.max_epoch' (did you mean 'max_epochs'?)"),
        (["train.max_epochs=many"], "'train.max_epochs' expects int"),
        (
            ["method.temprature=0.1"],
            "unknown key 'method.temprature' for method 'simclr' (did you mean 'temperature'?)",
        ),
        (["data.path=/definitely/missing"], "/definitely/missing"),
    ],
)
def test_config_errors_exit_2_with_one_line(
    tmp_path: Path, overrides: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pretrain", str(CPU_PRESET), f"train.output_dir={tmp_path}", *overrides])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert message in lines[0]
    assert not list(tmp_path.iterdir())  # failed before writing or reading anything


def test_console_entry_point_exits_2() -> None:
    proc = run_cli("pretrain", str(CPU_PRESET), "method.name=simclrr")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "selfsup: error: unknown method 'simclrr' (did you mean 'simclr'?)"
    )


def test_version_and_fast_answers_load_no_torch() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip().startswith("selfsup 0.")
    # --help and config errors must not pay for torch and Lightning (timed in
    # benchmarks/bench_cli_startup.py): check the modules they load, not the clock.
    code = (
        "import sys\n"
        "from selfsup.cli import main\n"
        f"main(['pretrain', {str(CPU_PRESET)!r}, 'train.max_epochz=3'])\n"
        "print('torch' in sys.modules, 'lightning' in sys.modules)\n"
    )
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert probe.stdout.strip() == "False False", probe.stdout + probe.stderr
    assert "unknown key 'train.max_epochz'" in probe.stderr


def test_the_index_choices_of_the_parser_are_the_index_kinds() -> None:
    from selfsup.cli.eval.options import INDEX_CHOICES
    from selfsup.eval.neighbour_index import INDEX_KINDS

    assert INDEX_CHOICES == INDEX_KINDS
