"""Audio folders as datasets: every clip decoded once into one in-memory array.

``load_audio_folder`` lists a split (:mod:`selfsup.data.audio_listing`), decodes its files with
a thread pool (:mod:`selfsup.data.audio_decode`) and keeps the clips back to back in one flat
tensor: int16 when every clip is 16-bit mono PCM at the wanted rate (bit-exact, 2 bytes a
sample; the Free Spoken Digit Dataset's 3,000 clips at 8 kHz take 19 MB), float32 otherwise.
Unusable files are skipped, clipped and silent ones counted, all on one summary line.

Training items longer than ``max_samples`` are cropped at a random offset drawn from
``(seed, epoch, index)`` alone, so a resumed run sees the very crops it would have seen; the
epoch lives in shared memory, so DataLoader worker processes follow :meth:`set_epoch` too.
Evaluation items are whole clips.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from selfsup.data.audio_decode import INT16_SCALE, BadAudio, DecodedClip, decode_audio_file
from selfsup.data.audio_frame_targets import FrameTargets, frame_targets_for
from selfsup.data.audio_listing import AudioListing
from selfsup.data.collate import Item
from selfsup.data.frame_labels import FrameLabels
from selfsup.data.skips import SkipLog
from selfsup.registry import ConfigError

logger = logging.getLogger("selfsup.data")

CLIPPED, SILENT = "clipped", "silent"


class AudioClips(Dataset[Item]):
    """Clips ``i`` = ``samples[offsets[i]:offsets[i + 1]]`` (int16 or float32), labels int64
    ``[N]`` (-1 = unlabelled), ``classes`` the names of labels ``0..len(classes)-1``.

    Items are float32 ``[T]`` waveforms at ``sample_rate``; with ``max_samples`` set, longer
    clips are cropped to it at an offset fixed by ``(seed, epoch, index)``. With frame labels
    attached (:meth:`attach_frame_labels`), crops start on frame boundaries and items also
    carry ``frame_labels``: int64 labels of the frames the crop covers.
    """

    def __init__(
        self,
        samples: torch.Tensor,
        offsets: torch.Tensor,
        labels: torch.Tensor,
        classes: list[str],
        sample_rate: int,
        paths: Sequence[str] = (),
        max_samples: int | None = None,
        seed: int = 0,
    ) -> None:
        if samples.dtype not in (torch.int16, torch.float32) or samples.ndim != 1:
            raise ValueError(f"samples must be flat int16 or float32, got {samples.dtype}")
        if offsets.shape != (len(labels) + 1,) or int(offsets[-1]) != len(samples):
            raise ValueError("offsets must hold N + 1 bounds ending at the number of samples")
        if max_samples is not None and max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples}")
        self.samples, self.offsets, self.labels = samples, offsets, labels
        self.classes, self.paths = list(classes), list(paths)
        self.sample_rate, self.max_samples, self.seed = sample_rate, max_samples, seed
        self.lengths = offsets[1:] - offsets[:-1]
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self.root = ""  # the folder clip keys are relative to (set by load_audio_clips)
        self.frame_targets: FrameTargets | None = None
        self.crop_step = 1  # crops start at multiples of this many samples

    def clip_keys(self) -> list[str]:
        """Each clip's name: its path relative to the source folder (frame-label files use it)."""
        if not self.root:
            return [Path(p).as_posix() for p in self.paths]
        return [Path(os.path.relpath(p, self.root)).as_posix() for p in self.paths]

    def attach_frame_labels(self, labels: FrameLabels) -> None:
        """Give items the labels of their frames (one-line error if ``labels`` do not fit)."""
        self.frame_targets = frame_targets_for(
            labels, self.clip_keys(), self.lengths, self.sample_rate
        )
        self.crop_step = self.frame_targets.hop

    def __len__(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s crops from now on (in worker processes too)."""
        self._epoch[0] = epoch

    @property
    def epoch(self) -> int:
        """The epoch whose crops items get."""
        return int(self._epoch[0])

    def crop_start(self, index: int, length: int) -> int:
        """Where clip ``index`` (``length`` samples) starts in this epoch's item."""
        if self.max_samples is None or length <= self.max_samples:
            return 0
        # A fresh generator per item: the offset depends on nothing but these three numbers.
        rng = np.random.default_rng([self.seed & (2**64 - 1), self.epoch, index])
        step = self.crop_step
        return step * int(rng.integers(0, (length - self.max_samples) // step + 1))

    def clip(self, index: int) -> torch.Tensor:
        """Clip ``index`` whole, float32 ``[T]``."""
        return _as_float(self.samples[int(self.offsets[index]) : int(self.offsets[index + 1])])

    def __getitem__(self, index: int) -> Item:
        begin, end = int(self.offsets[index]), int(self.offsets[index + 1])
        if self.max_samples is not None and end - begin > self.max_samples:
            begin += self.crop_start(index, end - begin)
            end = begin + self.max_samples
        item: Item = {"input": _as_float(self.samples[begin:end]), "label": int(self.labels[index])}
        if self.frame_targets is not None:
            start = begin - int(self.offsets[index])
            item["frame_labels"] = self.frame_targets.window(index, start, end - begin)
        return item

    @property
    def seconds(self) -> float:
        """Total duration of the clips, whole."""
        return len(self.samples) / self.sample_rate

    def __repr__(self) -> str:
        return (
            f"AudioClips({len(self)} clips, {self.seconds:.0f} s at {self.sample_rate} Hz, "
            f"{len(self.classes)} classes)"
        )


def _as_float(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.int16:
        return x.to(torch.float32) / INT16_SCALE
    return x.clone()  # items never alias the cache: a view edited in place would change it


def load_audio_clips(
    listing: AudioListing,
    sample_rate: int,
    max_seconds: float | None = None,
    seed: int = 0,
    drop_silent: bool = False,
    workers: int | None = None,
) -> AudioClips:
    """Decode every file of ``listing`` at ``sample_rate`` into :class:`AudioClips`, cropping
    items to ``max_seconds`` when given. Logs one summary line of what was skipped or odd."""
    check_rates(sample_rate, max_seconds)
    start = time.perf_counter()
    decoded = decode_files(listing.paths, sample_rate, workers)
    skips = SkipLog("files")
    skips.merge(listing.skips)
    kept: list[int] = []
    clips: list[np.ndarray] = []
    for index, result in enumerate(decoded):
        where = os.path.relpath(listing.paths[index], listing.root)
        if isinstance(result, BadAudio):
            skips.add(where, result.reason)
            continue
        if result.silent and drop_silent:
            skips.add(where, SILENT)
            continue
        skips.keep(CLIPPED, int(result.clipped))
        skips.keep(SILENT, int(result.silent))
        kept.append(index)
        clips.append(result.samples)
    skips.report(len(listing.paths) + listing.skips.skipped)
    if not clips:
        raise ConfigError(
            f"none of the {len(listing.paths):,} audio files under {listing.root} could be used"
        )
    samples, offsets = _pack(clips)
    max_samples = None if max_seconds is None else max(1, round(max_seconds * sample_rate))
    ds = AudioClips(
        samples,
        offsets,
        torch.tensor([listing.labels[i] for i in kept], dtype=torch.int64),
        listing.classes,
        sample_rate,
        [listing.paths[i] for i in kept],
        max_samples,
        seed,
    )
    ds.root = listing.root
    logger.info(
        "decoded %s clips (%.1f min of audio at %s Hz, %.1f MB %s) from %s in %.1f s",
        f"{len(ds):,}",
        ds.seconds / 60,
        f"{sample_rate:,}",
        samples.numel() * samples.element_size() / 1e6,
        str(samples.dtype).removeprefix("torch."),
        listing.root,
        time.perf_counter() - start,
    )
    return ds


def check_rates(sample_rate: int, max_seconds: float | None) -> None:
    """One-line ConfigErrors for a non-positive ``sample_rate`` or ``max_seconds``."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ConfigError(f"data.sample_rate must be a positive number of Hz, got {sample_rate}")
    if max_seconds is not None and not max_seconds > 0:
        raise ConfigError(f"data.max_seconds must be > 0 (or null: whole clips), got {max_seconds}")


def decode_files(
    paths: Sequence[str], sample_rate: int, workers: int | None = None
) -> list[DecodedClip | BadAudio]:
    """Each file decoded (or the reason it could not be), in order, with a thread pool:
    libsndfile and the resampler release the GIL."""
    workers = workers or _cpu_count()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: _decode_or_reason(p, sample_rate), paths, chunksize=64))


def _decode_or_reason(path: str, sample_rate: int) -> DecodedClip | BadAudio:
    try:
        return decode_audio_file(path, sample_rate)
    except BadAudio as bad:
        return bad


def _pack(clips: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """One flat tensor (int16 if every clip is, else float32) and the N + 1 clip bounds."""
    lengths = np.array([len(c) for c in clips], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    if all(c.dtype == np.int16 for c in clips):
        flat = np.concatenate(clips)
    else:
        unit = np.float32(1 / INT16_SCALE)
        flat = np.concatenate(
            [c.astype(np.float32) * unit if c.dtype == np.int16 else c for c in clips]
        )
    return torch.from_numpy(flat), torch.from_numpy(offsets)


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
