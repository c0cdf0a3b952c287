"""``data.source: audio``: labels and splits from class folders or file names, one summary line
for what was skipped or odd, crops fixed by (seed, epoch, index), one-line config errors."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from selfsup.data.audio import AudioClips
from selfsup.data.sources import build_dataset
from selfsup.engine.sampler import ResumableSampler
from selfsup.registry import ConfigError

from .audio_helpers import FSDD_PATTERN, RATE, fsdd_like, tone, write_audio
from .test_audio_decode import bad_files

FSDD_KEYS = {"label_pattern": FSDD_PATTERN, "test_split": {"n": "0-1"}}


def audio(root: Path, split: str = "all", **keys: object) -> AudioClips:
    ds = build_dataset("audio", split, path=str(root), sample_rate=RATE, **keys)
    assert isinstance(ds, AudioClips)
    return ds


def test_one_folder_serves_the_digit_and_the_speaker_task(tmp_path: Path) -> None:
    fsdd_like(tmp_path, speakers=("zed", "ann", "bob"))
    digits = audio(tmp_path, "train", **FSDD_KEYS, label="digit")
    assert digits.classes == ["0", "1", "2"]
    assert len(digits) == 3 * 3 * 4 and digits.labels.bincount().tolist() == [12, 12, 12]
    speakers = audio(tmp_path, "val", **FSDD_KEYS, label="speaker")
    assert speakers.classes == ["ann", "bob", "zed"]  # sorted names -> ids
    assert len(speakers) == 3 * 3 * 2
    assert all(re.search(r"_[01]\.wav$", p) for p in speakers.paths)
    for i, path in enumerate(speakers.paths):
        assert speakers.classes[int(speakers.labels[i])] == Path(path).stem.split("_")[1]
    whole = audio(tmp_path, **FSDD_KEYS)
    assert len(whole) == 54 and set(whole.labels.tolist()) == {-1}  # no label: unlabelled


def test_split_rules_take_lists_literals_and_ranges(tmp_path: Path) -> None:
    fsdd_like(tmp_path, speakers=("ann", "bob"))
    pattern = {"label_pattern": FSDD_PATTERN, "label": "digit"}
    by_speaker = audio(tmp_path, "val", **pattern, test_split={"speaker": "bob"})
    assert len(by_speaker) == 18 and all("_bob_" in p for p in by_speaker.paths)
    both = audio(tmp_path, "val", **pattern, test_split={"speaker": ["bob"], "n": "0,4-5"})
    assert (
        sorted(Path(p).stem.split("_")[2] for p in both.paths) == ["0"] * 3 + ["4"] * 3 + ["5"] * 3
    )


def test_class_subfolders_give_labels_and_val_fraction_the_split(tmp_path: Path) -> None:
    for cls in ("yes", "no"):
        for i in range(5):
            write_audio(tmp_path / cls / "deep" / f"{i}.flac", tone(0.05 * (i + 1)))
    val = audio(tmp_path, "val", val_fraction=0.2)
    assert val.classes == ["no", "yes"] and val.labels.tolist() == [0, 1]
    assert len(audio(tmp_path, "train", val_fraction=0.2)) == 8


def test_bad_files_are_skipped_and_odd_ones_counted_on_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "clips"
    bad = bad_files(folder)
    (folder / "missing.wav").symlink_to(folder / "gone.wav")  # a dangling link: unreadable
    write_audio(folder / "loud.wav", np.clip(tone(0.2, amp=3.0), -1, 1))
    write_audio(folder / "quiet.wav", tone(0.2, amp=1e-5))
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        ds = audio(folder)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    total = len(bad) + 3  # bad ones + good, loud, quiet
    assert lines[0].startswith(f"skipped {len(bad)} of {total} files: 2 non-finite samples, ")
    for reason in ("1 zero-byte", "1 no samples", "1 not audio", "1 malformed", "1 unreadable"):
        assert reason in lines[0]
    assert "; kept 1 clipped, 1 silent" in lines[0]
    assert len(ds) == 3 and all(torch.isfinite(ds.clip(i)).all() for i in range(len(ds)))
    assert len(audio(folder, drop_silent=True)) == 2


def test_names_that_do_not_match_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fsdd_like(tmp_path, speakers=("ann",), takes=2)
    write_audio(tmp_path / "README.wav", tone(0.1))
    with caplog.at_level(logging.WARNING, logger="selfsup.data"):
        ds = audio(tmp_path, **FSDD_KEYS, label="digit")
    assert len(ds) == 6
    assert caplog.records[0].getMessage() == (
        "skipped 1 of 7 files: 1 name does not match label_pattern (first: README.wav)"
    )


def test_training_crops_are_fixed_by_seed_epoch_and_index(tmp_path: Path) -> None:
    write_audio(tmp_path / "long.wav", tone(1.0, freq=123.0))
    write_audio(tmp_path / "short.wav", tone(0.05))
    ds = audio(tmp_path, "all", max_seconds=0.1, seed=3)
    again = audio(tmp_path, "all", max_seconds=0.1, seed=3)
    whole = ds.clip(0)
    starts = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        again.set_epoch(epoch)
        item = ds[0]["input"]
        assert len(item) == 800 and torch.equal(item, again[0]["input"])
        start = ds.crop_start(0, len(whole))
        assert torch.equal(item, whole[start : start + 800])
        starts.append(start)
        assert len(ds[1]["input"]) == 400  # shorter clips stay as they are
    assert len(set(starts)) > 1  # a new crop each epoch
    ds.set_epoch(0)
    other_seed = audio(tmp_path, "all", max_seconds=0.1, seed=4)
    assert ds.crop_start(0, 8000) != other_seed.crop_start(0, 8000)


def test_the_sampler_tells_the_dataset_its_epoch_also_on_resume(tmp_path: Path) -> None:
    write_audio(tmp_path / "long.wav", tone(1.0))
    ds = audio(tmp_path, max_seconds=0.1)
    sampler = ResumableSampler(len(ds), on_epoch=ds.set_epoch)
    sampler.set_epoch(2)
    list(sampler)
    assert ds.epoch == 2
    sampler.skip(0, 5)  # a mid-epoch resume: no on_train_epoch_start runs
    iter(sampler)
    assert ds.epoch == 5


def test_evaluation_split_items_are_whole_clips(tmp_path: Path) -> None:
    fsdd_like(tmp_path, speakers=("ann",))
    val = audio(tmp_path, "val", **FSDD_KEYS, max_seconds=0.05)
    assert val.max_samples is None
    lengths = sorted(len(val[i]["input"]) for i in range(len(val)))
    assert lengths == [800, 800, 800, 1200, 1200, 1200]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"label_pattern": "(?P<digit>\\d"}, "'(?P<digit>\\\\d' is not a regular"),
        ({"label_pattern": "\\d_.*"}, "has no named groups"),
        ({"label_pattern": FSDD_PATTERN, "label": "digits"}, "did you mean 'digit'"),
        ({"label": "digit"}, "data.label needs data.label_pattern"),
        ({"label_pattern": FSDD_PATTERN, "test_split": {"take": "0-4"}}, "group 'take'"),
        ({"label_pattern": FSDD_PATTERN, "test_split": {"n": "4-0"}}, "empty range '4-0'"),
        ({"test_split": {"n": "0-4"}}, "data.test_split needs data.label_pattern"),
        ({"sample_rate": 0}, "data.sample_rate must be a positive number of Hz, got 0"),
        ({"max_seconds": -1.0}, "data.max_seconds must be > 0"),
    ],
)
def test_bad_keys_are_one_line_config_errors(
    tmp_path: Path, keys: dict[str, object], message: str
) -> None:
    fsdd_like(tmp_path, speakers=("ann",), takes=1)
    args = {"path": str(tmp_path), "sample_rate": RATE, **keys}
    with pytest.raises(ConfigError) as err:
        build_dataset("audio", "train", **args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_folder_without_audio_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no sound here")
    with pytest.raises(ConfigError, match=r"^no audio files \(.flac .ogg .wav\) found under"):
        audio(tmp_path)
    with pytest.raises(ConfigError, match=r"none of the 1 audio files under .* match"):
        write_audio(tmp_path / "x.wav", tone(0.1))
        audio(tmp_path, label_pattern=FSDD_PATTERN)
    with pytest.raises(ConfigError, match="does not exist"):
        audio(tmp_path / "nowhere")
