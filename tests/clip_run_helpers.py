"""The toy paired task CLIP tests train on: digit PNGs <-> their digit words, written as a
pairs manifest, and the overrides of a tiny CLIP run on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from selfsup.data.bundled import load_digits

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digit_pairs(root: Path, n_train: int = 160, n_val: int = 40) -> Path:
    """``pairs.tsv``: digit PNGs with their word, label and split; one row lacks its word."""
    digits = load_digits("all")
    lines = ["image\tcaption\tlabel\tsplit"]
    for i in range(n_train + n_val):
        image = digits.images[i].permute(1, 2, 0).numpy().astype(np.uint8)
        Image.fromarray(image).save(root / f"{i}.png")
        label = int(digits.labels[i])
        split = "train" if i < n_train else "val"
        lines.append(f"{i}.png\t{WORDS[label]}\t{WORDS[label]}\t{split}")
    lines.append("0.png\t\tzero\ttrain")
    (root / "pairs.tsv").write_text("\n".join(lines) + "\n")
    return root / "pairs.tsv"


def clip_overrides(manifest: Path, *extra: str, tokenizer: str = "char") -> list[str]:
    return [
        "data.source=pairs",
        f"data.path={manifest}",
        "data.a={modality: image, column: image, size: 8}",
        f"data.b={{modality: text, column: caption, tokenizer: {tokenizer}, max_len: 8}}",
        "data.batch_size=32",
        "backbone.name=resnet_tiny",
        "augment.name=none",
        "method.name=clip",
        "method.tower_b={name: text_encoder_tiny, dim: 32, depth: 1, heads: 2, max_len: 8}",
        "method.embed_dim=32",
        "optim.name=adamw",
        "optim.base_lr=0.008",
        "optim.warmup_epochs=0",
        "train.max_steps=40",
        "train.progress=false",
        "train.log_every_n_steps=5",
        "train.channels_last=false",
        "eval.knn_every_n_epochs=0",
        "eval.val_loss_every_n_steps=20",
        *extra,
    ]
