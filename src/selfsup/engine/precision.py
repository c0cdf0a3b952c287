"""Choose a numeric precision the hardware actually runs fast."""

from __future__ import annotations

import torch

from selfsup.config.schema import PRECISIONS as VALID


def resolve_precision(precision: str, accelerator: str) -> str:
    """Map ``auto`` to a concrete Lightning precision; explicit values are returned unchanged.

    ``auto`` picks bf16-mixed on CUDA GPUs that support bf16, fp16-mixed on older GPUs, and
    fp32 elsewhere: on CPUs reduced-precision matmuls are usually slower than fp32 (measured on
    a 2-core Xeon with avx512_bf16: 160 vs 263 GFLOP/s; on CPUs without native bf16 it is
    hundreds of times slower), and MPS autocast gives no reliable win for these models.
    """
    if precision not in VALID:
        raise ValueError(f"unknown precision '{precision}'; choose one of {', '.join(VALID)}")
    if precision != "auto":
        return precision
    on_cuda = accelerator in ("cuda", "gpu") or (
        accelerator == "auto" and torch.cuda.is_available()
    )
    if on_cuda and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"
