"""Which audio files of a folder belong to a split, and their labels.

Without a ``label_pattern`` the folder follows the image folders' layout rules
(:mod:`selfsup.data.folder_scan`: class subfolders give labels, a flat folder is unlabelled).
With one, every audio file at any depth is listed and its name gives the label and the split
(:mod:`selfsup.data.audio_labels`); files whose name does not match are skipped and counted.
Without a ``test_split`` rule, "val" is the last ``val_fraction`` of each class, as for images.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from selfsup.data.audio_decode import AUDIO_EXTENSIONS
from selfsup.data.audio_labels import (
    check_label_group,
    compile_label_pattern,
    parse_split_rule,
    sorted_names,
)
from selfsup.data.folder_scan import scan_folder, split_indices
from selfsup.data.skips import SkipLog
from selfsup.registry import ConfigError

NO_MATCH = "name does not match label_pattern"
SPLITS = ("all", "train", "val")


@dataclasses.dataclass(frozen=True)
class AudioListing:
    """The files of one split (sorted by relative path), their labels (-1: none) and the names
    of labels ``0..len(classes)-1``; ``skips``: files left out while listing."""

    root: str
    paths: list[str]
    labels: list[int]
    classes: list[str]
    skips: SkipLog


def list_audio_split(
    root: str | Path,
    split: str = "all",
    label_pattern: str | None = None,
    label: str | None = None,
    test_split: Mapping[str, Any] | None = None,
    val_fraction: float = 0.0,
) -> AudioListing:
    """The files of ``split`` ("all", "train" or "val") under ``root``; every bad key or
    value is a one-line ConfigError, raised before any file is listed."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    pattern = compile_label_pattern(label_pattern) if label_pattern is not None else None
    if label is not None:
        check_label_group(label, pattern)
    rule = parse_split_rule(test_split, pattern) if test_split is not None else None
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise ConfigError(f"audio folder {root} does not exist or is not a folder")
    skips = SkipLog("files")
    if pattern is None:
        try:
            scanned = scan_folder(root, AUDIO_EXTENSIONS, "audio", "audio files")
        except ValueError as e:
            raise ConfigError(str(e)) from None
        paths, labels, classes = scanned.paths, scanned.labels, scanned.classes
        held_out: list[bool] | None = None
    else:
        every = _audio_files(root)
        matched: list[tuple[str, dict[str, str]]] = []
        for path in every:
            found = pattern.fullmatch(Path(path).name.rsplit(".", 1)[0])
            if found is None:
                skips.add(os.path.relpath(path, root), NO_MATCH)
            else:
                matched.append((path, {k: v for k, v in found.groupdict().items() if v}))
        paths = [path for path, _ in matched]
        classes = sorted_names({f[label] for _, f in matched if label in f}) if label else []
        labels = [classes.index(f[label]) if label and label in f else -1 for _, f in matched]
        held_out = [rule.holds_out(f) for _, f in matched] if rule is not None else None
    total = len(paths) + skips.skipped
    if not paths:
        raise ConfigError(_nothing_found(root, total, label_pattern))
    if held_out is not None:
        keep = [i for i, out in enumerate(held_out) if split == "all" or out == (split == "val")]
        if not keep:
            raise ConfigError(f"split '{split}' of {root} is empty under data.test_split")
    else:
        if split == "val" and val_fraction == 0.0:
            raise ConfigError(
                f"split 'val' of {root} is empty: set data.test_split (a file-name rule) or "
                "data.val_fraction > 0"
            )
        keep = split_indices(labels, split, val_fraction)
    return AudioListing(root, [paths[i] for i in keep], [labels[i] for i in keep], classes, skips)


def _audio_files(root: str) -> list[str]:
    """Audio files at any depth below ``root`` (not hidden), sorted by relative path."""
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                path = os.path.join(dirpath, name)
                found.append((os.path.relpath(path, root), path))
    found.sort()
    return [path for _, path in found]


def _nothing_found(root: str, total: int, label_pattern: str | None) -> str:
    exts = " ".join(sorted(AUDIO_EXTENSIONS))
    if total:
        return f"none of the {total:,} audio files under {root} match {label_pattern!r}"
    return f"no audio files ({exts}) found under {root}"
