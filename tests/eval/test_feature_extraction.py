"""Feature extraction: matches the encoder on stacked data, eval mode, and the disk cache."""

from __future__ import annotations

import hashlib
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import IterableDataset

from selfsup.eval.features import Features, extract_features, feature_cache_key


class ListDataset:
    """Map-style dataset of ``{"input", "label"}`` dicts."""

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        self.inputs, self.labels_ = inputs, labels

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> dict:
        return {"input": self.inputs[i], "label": int(self.labels_[i])}


class InMemoryDataset(ListDataset):
    """Also exposes ``.images`` / ``.labels`` like the in-memory datasets of the data package."""

    @property
    def images(self) -> torch.Tensor:
        return self.inputs

    @property
    def labels(self) -> torch.Tensor:
        return self.labels_


class Stream(IterableDataset):
    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor) -> None:
        self.inputs, self.labels = inputs, labels

    def __iter__(self):
        for x, y in zip(self.inputs, self.labels, strict=True):
            yield {"input": x, "label": int(y)}


class Encoder(nn.Module):
    """Deterministic in eval mode; counts its calls; dropout makes train mode detectable."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3 * 4 * 4, 5)
        self.drop = nn.Dropout(0.5)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.drop(self.proj(x.flatten(1).float() / 255))


def toy_data(n: int = 37):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 4, 4), dtype=torch.uint8, generator=g)
    labels = torch.randint(-1, 4, (n,), generator=g)
    return images, labels


def reference(encoder: Encoder, images: torch.Tensor) -> torch.Tensor:
    encoder.eval()
    with torch.no_grad():
        out = encoder(images)
    encoder.train()
    return out


@pytest.mark.parametrize("kind", [ListDataset, InMemoryDataset, Stream])
def test_matches_encoder_on_stacked_data(kind):
    torch.manual_seed(0)
    images, labels = toy_data()
    encoder = Encoder().train()
    feats = extract_features(encoder, kind(images, labels), batch_size=8)
    torch.testing.assert_close(feats.features, reference(encoder, images))
    assert torch.equal(feats.labels, labels)
    assert feats.features.dtype == torch.float32 and feats.labels.dtype == torch.int64
    assert encoder.training and encoder.drop.training  # previous mode restored


def test_closure_encoder_runs_in_eval_mode_and_restores_modes():
    torch.manual_seed(0)
    images, labels = toy_data()
    encoder = Encoder().train()
    encoder.proj.eval()  # a submodule's own mode must survive too

    def make_encode(model: Encoder):
        return lambda x: model(x) * 2

    feats = extract_features(make_encode(encoder), ListDataset(images, labels), batch_size=10)
    assert encoder.training and encoder.drop.training and not encoder.proj.training
    torch.testing.assert_close(feats.features, 2 * reference(encoder, images))


def test_cache_is_reused_and_corrupt_cache_rebuilt(tmp_path):
    torch.manual_seed(0)
    images, labels = toy_data()
    encoder = Encoder()
    key = feature_cache_key("ckpt-sha", "toy-data", "eval-view")
    first = extract_features(
        encoder, ListDataset(images, labels), 16, cache_dir=tmp_path, cache_key=key
    )
    calls = encoder.calls
    assert calls == 3 and (tmp_path / f"{key}.safetensors").exists()
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.safetensors"]  # no temp files left

    again = extract_features(
        encoder, ListDataset(images, labels), 16, cache_dir=tmp_path, cache_key=key
    )
    assert encoder.calls == calls
    assert torch.equal(again.features, first.features) and torch.equal(again.labels, labels)

    (tmp_path / f"{key}.safetensors").write_bytes(b"\x00not a safetensors file")
    with pytest.warns(UserWarning, match="feature cache"):
        rebuilt = extract_features(
            encoder, ListDataset(images, labels), 16, cache_dir=tmp_path, cache_key=key
        )
    assert encoder.calls == 2 * calls
    assert torch.equal(rebuilt.features, first.features)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file is valid again
        extract_features(
            encoder, ListDataset(images, labels), 16, cache_dir=tmp_path, cache_key=key
        )
    assert encoder.calls == 2 * calls


def test_cache_key_hashes_parts_unambiguously():
    key = feature_cache_key("ab", "c")
    assert key == hashlib.sha256(b"2:ab1:c").hexdigest()
    assert key != feature_cache_key("a", "bc")
    assert key != feature_cache_key("ab", "d")


def test_missing_labels_become_unlabelled():
    images, _ = toy_data(5)
    data = [{"input": x} for x in images]
    feats = extract_features(lambda x: x.flatten(1).float(), data, batch_size=2)
    assert torch.equal(feats.labels, torch.full((5,), -1))
    torch.testing.assert_close(feats.features, images.flatten(1).float())


def test_bad_inputs_raise_clear_errors(tmp_path):
    images, labels = toy_data(6)
    data = ListDataset(images, labels)
    with pytest.raises(ValueError, match=r"\[B, D\]"):
        extract_features(lambda x: x.float(), data)
    with pytest.raises(ValueError, match="together"):
        extract_features(lambda x: x.flatten(1).float(), data, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="empty"):
        extract_features(lambda x: x.flatten(1).float(), [])
    with pytest.raises(ValueError, match="'input'"):
        extract_features(lambda x: x, [{"x": torch.zeros(2)}])


def test_features_validates_shapes():
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        Features(torch.zeros(3), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        Features(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))
