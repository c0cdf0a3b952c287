"""``data.source: pairs``: a manifest of paired items of two modalities (image + caption,
speech + transcript, image + sound), for two-tower methods such as CLIP.

The manifest (``.tsv`` with a header, or ``.jsonl``) names each side's item in a column;
``data.a`` and ``data.b`` say which column and how to read it (:mod:`selfsup.data.pairs_sides`).
Files are decoded once per process; rows missing a side, and rows whose file does not decode,
are skipped and counted on one summary line. A ``split`` column (``train`` / ``val``) places
rows (several voices of one sentence stay on one side); without it "val" is the last
``val_fraction`` of the rows. A ``label`` column (integers or class names) gives each pair a
class for zero-shot evaluation. Text sides share one tokenizer trained on the training rows.

An item is ``{"a": item, "b": item, "label": int}``, each side an item of its modality; the
dataset's ``sides`` names the two modalities so a pair collate can batch each side with its
own modality's collate (``selfsup.modalities.pairs``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from selfsup.data.pairs_manifest import read_manifest, resolve_path
from selfsup.data.pairs_sides import (
    SideSpec,
    audio_clips,
    decode_clips,
    decode_images,
    parse_side,
)
from selfsup.data.skips import SkipLog
from selfsup.data.sources import Split, register_data_source
from selfsup.data.text_datasets import sentence_row
from selfsup.data.tokenizers import TextTokenizer, train_tokenizer
from selfsup.registry import ConfigError

UNPAIRED = "unpaired"
VAL_NAMES = ("val", "valid", "validation", "test")
TOKENIZER_KINDS = ("char", "bpe", "wordpiece")


class PairDataset(Dataset[dict[str, Any]]):
    """Decoded pairs: ``sides[0]`` items in ``a``, ``sides[1]`` items in ``b``; ``pair_labels``
    (-1: none) name ``classes``; ``texts`` keeps each text side's strings (for reports)."""

    def __init__(
        self,
        sides: tuple[str, str],
        a: Any,
        b: Any,
        pair_labels: torch.Tensor,
        classes: list[str],
        tokenizer: TextTokenizer | None,
        texts: Mapping[str, list[str]],
    ) -> None:
        self.sides, self.a, self.b = sides, a, b
        # Not ``labels``: the engine's online kNN would feed pairs to a one-modality encoder.
        self.pair_labels, self.classes = pair_labels, classes
        self.tokenizer, self.texts = tokenizer, dict(texts)

    def __len__(self) -> int:
        return len(self.pair_labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        label = int(self.pair_labels[i])
        a, b = _input(self.a, i), _input(self.b, i)
        return {
            "a": {"input": a, "label": label},
            "b": {"input": b, "label": label},
            "label": label,
        }

    def set_epoch(self, epoch: int) -> None:
        """Audio sides crop by epoch (see :class:`~selfsup.data.audio.AudioClips`)."""
        for side in (self.a, self.b):
            if _clips(side):
                side.set_epoch(epoch)


def _clips(side: Any) -> bool:
    return hasattr(side, "set_epoch")


def _input(side: Any, i: int) -> torch.Tensor:
    return side[i]["input"] if _clips(side) else side[i]


def pair_sides(data_args: Mapping[str, Any]) -> tuple[str, str]:
    """The two modalities a ``pairs`` source's ``data.a`` / ``data.b`` name (checked)."""
    return parse_side("a", data_args.get("a", {})).modality, parse_side(
        "b", data_args.get("b", {})
    ).modality


@register_data_source("pairs", modality="pairs")
def pairs(
    path: str,
    a: dict[str, Any],
    b: dict[str, Any],
    split: Split = "all",
    label_column: str = "label",
    split_column: str = "split",
    val_fraction: float = 0.0,
    seed: int | None = None,
) -> Dataset[Any]:
    """A ``.tsv`` / ``.jsonl`` manifest of pairs; ``a`` and ``b`` configure the two sides,
    e.g. ``{modality: image, column: image, size: 32}`` and ``{modality: text, column:
    caption, max_len: 32}``. Paths are relative to the manifest. Audio items of "train" and
    "all" are cropped to the side's ``max_seconds`` at an offset fixed by ``seed``."""
    return load_pairs(path, a, b, split, label_column, split_column, val_fraction, seed)


def load_pairs(
    path: str,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    split: str = "all",
    label_column: str = "label",
    split_column: str = "split",
    val_fraction: float = 0.0,
    seed: int | None = None,
    tokenizer: TextTokenizer | None = None,
) -> PairDataset:
    """:func:`pairs`, optionally with a given ``tokenizer`` for the text sides (a trained
    text tower's, for evaluation) instead of the one the source trains."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    specs = (parse_side("a", a), parse_side("b", b))
    key = json.dumps(
        [path, dict(a), dict(b), label_column, split_column, val_fraction], sort_keys=True
    )
    decoded = _decode_manifest(key)
    rows = decoded.split_rows(split)
    if not rows:
        raise ConfigError(f"the '{split}' split of {path} has no usable pairs")
    tokenizer = tokenizer or decoded.tokenizer
    crop = split != "val"
    built = [
        _side(decoded.values[s], rows, spec, tokenizer, crop, seed or 0)
        for s, spec in enumerate(specs)
    ]
    texts = {
        name: [decoded.values[s][i] for i in rows]
        for s, name in enumerate("ab")
        if specs[s].modality == "text"
    }
    labels = torch.tensor([decoded.labels[i] for i in rows], dtype=torch.int64)
    sides = (specs[0].modality, specs[1].modality)
    return PairDataset(sides, built[0], built[1], labels, decoded.classes, tokenizer, texts)


class _Decoded:
    """Every usable row of a manifest, both sides decoded (shared by the train and val split)."""

    def __init__(self, key: str) -> None:
        path, a, b, label_column, split_column, val_fraction = json.loads(key)
        specs = (parse_side("a", a), parse_side("b", b))
        skips = SkipLog("rows")
        rows = read_manifest(path, skips)
        total = len(rows) + skips.skipped
        names = [f"row {n + 1}" for n in range(len(rows))]  # data rows, header not counted
        paired = []
        for n, row in enumerate(rows):
            if all(row.get(spec.column, "").strip() for spec in specs):
                paired.append(n)
            else:
                skips.add(names[n], UNPAIRED)
        values: list[list[Any]] = []
        for spec in specs:
            raw = [rows[n][spec.column] for n in paired]
            where = [names[n] for n in paired]
            values.append(_decode_side(path, raw, spec, where, skips))
        keep = [i for i in range(len(paired)) if all(v[i] is not None for v in values)]
        skips.report(total)
        if not keep:
            raise ConfigError(f"none of the {total:,} rows of {path} gives a usable pair")
        self.values = [[v[i] for i in keep] for v in values]
        kept_rows = [rows[paired[i]] for i in keep]
        self.labels, self.classes = _labels([r.get(label_column) for r in kept_rows])
        self.is_val = _val_rows([r.get(split_column) for r in kept_rows], val_fraction)
        text_sides = [s for s, spec in enumerate(specs) if spec.modality == "text"]
        self.tokenizer: TextTokenizer | None = None
        if text_sides:
            train_texts = [self.values[s][i] for s in text_sides for i in self.split_rows("train")]
            self.tokenizer = text_tokenizer(specs[text_sides[0]], train_texts)

    def split_rows(self, split: str) -> list[int]:
        if split == "all":
            return list(range(len(self.labels)))
        wanted = split == "val"
        return [i for i, v in enumerate(self.is_val) if v == wanted]


def text_tokenizer(spec: SideSpec, train_texts: list[str]) -> TextTokenizer:
    """The side's ``tokenizer``: a kind trained on ``train_texts`` (char, bpe, wordpiece), or
    a saved tokenizer JSON (an export's ``tokenizer.json``: a pretrained text tower's)."""
    if spec.tokenizer.endswith(".json"):
        try:
            return TextTokenizer.from_json(Path(spec.tokenizer).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot read tokenizer {spec.tokenizer}: {e}") from None
    if spec.tokenizer not in TOKENIZER_KINDS:
        raise ConfigError(
            f"a text side's tokenizer is one of {', '.join(TOKENIZER_KINDS)} or a tokenizer "
            f".json, got '{spec.tokenizer}'"
        )
    return train_tokenizer(train_texts, spec.tokenizer, spec.vocab_size)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4)
def _decode_manifest(key: str) -> _Decoded:
    return _Decoded(key)


def _decode_side(
    manifest: str, raw: list[str], spec: SideSpec, where: list[str], skips: SkipLog
) -> list[Any]:
    if spec.modality == "text":
        return [text.strip() for text in raw]
    paths = [resolve_path(manifest, value) for value in raw]
    if spec.modality == "image":
        return decode_images(paths, spec, where, skips)
    return decode_clips(paths, spec, where, skips)


def _side(
    values: list[Any],
    rows: list[int],
    spec: SideSpec,
    tokenizer: TextTokenizer | None,
    crop: bool,
    seed: int,
) -> Any:
    """One split's side as something indexable: stacked images, AudioClips or id rows."""
    chosen = [values[i] for i in rows]
    if spec.modality == "audio":
        return audio_clips(chosen, spec, crop, seed)
    if spec.modality == "text":
        assert tokenizer is not None
        ids = tokenizer.encode_batch(chosen)
        return torch.stack([sentence_row(tokenizer, row, spec.max_len) for row in ids])
    if spec.size is not None:
        return torch.stack(chosen)
    return chosen


def _labels(values: list[str | None]) -> tuple[list[int], list[str]]:
    """Integer labels (as written, else by sorted class name) and the class names."""
    present = [v.strip() for v in values if v is not None and v.strip()]
    if not present:
        return [-1] * len(values), []
    if all(v.lstrip("-").isdigit() for v in present):
        labels = [int(v) if v is not None and v.strip() else -1 for v in values]
        return labels, [str(c) for c in range(max(labels) + 1)]
    classes = sorted(set(present))
    lookup = {c: i for i, c in enumerate(classes)}
    return [lookup.get((v or "").strip(), -1) for v in values], classes


def _val_rows(values: list[str | None], val_fraction: float) -> list[bool]:
    """Which rows are held out: by the split column where rows have one, else the tail."""
    if any(v is not None and v.strip() for v in values):
        return [(v or "").strip().lower() in VAL_NAMES for v in values]
    cut = len(values) - round(len(values) * val_fraction)
    return [i >= cut for i in range(len(values))]
