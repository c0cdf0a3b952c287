"""Evaluation audio sets named on the command line: ``PATH[:LABEL][@SPLIT]``.

* ``PATH`` a folder with class subfolders: labels are the folders; ``@val`` (or ``@test``) is
  the last ``val_fraction`` of each class, ``@train`` the rest, no ``@``: every file.
* ``PATH:LABEL``, a folder of files named ``{digit}_{speaker}_{n}`` (the Free Spoken Digit
  Dataset's convention, :data:`FSDD_LAYOUT`): ``LABEL`` is ``digit`` or ``speaker``, and
  ``@test`` is its standard test split (``n`` 0..4), ``@train`` the rest.
  ``/data/fsdd/recordings:speaker@test`` is the speaker task's test set.
* ``PATH`` a ``.yaml`` file holding the audio source's keys (``path``, relative to the file,
  ``label_pattern``, ``label``, ``test_split``, ``val_fraction``, ``drop_silent``): any other
  naming scheme. ``:LABEL`` picks another group of its pattern.

Clips are decoded at the encoder's ``sample_rate`` and served whole.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from selfsup.data.audio import AudioClips, check_rates, load_audio_clips
from selfsup.data.audio_listing import AudioListing, list_audio_split
from selfsup.registry import ConfigError, closest

FSDD_LAYOUT: dict[str, Any] = {
    "label_pattern": r"(?P<digit>\d+)_(?P<speaker>[^_]+)_(?P<n>\d+)",
    "test_split": {"n": "0-4"},
}
"""Files named ``{digit}_{speaker}_{n}``, held out when ``n`` is 0..4."""

SPLIT_NAMES = {"train": "train", "val": "val", "test": "val", "all": "all"}
CARD_KEYS = ("path", "label_pattern", "label", "test_split", "val_fraction", "drop_silent")


@dataclasses.dataclass(frozen=True)
class AudioSpec:
    """What a spec names: the folder, the split, and the listing keys."""

    path: str
    split: str
    keys: dict[str, Any]
    drop_silent: bool = False


def parse_audio_spec(spec: str, val_fraction: float) -> AudioSpec:
    """``PATH[:LABEL][@SPLIT]`` as :class:`AudioSpec`; a bad part is a one-line ConfigError."""
    body, at, split_name = spec.rpartition("@") if "@" in spec else (spec, "", "")
    split = "all"
    if at:
        if split_name not in SPLIT_NAMES:
            raise ConfigError(
                f"audio splits are train, test (also called val) and all, got "
                f"'@{split_name}'{closest(split_name, SPLIT_NAMES)}"
            )
        split = SPLIT_NAMES[split_name]
    path, colon, label = body.rpartition(":")
    if not colon or not label.isidentifier():
        path, label = body, ""
    if path.endswith((".yaml", ".yml")):
        return _from_card(Path(path), label, split, val_fraction)
    if not Path(path).is_dir():
        raise ConfigError(f"audio data not found: {path} (give a folder or a .yaml description)")
    if not label:
        return AudioSpec(path, split, {"val_fraction": val_fraction if split != "all" else 0.0})
    return AudioSpec(path, split, {**FSDD_LAYOUT, "label": label})


def _from_card(card: Path, label: str, split: str, val_fraction: float) -> AudioSpec:
    if not card.is_file():
        raise ConfigError(f"audio data description not found: {card}")
    try:
        keys = yaml.safe_load(card.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{card}: not a YAML mapping ({str(e).splitlines()[0]})") from None
    if not isinstance(keys, dict) or "path" not in keys:
        raise ConfigError(f"{card}: expected a mapping with at least 'path' (the audio folder)")
    unknown = [k for k in keys if k not in CARD_KEYS]
    if unknown:
        raise ConfigError(
            f"{card}: unknown key '{unknown[0]}' (known: {', '.join(CARD_KEYS)})"
            f"{closest(str(unknown[0]), CARD_KEYS)}"
        )
    folder = (card.parent / str(keys.pop("path"))).resolve()
    drop_silent = bool(keys.pop("drop_silent", False))
    keys.setdefault("val_fraction", val_fraction)
    if label:
        keys["label"] = label
    return AudioSpec(str(folder), split, keys, drop_silent)


def audio_listing_from_spec(spec: str, val_fraction: float) -> tuple[AudioListing, AudioSpec]:
    """The files ``spec`` names, listed (no file decoded yet)."""
    parsed = parse_audio_spec(spec, val_fraction)
    try:
        return list_audio_split(parsed.path, parsed.split, **parsed.keys), parsed
    except TypeError as e:  # a card value of the wrong type
        raise ConfigError(f"{spec}: {e}") from None


def audio_dataset_from_spec(spec: str, sample_rate: int, val_fraction: float) -> AudioClips:
    """The labelled clips ``spec`` names, decoded whole at ``sample_rate`` Hz."""
    check_rates(sample_rate, None)
    listing, parsed = audio_listing_from_spec(spec, val_fraction)
    return load_audio_clips(listing, sample_rate, None, drop_silent=parsed.drop_silent)
