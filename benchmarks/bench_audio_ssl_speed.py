"""Training-step speed of wav2vec 2.0 and HuBERT on FSDD with their CPU presets.

Each method is built from ``configs/<method>-fsdd-cpu.yaml`` (wav2vec2_tiny at 8 kHz, batch 32
crops of at most 1 s of FSDD's training split); HuBERT gets random frame labels of the right
shape (a step costs the same whatever the labels). Forward, backward and an AdamW step; the
median of ``--steps`` timed steps after two warm-up steps, with ``--threads`` threads.

    OMP_NUM_THREADS=1 python benchmarks/bench_audio_ssl_speed.py [--steps 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from selfsup.config.load import load_config
from selfsup.engine.build import build_method
from selfsup.methods.base import Batch, Method
from selfsup.modalities import modality_of

ROOT = Path(__file__).resolve().parents[1]
FSDD = ROOT / ".." / "shared" / "data" / "fsdd" / "recordings"
METHODS = ("wav2vec2", "hubert")


def batches(method: Method, data: str, count: int, batch_size: int) -> list[Batch]:
    from selfsup.data.sources import build_dataset

    cfg = load_config(ROOT / "configs" / "wav2vec2-fsdd-cpu.yaml", [f"data.path={data}"])
    args = {k: v for k, v in cfg.data.args.items() if k != "frame_labels"}
    ds = build_dataset("audio", "train", **{**args, "seed": 0})
    collate = modality_of(method.encoder()).collate
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0)).tolist()  # type: ignore[arg-type]
    out = []
    for b in range(count):
        out.append(collate([ds[i] for i in order[b * batch_size : (b + 1) * batch_size]]))
    return out


def with_labels(method: Method, batch: Batch, clusters: int) -> Batch:
    valid = method.backbone.valid_tokens(batch["input"])  # type: ignore[operator]
    labels = torch.randint(0, clusters, valid.shape, generator=torch.Generator().manual_seed(0))
    return {**batch, "frame_labels": labels.masked_fill(~valid, -1)}


def time_method(name: str, data: str, steps: int) -> tuple[float, float, int]:
    """(median seconds per step, seconds of audio per batch, batch size)."""
    torch.manual_seed(0)
    cfg = load_config(ROOT / "configs" / f"{name}-fsdd-cpu.yaml", [f"data.path={data}"])
    method = build_method(cfg).train()
    size = cfg.data.batch_size
    data_batches = batches(method, data, steps + 2, size)
    if name == "hubert":
        data_batches = [
            with_labels(method, b, cfg.method.args["num_clusters"]) for b in data_batches
        ]
    opt = torch.optim.AdamW(method.parameters(), lr=5e-4)
    gen = torch.Generator().manual_seed(0)
    times = []
    for i, batch in enumerate(data_batches):
        start = time.perf_counter()
        loss = method.training_step(batch, gen)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        method.on_step_end(i + 1, steps + 2)
        if i >= 2:
            times.append(time.perf_counter() - start)
    audio = statistics.mean(float(b["length"].sum()) for b in data_batches) / 8000
    return statistics.median(times), audio, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default=str(FSDD))
    args = parser.parse_args()
    if not Path(args.data).is_dir():
        sys.exit(f"FSDD not found at {args.data} (give --data)")
    torch.set_num_threads(args.threads)
    print("| method | s / step | steps / s | clips / s | audio s / s |")
    print("|---|---|---|---|---|")
    for name in METHODS:
        sec, audio, size = time_method(name, args.data, args.steps)
        print(f"| {name} | {sec:.2f} | {1 / sec:.2f} | {size / sec:.1f} | {audio / sec:.1f} |")


if __name__ == "__main__":
    main()
