"""Fuzzed bad input: whatever bytes users hand us, readers skip and count, never crash.

The image decoder returns a ``uint8 [3, H, W]`` tensor or raises :class:`BadImage` with one of
its reasons; text readers skip undecodable or empty lines into a :class:`SkipLog`; an image
folder of random files keeps or counts every file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from selfsup.data.decode import BAD_IMAGE_REASONS, BadImage, decode_image
from selfsup.data.images import decode_files, load_image_folder
from selfsup.data.skips import SkipLog
from selfsup.data.text_read import read_documents, read_jsonl, read_lines, read_tsv

from .helpers import encode

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_images() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    return {"png": encode(image, "PNG"), "jpeg": encode(image, "JPEG")}


VALID = _valid_images()


def _decodes_or_names_a_reason(data: bytes, size: int | None = None) -> None:
    try:
        image = decode_image(data, size)
    except BadImage as bad:
        assert bad.reason in BAD_IMAGE_REASONS
        return
    assert image.dtype == torch.uint8 and image.dim() == 3 and image.shape[0] == 3
    if size is not None:
        assert tuple(image.shape[1:]) == (size, size)


@FUZZ
@given(data=st.binary(max_size=2048), size=st.sampled_from([None, 8]))
def test_arbitrary_bytes_decode_or_raise_bad_image(data: bytes, size: int | None) -> None:
    _decodes_or_names_a_reason(data, size)


@FUZZ
@given(
    fmt=st.sampled_from(sorted(VALID)),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=8),
    size=st.sampled_from([None, 8]),
)
def test_mutated_png_and_jpeg_decode_or_raise_bad_image(
    fmt: str, cut: float, flips: list[tuple[int, int]], size: int | None
) -> None:
    data = bytearray(VALID[fmt][: max(1, int(len(VALID[fmt]) * cut))])
    for position, mask in flips:
        data[position % len(data)] ^= mask
    _decodes_or_names_a_reason(bytes(data), size)


def _lines_accounted_for(path: Path, raw: bytes) -> None:
    skips = SkipLog("lines")
    kept = list(read_lines(path, skips))
    assert len(kept) + skips.skipped == raw.count(b"\n") + (not raw.endswith(b"\n") and bool(raw))
    assert all(isinstance(line, str) and line.strip() for line in kept)


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=1024),
        st.just(b""),
        st.binary(min_size=1, max_size=64).map(lambda b: b.replace(b"\n", b"x") * 4096),
        st.lists(st.sampled_from([b"ok\n", b"\xff\xfe\n", b"\n", b"\xc3(\n", b"{}\n"])).map(
            b"".join
        ),
    )
)
def test_text_readers_skip_and_count_arbitrary_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.txt"
        path.write_bytes(raw)
        _lines_accounted_for(path, raw)
        skips = SkipLog("lines")
        assert all(isinstance(doc, str) for doc in read_documents(path, skips))
        assert all(isinstance(doc, str) for doc in read_jsonl(path, "text", SkipLog("lines")))
        try:
            rows = list(read_tsv(path, 0, None, SkipLog("lines")))
        except ValueError as err:  # an empty file has no header: a clear error, not a crash
            assert "column" in str(err)
        else:
            assert all(isinstance(text, str) and label == -1 for text, label in rows)


FILE_KINDS = ("png", "jpeg", "garbage", "zero-byte", "broken symlink", "truncated png") + (
    ("fifo",) if hasattr(os, "mkfifo") else ()
)


@FUZZ
@given(kinds=st.lists(st.sampled_from(FILE_KINDS), min_size=1, max_size=8), seed=st.integers())
def test_folder_of_random_files_keeps_or_counts_each(kinds: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed % 2**32)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, kind in enumerate(kinds):
            path = root / f"{i:02d}.{'jpg' if kind == 'jpeg' else 'png'}"
            if kind == "fifo":
                os.mkfifo(path)
            elif kind == "broken symlink":
                os.symlink(root / "missing.png", path)
            elif kind in VALID:
                path.write_bytes(VALID[kind])
            elif kind == "truncated png":
                path.write_bytes(VALID["png"][: len(VALID["png"]) // 2])
            elif kind == "garbage":
                path.write_bytes(rng.integers(0, 256, int(rng.integers(1, 300))).astype(np.uint8))
            else:
                path.write_bytes(b"")
        good = sum(kind in VALID for kind in kinds)
        if not good:
            with pytest.raises(ValueError, match="could be decoded"):
                load_image_folder(root, size=8, workers=1)
            return
        for cache in (True, False):
            ds = load_image_folder(root, size=8, cache=cache, workers=1)
            if cache:
                paths = sorted(str(p) for p in root.iterdir())
                _, ok, skips = decode_files(paths, 8, workers=1)
                assert len(ds) == len(ok) == good and len(ok) + skips.skipped == len(kinds)
            else:
                kept = sum(ds[i] is not None for i in range(len(ds)))
                assert kept + ds.skip_log().skipped == len(kinds) and kept == good
