"""Find the image (or audio) files of a folder, their labels, and the train/val split.

Layout rules:

* ``root/<class>/**/<image>``: each non-hidden subfolder holding images is a class; images at
  any depth below it belong to it. ``classes`` are the sorted folder names, labels their index.
* ``root/<image>`` with no class subfolders: unlabelled (label -1).
* Both loose images and class subfolders at the top: an error, since either reading would be
  a guess.

Only files with an image extension are considered (a README.txt or .DS_Store is ignored), and
hidden files and folders (names starting with ".") are ignored, which also drops macOS "._x.jpg"
resource forks that carry an image extension but are not images.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Set
from pathlib import Path

from selfsup.data.decode import IMAGE_EXTENSIONS

SPLITS = ("all", "train", "val")


@dataclasses.dataclass(frozen=True)
class FolderListing:
    """Image files (sorted by class, then by relative path) and their labels.

    Paths are strings: building 50,000 ``Path`` objects costs a second on Python 3.11.
    """

    paths: list[str]
    labels: list[int]
    classes: list[str]


def scan_image_folder(root: str | Path) -> FolderListing:
    """List the images under ``root`` following the module's layout rules."""
    return scan_folder(root, IMAGE_EXTENSIONS, "image", "images")


def scan_folder(root: str | Path, extensions: Set[str], kind: str, noun: str) -> FolderListing:
    """List the files under ``root`` whose extension is in ``extensions`` (lower case, with
    the dot) following the module's layout rules; ``kind`` ("audio") and ``noun`` ("audio
    files") name them in errors."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{kind} folder {root} does not exist or is not a folder")
    loose: list[str] = []
    class_dirs: list[str] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                class_dirs.append(entry.path)
            elif _has_extension(entry.name, extensions):
                loose.append(entry.path)
    per_class = {os.path.basename(d): _files_under(d, extensions) for d in sorted(class_dirs)}
    per_class = {name: files for name, files in per_class.items() if files}
    if loose and per_class:
        raise ValueError(
            f"{root} holds both loose {noun} and class subfolders ({', '.join(per_class)}); "
            "put them all in class folders, or the loose ones in a folder of their own"
        )
    if per_class:
        classes = list(per_class)
        paths = [p for name in classes for p in per_class[name]]
        labels = [i for i, name in enumerate(classes) for _ in per_class[name]]
        return FolderListing(paths, labels, classes)
    if loose:
        loose.sort()
        return FolderListing(loose, [-1] * len(loose), [])
    exts = " ".join(sorted(extensions))
    raise ValueError(f"no {kind} files ({exts}) found under {root}")


def split_indices(labels: list[int], split: str, val_fraction: float) -> list[int]:
    """Indices of ``split``: within each label, the last ``val_fraction`` of files are "val".

    Deterministic and stratified, with no RNG: the same folder always splits the same way, and
    files added later with higher names land in "val" without moving existing ones.
    ``labels`` must be grouped by label, in file order (as :func:`scan_image_folder` returns).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if split == "val" and val_fraction == 0.0:
        raise ValueError("split 'val' is empty: set val_fraction > 0 (e.g. 0.1)")
    if split == "all":
        return list(range(len(labels)))
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    chosen: list[int] = []
    for members in groups.values():
        n_val = int(len(members) * val_fraction + 0.5)  # round half up
        cut = len(members) - n_val
        chosen.extend(members[cut:] if split == "val" else members[:cut])
    return sorted(chosen)


def _has_extension(name: str, extensions: Set[str]) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in extensions


def _files_under(folder: str, extensions: Set[str]) -> list[str]:
    """Files at any depth below ``folder`` (not in hidden folders), by relative path."""
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = os.path.relpath(dirpath, folder)
        for name in filenames:
            if _has_extension(name, extensions):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                found.append((rel, os.path.join(dirpath, name)))
    found.sort(key=lambda pair: pair[0])
    return [path for _, path in found]
