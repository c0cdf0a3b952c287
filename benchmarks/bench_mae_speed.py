"""MAE training-step time vs the same ViT encoding every token (forward + backward).

Two references: the encoder alone over all tokens (no decoder, a scalar loss), and the paper's
"encoder w/ [M]" ablation: the same MAE (same decoder and loss) whose encoder runs over all
patches with mask tokens in place of the removed ones. The speed-up column is each row's time
over the MAE step's.

Prints a table of median seconds per step and images/s. The contenders alternate step by step
so machine noise hits both alike; compare the ratio, not the absolute numbers.

    python benchmarks/bench_mae_speed.py --backbone vit_tiny --batch 128 --rounds 6
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from selfsup.augment import (
    create_augment,
    minimal,  # noqa: F401  (registers "crop_flip")
)
from selfsup.backbones import create_backbone
from selfsup.methods.masked.mae import MAE


def mae_step(method: MAE, images: torch.Tensor, gen: torch.Generator) -> Callable[[], None]:
    """One MAE step on pre-made views: mask -> encode visible -> decode -> loss -> backward."""

    def step() -> None:
        keep_idx, mask, restore_idx = method.mask(images.shape[0], gen)
        pred = method.decode(method.encode(images, keep_idx), restore_idx)
        method.zero_grad(set_to_none=True)
        method.loss(images, pred, mask).backward()

    return step


def full_step(method: MAE, images: torch.Tensor) -> Callable[[], None]:
    """The same encoder over all tokens (no decoder): forward + backward of a scalar."""

    def step() -> None:
        method.zero_grad(set_to_none=True)
        method.vit.forward_tokens(images).pow(2).mean().backward()

    return step


def mask_token_step(method: MAE, images: torch.Tensor, gen: torch.Generator) -> Callable[[], None]:
    """MAE with mask tokens in the encoder (the paper's "encoder w/ [M]" ablation): the encoder
    runs over all patches, masked ones replaced by its mask token; same decoder and loss."""
    n = method.vit.num_patches

    def step() -> None:
        _, mask, _ = method.mask(images.shape[0], gen)
        latent = method.vit.forward_tokens(images, mask)  # [B, P + N, D], grid order
        identity = torch.arange(n).expand(images.shape[0], n)
        pred = method.decode(latent, identity)
        method.zero_grad(set_to_none=True)
        method.loss(images, pred, mask).backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="vit_tiny")
    parser.add_argument("--depth", type=int, default=None, help="encoder blocks (default 12)")
    parser.add_argument("--img", type=int, default=32)
    parser.add_argument("--patch", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--mask-ratio", type=float, default=0.75)
    parser.add_argument("--decoder-dim", type=int, default=128)
    parser.add_argument("--decoder-depth", type=int, default=2)
    parser.add_argument("--decoder-heads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6, help="timed steps per contender")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    backbone = create_backbone(
        args.backbone, img_size=args.img, patch_size=args.patch, depth=args.depth
    )
    method = MAE(
        backbone,
        create_augment("crop_flip", size=args.img),
        mask_ratio=args.mask_ratio,
        decoder_dim=args.decoder_dim,
        decoder_depth=args.decoder_depth,
        decoder_heads=args.decoder_heads,
    ).train()
    images = torch.randn(args.batch, 3, args.img, args.img)
    contenders = {
        f"MAE step, mask {args.mask_ratio}": mae_step(method, images, torch.Generator()),
        "same ViT, all tokens": full_step(method, images),
        "all tokens + decoder": mask_token_step(method, images, torch.Generator()),
    }
    for fn in contenders.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    n = backbone.num_patches
    print(
        f"{args.backbone} depth {len(backbone.model.blocks)}, {args.img} px / patch {args.patch}"
        f" ({n} patches), batch {args.batch}, decoder {args.decoder_dim}x{args.decoder_depth},"
        f" threads {torch.get_num_threads()}"
    )
    print(f"{'contender':<26} {'s/step':>8} {'img/s':>8} {'MAE speed-up':>13}")
    mae = statistics.median(times[next(iter(times))])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<26} {med:>8.3f} {args.batch / med:>8.1f} {med / mae:>12.2f}x")


if __name__ == "__main__":
    main()
