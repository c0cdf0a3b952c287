"""Model FLOP utilisation (MFU) of SimCLR training steps on this CPU.

  peak     : the best fp32 GEMM rate over training-like shapes (conv-as-GEMM of a CIFAR ResNet,
             ViT-Tiny linear layers, one square GEMM), at the same thread count;
  achieved : FLOPs of one SimCLR training step (view-making, backbone forward + backward,
             head, NT-Xent; counted by ``torch.utils.flop_counter.FlopCounterMode``) divided by
             its measured time (median over ``--steps`` steps after one warm-up step);
  MFU      : achieved / peak.
ResNets run channels_last (as ``selfsup pretrain`` does); ViT-Tiny uses 4 px patches at 32 px.

    python benchmarks/bench_mfu.py [--batch 64] [--steps 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from selfsup.augment import create_augment
from selfsup.backbones import create_backbone
from selfsup.methods import create_method

# (M, K, N): ResNet-18 CIFAR conv layers as GEMMs at batch 64 x 2 views, ViT-Tiny MLP, square.
GEMM_SHAPES = ((131072, 576, 64), (8192, 2304, 256), (8192, 192, 768), (2048, 2048, 2048))
BACKBONES = {
    "resnet18": {"cifar_stem": True},
    "resnet_tiny": {},
    "vit_tiny": {"img_size": 32, "patch_size": 4},
}


def gemm_peak(reps: int = 5) -> tuple[float, tuple[int, int, int]]:
    """Best fp32 GEMM FLOP/s over ``GEMM_SHAPES`` (median of ``reps`` runs each) and its shape."""
    best = (0.0, GEMM_SHAPES[0])
    for m, k, n in GEMM_SHAPES:
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b  # warm-up
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        rate = 2 * m * k * n / statistics.median(times)
        best = max(best, (rate, (m, k, n)))
    return best


def simclr_step(name: str, batch: int) -> tuple[torch.nn.Module, object]:
    """A SimCLR method on ``name`` and a closure running one training step on uint8 images."""
    backbone = create_backbone(name, **BACKBONES[name])
    method = create_method("simclr", backbone=backbone, augment=create_augment("simclr", size=32))
    if backbone.channels_last:
        method = method.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(method.parameters(), lr=0.01, momentum=0.9)
    batch_dict = {
        "input": torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8),
        "label": torch.zeros(batch, dtype=torch.long),
    }
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        loss = method.training_step(batch_dict, generator=gen)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return method, step


def step_flops_and_seconds(name: str, batch: int, steps: int) -> tuple[int, float]:
    _, step = simclr_step(name, batch)
    counter = FlopCounterMode(display=False)
    with counter:
        step()  # also the warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return counter.get_total_flops(), statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--batch", type=int, default=64, help="images per step (2 views each)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    peak_before, shape = gemm_peak()
    rows = [
        (name, *step_flops_and_seconds(name, args.batch, args.steps)) for name in args.backbones
    ]
    peak = max(peak_before, gemm_peak()[0])  # measured around the steps: drift shows as a gap
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch} (x2 views)")
    print(
        f"fp32 GEMM peak: {peak / 1e9:.1f} GFLOP/s (best shape {shape}; before the steps "
        f"{peak_before / 1e9:.1f})"
    )
    print(f"{'backbone':<13}{'GFLOP/step':>11}{'s/step':>9}{'GFLOP/s':>9}{'MFU':>7}")
    for name, flops, seconds in rows:
        rate = flops / seconds
        print(f"{name:<13}{flops / 1e9:>11.1f}{seconds:>9.2f}{rate / 1e9:>9.1f}{rate / peak:>7.1%}")


if __name__ == "__main__":
    main()
