"""lightly's own pipelines, run the way its examples run them, for side-by-side benchmarks.

lightly (``pip install -e ".[bench]"``) makes views per image with PIL/torchvision transforms
inside DataLoader workers; these helpers time exactly that on the images selfsup gets, so the
benchmark scripts can alternate the two in one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

CIFAR_NORM = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}


def simclr_transform(size: int) -> Callable[[Image.Image], list[torch.Tensor]]:
    """lightly's CIFAR SimCLR views: colour strength 0.5, no blur."""
    from lightly.transforms import SimCLRTransform

    return SimCLRTransform(
        input_size=size, cj_strength=0.5, gaussian_blur=0.0, normalize=CIFAR_NORM
    )


def byol_transform(size: int) -> Callable[[Image.Image], list[torch.Tensor]]:
    """lightly's BYOL views with the paper's asymmetric blur (1.0 / 0.1) and solarize (0 / 0.2)."""
    from lightly.transforms import BYOLTransform
    from lightly.transforms.byol_transform import BYOLView1Transform, BYOLView2Transform

    return BYOLTransform(
        BYOLView1Transform(input_size=size, normalize=CIFAR_NORM),
        BYOLView2Transform(input_size=size, normalize=CIFAR_NORM),
    )


def dino_transform(
    global_size: int, local_size: int, num_local: int
) -> Callable[[Image.Image], list[torch.Tensor]]:
    """lightly's DINO multi-crop with its (the paper's) defaults for scales, blur, solarize."""
    from lightly.transforms import DINOTransform

    return DINOTransform(
        global_crop_size=global_size,
        local_crop_size=local_size,
        n_local_views=num_local,
        normalize=CIFAR_NORM,
    )


class PilImages(Dataset[list[torch.Tensor]]):
    """A uint8 batch as already-decoded PIL images (no decoding cost for lightly), transformed
    per item."""

    def __init__(self, images: torch.Tensor, transform: Callable[[Image.Image], Any]) -> None:
        self.pils = [Image.fromarray(img.permute(1, 2, 0).numpy()) for img in images]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.pils)

    def __getitem__(self, i: int) -> Any:
        return self.transform(self.pils[i]), 0  # (views, label), as lightly's datasets give


class LoaderTimer:
    """Times full passes of a persistent-worker DataLoader (workers start once, off the clock)."""

    def __init__(self, dataset: Dataset[Any], batch: int, workers: int = 2) -> None:
        self.loader = DataLoader(
            dataset,
            batch_size=batch,
            shuffle=True,
            num_workers=workers,
            persistent_workers=workers > 0,
            drop_last=True,
        )
        self.images = len(self.loader) * batch
        self.seconds_per_pass()  # warm-up: spawn the workers

    def seconds_per_pass(self) -> float:
        start = time.perf_counter()
        for _ in self.loader:
            pass
        return time.perf_counter() - start


class LightlySimCLR(nn.Module):
    """lightly's SimCLR example model: backbone, then its ``SimCLRProjectionHead``."""

    def __init__(self, backbone: nn.Module, feature_dim: int) -> None:
        super().__init__()
        from lightly.models.modules import SimCLRProjectionHead

        self.backbone = backbone
        self.projection_head = SimCLRProjectionHead(feature_dim, feature_dim, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection_head(self.backbone(x).flatten(start_dim=1))


def cifar_folder_loader(root: Path, batch: int, workers: int = 2) -> DataLoader[Any]:
    """lightly's CIFAR example data path: a JPEG folder decoded per item, SimCLR views in
    ``workers`` processes."""
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(str(root), transform=simclr_transform(32))
    return DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        persistent_workers=workers > 0,
    )


def lightly_simclr_steps(
    model: nn.Module, loader_iter: Iterator[Any], steps: int, lr: float = 0.06
) -> list[float]:
    """lightly's SimCLR training loop (NTXentLoss, SGD); returns the time at each step's end."""
    from lightly.loss import NTXentLoss

    criterion = NTXentLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    ends = [time.perf_counter()]
    for _ in range(steps):
        (x0, x1), *_ = next(loader_iter)
        loss = criterion(model(x0), model(x1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        ends.append(time.perf_counter())
    return ends
