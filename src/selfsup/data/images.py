"""Image folders as datasets: decoded once into memory (``cache=True``) or per item.

``load_image_folder`` is the entry point; see :mod:`selfsup.data.folder_scan` for how folders
map to labels and splits. Files with an image extension that fail to decode are skipped and
counted, and one summary line is logged (:class:`~selfsup.data.skips.SkipLog`).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from selfsup.data.collate import Item
from selfsup.data.decode import BAD_IMAGE_REASONS, MAX_PIXELS, BadImage, decode_image
from selfsup.data.folder_scan import scan_image_folder, split_indices
from selfsup.data.skips import SkipLog
from selfsup.data.tensor_dataset import ImageTensorDataset

logger = logging.getLogger("selfsup.data")


def load_image_folder(
    root: str | Path,
    size: int | None = None,
    cache: bool = True,
    split: str = "all",
    val_fraction: float = 0.0,
    workers: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> ImageTensorDataset | LazyImageDataset:
    """Dataset of the images under ``root`` (class subfolders give labels, else -1).

    ``split`` is "all", "train" or "val": within each class the last ``val_fraction`` of files
    by sorted name are "val". ``size`` resizes the shorter side and centre-crops to a square.
    ``cache=True`` decodes everything now with ``workers`` threads (default: one per CPU) into
    an :class:`ImageTensorDataset` (needs equal image sizes, or ``size``); ``cache=False``
    returns a :class:`LazyImageDataset` that decodes per item. Images over ``max_pixels``
    pixels are skipped and counted as "too large".
    """
    listing = scan_image_folder(root)
    if split == "train" and val_fraction > 0 and all(label < 0 for label in listing.labels):
        # Nothing uses a held-out split of unlabeled images (the online kNN needs labels).
        logger.info(
            "%s has no class folders: training on all %s images (val_fraction holds files "
            "out only where labels make a validation split useful)",
            root,
            f"{len(listing.paths):,}",
        )
        split = "all"
    keep = split_indices(listing.labels, split, val_fraction)
    paths = [listing.paths[i] for i in keep]
    labels = [listing.labels[i] for i in keep]
    if size is not None:
        _note_resize(paths, size)
    if not cache:
        return LazyImageDataset(paths, labels, listing.classes, size, max_pixels)
    start = time.perf_counter()
    images, ok, skips = decode_files(paths, size, workers, root=Path(root), max_pixels=max_pixels)
    skips.report(len(paths))
    if not ok:
        raise ValueError(f"none of the {len(paths):,} image files under {root} could be decoded")
    kept_labels = torch.tensor([labels[i] for i in ok], dtype=torch.int64)
    logger.info(
        "decoded %s images %s from %s in %.1f s",
        f"{len(ok):,}",
        "x".join(str(s) for s in images.shape[1:]),
        root,
        time.perf_counter() - start,
    )
    return ImageTensorDataset(images, kept_labels, listing.classes)


def _note_resize(paths: Sequence[str], size: int, sample: int = 16) -> None:
    """Say when ``size`` changes the files' resolution (read from a few headers): a preset's
    ``data.size=32`` silently shrinking 64 px images, or blowing up small ones, surprises."""
    sides = []
    for path in paths[:: max(1, len(paths) // sample)][:sample]:
        if not os.path.isfile(path):  # opening a FIFO would block; it is counted when decoded
            continue
        try:
            with Image.open(path) as im:
                sides.append(min(im.size))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # bad files are counted when decoded
    if not sides:
        return
    typical = sorted(sides)[len(sides) // 2]
    if typical != size:
        logger.info(
            "images are about %d px on the shorter side: decoding them at size %d %s "
            "(data.size=%d, or --size for eval, keeps their resolution)",
            typical,
            size,
            "shrinks them" if typical > size else "upsamples them",
            typical,
        )


class LazyImageDataset(Dataset["Item | None"]):
    """Decodes one file per ``__getitem__``; a file that fails yields ``None``.

    Use :func:`~selfsup.data.collate.collate` to drop the ``None`` items. Failures are recorded
    per index in shared memory, so they are seen even when DataLoader worker processes did the
    decoding: :meth:`skip_log` / :meth:`report_skips` give the summary after an epoch.
    """

    def __init__(
        self,
        paths: Sequence[str],
        labels: Sequence[int],
        classes: list[str],
        size: int | None,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} paths but {len(labels)} labels")
        self.paths = list(paths)
        self.labels = torch.tensor(list(labels), dtype=torch.int64)
        self.classes = list(classes)
        self.size = size
        self.max_pixels = max_pixels
        # 0 = fine (or not read yet); k > 0 = failed with BAD_IMAGE_REASONS[k - 1].
        self.failures = torch.zeros(len(self.paths), dtype=torch.uint8).share_memory_()

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Item | None:
        try:
            image = decode_image_file(self.paths[index], self.size, self.max_pixels)
        except BadImage as bad:
            self.failures[index] = BAD_IMAGE_REASONS.index(bad.reason) + 1
            return None
        return {"input": image, "label": int(self.labels[index])}

    def skip_log(self) -> SkipLog:
        """Files that failed so far, by reason (first few paths in index order)."""
        log = SkipLog("files")
        for index in torch.nonzero(self.failures).flatten().tolist():
            log.add(self.paths[index], BAD_IMAGE_REASONS[int(self.failures[index]) - 1])
        return log

    def report_skips(self) -> str | None:
        """Log the one-line summary of failed files (if any) and return it."""
        return self.skip_log().report(len(self))


def decode_files(
    paths: Sequence[str],
    size: int | None,
    workers: int | None = None,
    root: Path | None = None,
    max_pixels: int = MAX_PIXELS,
) -> tuple[torch.Tensor, list[int], SkipLog]:
    """Decode ``paths`` with a thread pool into one ``uint8 [K, 3, H, W]`` tensor.

    Returns the tensor, the indices (into ``paths``) of the K files that decoded, and a SkipLog
    of the rest. The decoders release the GIL, so threads help without pickling images.
    """
    workers = workers or _cpu_count()
    chunk = max(1, min(256, len(paths) // (workers * 8) or 1))
    chunks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    skips = SkipLog("files")
    ok: list[int] = []
    out: torch.Tensor | None = None
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures: list[Future[list[torch.Tensor | BadImage]]] = [
            pool.submit(_decode_chunk, c, size, max_pixels) for c in chunks
        ]
        for number, future in enumerate(futures):
            for offset, result in enumerate(future.result()):
                index = number * chunk + offset
                if isinstance(result, BadImage):
                    skips.add(paths[index], result.reason)
                    continue
                if out is None:
                    _check_memory(len(paths), result.shape, root)
                    out = torch.empty((len(paths), *result.shape), dtype=torch.uint8)
                elif result.shape != out.shape[1:]:
                    raise ValueError(_size_mismatch(root, paths[index], result, out))
                out[len(ok)] = result
                ok.append(index)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if out is None:
        return torch.empty((0, 3, 0, 0), dtype=torch.uint8), ok, skips
    # Trim the rows reserved for skipped files (a copy only in that case).
    images = out if len(ok) == len(paths) else out[: len(ok)].clone()
    return images, ok, skips


def _decode_chunk(
    paths: Sequence[str], size: int | None, max_pixels: int = MAX_PIXELS
) -> list[torch.Tensor | BadImage]:
    results: list[torch.Tensor | BadImage] = []
    for path in paths:
        try:
            results.append(decode_image_file(path, size, max_pixels))
        except BadImage as bad:
            results.append(bad)
    return results


def decode_image_file(path: str, size: int | None, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """The ``uint8 [3, H, W]`` image in file ``path`` (see :func:`decode_image`); a file that
    cannot be opened or decoded raises :class:`BadImage`."""
    return decode_image(read_image_file(path), size, max_pixels)


# A FIFO named x.jpg would block open() until a writer came (forever); O_NONBLOCK returns at
# once, and the fstat below then refuses it. It changes nothing for regular files.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_image_file(path: str) -> bytes:
    """The bytes of ``path``; a file that cannot be read raises BadImage("unreadable"), and a
    FIFO, socket or device raises BadImage("not a regular file")."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        raise BadImage("unreadable", f"{path}: {err.strerror or err}") from None
    with os.fdopen(fd, "rb") as file:  # checked on the open file: no race with a swap
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BadImage("not a regular file", path)
        try:
            return file.read()
        except OSError as err:
            raise BadImage("unreadable", f"{path}: {err.strerror or err}") from None


def _size_mismatch(root: Path | None, path: str, image: torch.Tensor, out: torch.Tensor) -> str:
    where = f"under {root} " if root is not None else ""
    return (
        f"images {where}differ in size ({'x'.join(map(str, out.shape[2:]))} vs "
        f"{'x'.join(map(str, image.shape[1:]))} in {path}); set an image size "
        "(data.size=N, or --size N for eval) to resize and centre-crop them"
    )


def _check_memory(count: int, shape: torch.Size, root: Path | None) -> None:
    """Fail with a hint before allocating a cache larger than the machine's memory."""
    needed = count * shape.numel()
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return  # not knowable here (e.g. Windows): let the allocation decide
    if needed > 0.8 * total:
        raise ValueError(
            f"caching {count:,} images of {'x'.join(map(str, shape))} from {root or 'the files'} "
            f"needs {needed / 2**30:.1f} GiB of {total / 2**30:.1f} GiB memory; "
            "use cache=False or a smaller image size"
        )


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
