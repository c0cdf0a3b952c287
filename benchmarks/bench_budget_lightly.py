"""lightly's SimCLR under the CPU budget run's rules, so its kNN sits beside selfsup's.

lightly's own example loop (its ``SimCLRTransform`` in ``--workers`` DataLoader processes, its
projection head and ``NTXentLoss``, SGD) trains the same encoder for ``--minutes`` of
wall-clock on the CIFAR-10 training split, with no labels. Then kNN (cosine, k 200, T 0.1, and
DINO's k 20, T 0.07) scores the held-out split against the training split, exactly as
``selfsup eval knn`` scores selfsup's run (same split: the last 10% of each class by file name).
lightly gets the images already decoded (no JPEG cost on its clock), which favours it.

    python benchmarks/bench_budget_lightly.py --minutes 30             # beside the cpu30 config
    python benchmarks/bench_budget_lightly.py --minutes 30 --size 16   # at selfsup's resolution

Needs ``pip install -e ".[bench]"`` and ../shared/data/cifar10/train.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import lightly_baselines as lb
import torch
from torch.utils.data import DataLoader

from selfsup.backbones import create_backbone
from selfsup.data.images import load_image_folder
from selfsup.data.tensor_dataset import ImageTensorDataset
from selfsup.eval.knn import knn_accuracy

CIFAR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cifar10" / "train"


def train(args: argparse.Namespace, images: torch.Tensor) -> tuple[torch.nn.Module, dict]:
    """lightly's loop for ``args.minutes`` of wall-clock; the encoder and the run's counts."""
    from lightly.loss import NTXentLoss

    backbone = create_backbone(args.backbone, cifar_stem=True)
    model = lb.LightlySimCLR(backbone, backbone.feature_dim)
    loader = DataLoader(
        lb.PilImages(images, lb.simclr_transform(args.size)),
        batch_size=args.batch,
        shuffle=True,
        num_workers=args.workers,
        drop_last=True,
        persistent_workers=args.workers > 0,
    )
    criterion = NTXentLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    start, steps = time.monotonic(), 0
    deadline = start + 60 * args.minutes  # the clock includes starting the workers
    while time.monotonic() < deadline:
        for (x0, x1), _ in loader:
            loss = criterion(model(x0), model(x1))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            if time.monotonic() >= deadline:
                break
    wall = time.monotonic() - start
    run = {"steps": steps, "epochs": steps * args.batch / len(images), "train_wall_s": wall}
    return backbone, run


@torch.no_grad()
def features(backbone: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Encoder features of uint8 images (decoded at the training size), normalised as lightly's."""
    backbone.eval()
    mean = torch.tensor(lb.CIFAR_NORM["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(lb.CIFAR_NORM["std"]).view(1, 3, 1, 1)
    return torch.cat([backbone((c.float() / 255 - mean) / std) for c in images.split(512)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.06, help="lightly's example SGD lr")
    parser.add_argument("--backbone", default="resnet_tiny")
    parser.add_argument("--data", type=Path, default=CIFAR)
    parser.add_argument("--json", type=Path, default=None, help="write the row here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = {"root": args.data, "size": args.size, "val_fraction": 0.1}
    train_set = load_image_folder(split="train", cache=True, **split)
    val_set = load_image_folder(split="val", cache=True, **split)
    assert isinstance(train_set, ImageTensorDataset) and isinstance(val_set, ImageTensorDataset)
    backbone, row = train(args, train_set.images)
    bank = features(backbone, train_set.images)
    queries = features(backbone, val_set.images)
    for k, t in ((200, 0.1), (20, 0.07)):
        acc = knn_accuracy(bank, train_set.labels, queries, val_set.labels, k=k, temperature=t)
        row[f"knn_top1_k{k}"] = acc
    row.update(vars(args) | {"data": str(args.data), "json": None})
    print(
        "| lightly SimCLR | steps | epochs | kNN top-1 (k 200, T 0.1) | kNN top-1 (k 20, T 0.07) |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| {args.backbone}, {args.size} px, batch {args.batch}, {args.workers} workers, "
        f"{args.minutes:g} min | {row['steps']} | {row['epochs']:.2f} | "
        f"{100 * row['knn_top1_k200']:.1f}% | {100 * row['knn_top1_k20']:.1f}% |"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
