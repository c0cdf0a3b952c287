"""How fast ``selfsup`` answers what needs no training: help, listings and config errors.

Each command runs in a fresh interpreter, ``--repeat`` times; the table gives the median and
the fastest wall time. Help and config errors should answer well under a second: command
modules import only argparse-level code, and ``pretrain`` reads its config before torch.

    python benchmarks/bench_cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRESET = str(ROOT / "configs" / "simclr-cifar10-cpu.yaml")
COMMANDS = {
    "selfsup --help": ["--help"],
    "selfsup pretrain --help": ["pretrain", "--help"],
    "selfsup eval --help": ["eval", "--help"],
    "selfsup --version": ["--version"],
    "config error (unknown key)": ["pretrain", PRESET, "train.max_epochz=3"],
    "selfsup methods": ["methods"],
}


def wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "selfsup.cli", *args], capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"| command | median s | fastest s |  (n={repeat})")
    print("|---|---|---|")
    for name, args in COMMANDS.items():
        times = [wall(args) for _ in range(repeat)]
        print(f"| `{name}` | {statistics.median(times):.2f} | {min(times):.2f} |")


if __name__ == "__main__":
    main()
