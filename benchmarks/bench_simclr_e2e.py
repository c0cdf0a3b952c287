"""End-to-end SimCLR training throughput: selfsup vs lightly, next to the backbone-only step.

Four measurements in one process, alternating rounds so a shared machine's drift hits all:
  backbone   : forward + backward + SGD of the backbone alone on 2 x batch ready-made views
               (channels_last)
  method     : SimCLR's full step (views made on the fly from uint8, head, NT-Xent, LARS)
  engine     : ``selfsup pretrain`` itself (Lightning, data loader, callbacks, logging)
  lightly    : lightly's own SimCLR example loop (its projection head, NTXentLoss, SGD, and
               SimCLRTransform in a DataLoader with ``--workers`` processes reading the same
               JPEG folder), around the same encoder
Every row excludes its first step(s) (start-up, warm-up). Throughput is in images/s, where one
image = its two views. Needs ../shared/data/cifar10/train for the engine and lightly rows
(digits / random images otherwise). lightly: ``pip install -e ".[bench]"``.

    python benchmarks/bench_simclr_e2e.py                     # ResNet-18 CIFAR stem, batch 256
    python benchmarks/bench_simclr_e2e.py --backbone resnet_tiny
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import lightly_baselines as lb
import lightning as L
import torch

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.config.load import load_config
from selfsup.engine.optim import build_optimizer
from selfsup.engine.run import pretrain
from selfsup.methods import create_method

CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10" / "train"


def backbone_rate(name: str, batch: int, steps: int) -> float:
    model = create_backbone(name, cifar_stem=True).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    views = torch.randn(2 * batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    model(views[:8]).sum().backward()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        model(views).pow(2).mean().backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def method_rate(name: str, batch: int, steps: int) -> float:
    backbone = create_backbone(name, cifar_stem=True)
    method = create_method("simclr", backbone=backbone, augment=create_augment("simclr", size=32))
    method = method.to(memory_format=torch.channels_last)
    cfg = load_config(None, ["backbone.name=x", "augment.name=x", "method.name=x"]).optim
    opt = build_optimizer(method, cfg, lr=0.3)
    images = torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    batch_dict = {"input": images, "label": torch.zeros(batch, dtype=torch.long)}
    for i in range(steps + 1):
        if i == 1:  # the first step warms up
            start = time.perf_counter()
        loss = method.training_step(batch_dict, generator=gen)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


class StepTimes(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self.times.append(time.perf_counter())


def engine_rate(name: str, batch: int, steps: int, out: Path) -> float:
    source = (
        ["data.source=folder", f"data.path={CIFAR}", "data.size=32"]
        if CIFAR.is_dir()
        else ["data.source=digits"]
    )
    cfg = load_config(
        None,
        [
            *source,
            f"data.batch_size={batch}",
            f"backbone.name={name}",
            "backbone.cifar_stem=true",
            "augment.name=simclr",
            "method.name=simclr",
            f"train.max_steps={steps + 3}",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
            "train.checkpoint_every_n_steps=100000",
        ],
    )
    timer = StepTimes()
    pretrain(cfg, run_dir=out / f"engine-{time.time_ns()}", extra_callbacks=[timer])
    t = timer.times[2:]  # the first steps include start-up
    return (len(t) - 1) * batch / (t[-1] - t[0])


class LightlyRun:
    """lightly's example loop; the DataLoader (and its workers) persists across rounds."""

    def __init__(self, name: str, batch: int, workers: int) -> None:
        self.batch = batch
        if CIFAR.is_dir():
            loader = lb.cifar_folder_loader(CIFAR, batch, workers)
        else:
            images = torch.randint(0, 256, (4 * batch, 3, 32, 32), dtype=torch.uint8)
            dataset = lb.PilImages(images, lb.simclr_transform(32))
            loader = lb.LoaderTimer(dataset, batch, workers).loader
        self.loader = loader
        self.batches = iter(loader)
        encoder = create_backbone(name, cifar_stem=True)
        self.model = lb.LightlySimCLR(encoder, encoder.feature_dim)

    def rate(self, steps: int) -> float:
        ends = lb.lightly_simclr_steps(self.model, self._endless(), steps + 1)
        return steps * self.batch / (ends[-1] - ends[1])  # the first step warms up

    def _endless(self) -> Any:
        while True:
            try:
                yield next(self.batches)
            except StopIteration:
                self.batches = iter(self.loader)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("/tmp/selfsup-bench"))
    p.add_argument("--workers", type=int, default=2, help="lightly's DataLoader workers")
    p.add_argument("--no-lightly", action="store_true")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rates: dict[str, list[float]] = {"backbone only": [], "SimCLR method step": [], "engine": []}
    lightly = None if args.no_lightly else LightlyRun(args.backbone, args.batch, args.workers)
    if lightly is not None:
        rates["lightly loop"] = []
    for _ in range(args.rounds):
        if lightly is not None:
            rates["lightly loop"].append(lightly.rate(args.steps))
        rates["backbone only"].append(backbone_rate(args.backbone, args.batch, args.steps))
        rates["SimCLR method step"].append(method_rate(args.backbone, args.batch, args.steps))
        rates["engine"].append(engine_rate(args.backbone, args.batch, args.steps, args.out))
    base = statistics.median(rates["backbone only"])
    print(
        f"\n{args.backbone} (CIFAR stem), batch {args.batch} images = {2 * args.batch} views, "
        f"32 px, {torch.get_num_threads()} threads, median of {args.rounds} rounds"
    )
    print(f"{'what':<22}{'images/s':>10}{'vs backbone':>13}{'vs lightly':>12}")
    ref = statistics.median(rates["lightly loop"]) if lightly is not None else float("nan")
    for what, values in rates.items():
        med = statistics.median(values)
        print(f"{what:<22}{med:>10.1f}{med / base:>12.0%}{med / ref:>11.2f}x")
        print(f"{'':<22}rounds: {', '.join(f'{v:.1f}' for v in values)}")


if __name__ == "__main__":
    main()
