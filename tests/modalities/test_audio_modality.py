"""The audio modality spec: NaN-padded batches with lengths, evaluation sets and embed sources
from command-line specs, fine-tuning views that keep padding, tiny inputs of varied length."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import torch

from data.audio_helpers import fsdd_like, tone, write_audio
from selfsup.backbones.base import Backbone
from selfsup.data.audio import AudioClips
from selfsup.data.eval_audio import parse_audio_spec
from selfsup.modalities import get_modality
from selfsup.nn.audio_padding import clip_lengths, zero_padding
from selfsup.registry import ConfigError

AUDIO = get_modality("audio")


class MeanPoolAudio(Backbone):
    """Test-only audio encoder: a linear map of [mean, std] of each clip's real samples."""

    modality: ClassVar[str] = "audio"
    feature_dim = 4

    def __init__(self, sample_rate: int = 8000) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.proj = torch.nn.Linear(2, self.feature_dim)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        values, mask = zero_padding(x)
        n = mask.sum(1, keepdim=True).clamp(min=1)
        mean = values.sum(1, keepdim=True) / n
        var = ((values - mean) ** 2 * mask).sum(1, keepdim=True) / n
        return self.proj(torch.cat([mean, var.sqrt()], 1))


def test_collate_pads_with_nan_and_carries_lengths() -> None:
    items = [{"input": torch.ones(n), "label": n} for n in (3, 5, 1)]
    batch = AUDIO.collate([items[0], None, items[1], items[2]])
    assert batch["input"].shape == (3, 5) and batch["input"].dtype == torch.float32
    assert batch["length"].tolist() == [3, 5, 1] and batch["label"].tolist() == [3, 5, 1]
    assert torch.equal(clip_lengths(batch["input"]), batch["length"])
    assert torch.isnan(batch["input"][0, 3:]).all() and (batch["input"][0, :3] == 1).all()
    empty = AUDIO.collate([None])
    assert empty["input"].shape == (0, 0) and empty["length"].numel() == 0


def test_padding_never_changes_a_pooled_feature() -> None:
    encoder = MeanPoolAudio()
    clip = torch.randn(50)
    alone = encoder.forward_features(clip[None])
    padded = AUDIO.collate([{"input": clip, "label": 0}, {"input": torch.randn(90), "label": 0}])
    assert torch.allclose(encoder.forward_features(padded["input"])[0], alone[0], atol=1e-6)


def test_finetune_view_crops_and_scales_each_clip_keeping_padding() -> None:
    clips = [torch.full((n,), 0.5) for n in (100, 40, 7)]
    x = AUDIO.collate([{"input": c, "label": 0} for c in clips])["input"]
    out = AUDIO.finetune_view(x, 0.5, True, torch.Generator().manual_seed(0))
    lengths = clip_lengths(out)
    assert out.shape[1] == int(lengths.max()) <= 100
    assert ((lengths >= torch.tensor([50, 20, 4])) & (lengths <= torch.tensor([100, 40, 7]))).all()
    values, mask = zero_padding(out)
    assert torch.equal(mask, torch.arange(out.shape[1])[None] < lengths[:, None])
    gains = values[:, 0] / 0.5
    assert ((gains > 10 ** (-6 / 20) - 1e-6) & (gains < 10 ** (6 / 20) + 1e-6)).all()
    for row, n in zip(values, lengths, strict=True):
        assert torch.allclose(row[:n], row[0].expand(int(n)))  # one gain per clip
    again = AUDIO.finetune_view(x, 0.5, True, torch.Generator().manual_seed(0))
    assert torch.equal(torch.nan_to_num(out), torch.nan_to_num(again))


def test_tiny_input_is_nan_padded_clips_of_varied_length() -> None:
    x = AUDIO.tiny_input(MeanPoolAudio(), 6, 64, torch.Generator().manual_seed(0))
    lengths = clip_lengths(x)
    assert x.shape == (6, 64) and lengths[0] == 64 and (lengths >= 32).all()
    assert len(set(lengths.tolist())) > 1
    assert torch.isfinite(MeanPoolAudio().forward_features(x)).all()


def test_specs_name_a_folder_a_label_group_and_a_split(tmp_path: Path) -> None:
    fsdd_like(tmp_path / "fsdd", speakers=("ann", "bob"), takes=6)
    encoder = MeanPoolAudio(sample_rate=16_000)
    test = AUDIO.eval_dataset(f"{tmp_path}/fsdd:speaker@test", encoder, None, 0.1)
    assert isinstance(test, AudioClips) and test.classes == ["ann", "bob"]
    assert len(test) == 3 * 2 * 5 and test.sample_rate == 16_000  # n 0..4 of 0..5
    assert test.max_samples is None  # evaluation items are whole clips
    train = AUDIO.eval_dataset(f"{tmp_path}/fsdd:digit@train", encoder, None, 0.1)
    assert train.classes == ["0", "1", "2"] and len(train) == 6
    card = tmp_path / "takes.yaml"
    card.write_text(
        "path: fsdd\nlabel_pattern: '(?P<digit>\\d)_(?P<who>[a-z]+)_(?P<take>\\d+)'\n"
        "label: who\ntest_split: {take: 5}\n"
    )
    held = AUDIO.eval_dataset(f"{card}@test", encoder, None, 0.1)
    assert held.classes == ["ann", "bob"] and len(held) == 6
    assert len(AUDIO.eval_dataset(f"{card}:digit@all", encoder, None, 0.1)) == 36


def test_class_folder_specs_and_embed_sources(tmp_path: Path) -> None:
    for cls in ("no", "yes"):
        for i in range(5):
            write_audio(tmp_path / cls / f"{i}.wav", tone(0.05 * (i + 1)))
    (tmp_path / "yes" / "4.wav").write_bytes(b"")
    encoder = MeanPoolAudio()
    val = AUDIO.eval_dataset(f"{tmp_path}@val", encoder, None, 0.2)
    assert val.classes == ["no", "yes"] and len(val) == 1  # yes/4.wav is empty: skipped
    source = AUDIO.item_source(f"{tmp_path}@val", encoder, None, 0.2)
    assert [source.item_id(i) for i in range(len(source))] == ["no/4.wav", "yes/4.wav"]
    assert source.has_labels and source.classes == ["no", "yes"]
    assert source[1] == {"index": 1, "item": None, "reason": "zero-byte"}
    first = source[0]["item"]
    assert first is not None and first["input"].shape == (2000,) and first["label"] == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/nowhere/clips@test", "audio data not found: /nowhere/clips"),
        ("{root}@tset", "did you mean 'test'"),
        ("{root}/card.yaml", "audio data description not found"),
    ],
)
def test_bad_specs_are_one_line(tmp_path: Path, spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_audio_spec(spec.format(root=tmp_path), 0.1)


def test_an_encoder_without_a_sample_rate_is_refused(tmp_path: Path) -> None:
    fsdd_like(tmp_path, speakers=("ann",), takes=1)
    encoder = MeanPoolAudio()
    del encoder.sample_rate
    with pytest.raises(ConfigError, match="has no sample_rate"):
        AUDIO.eval_dataset(f"{tmp_path}:digit", encoder, None, 0.0)


def test_embed_streams_clips_of_different_lengths(tmp_path: Path) -> None:
    from selfsup.eval.embed_output import read_embeddings
    from selfsup.eval.embed_run import EmbedOptions, embed_to_folder

    fsdd_like(tmp_path / "clips", speakers=("ann",), takes=3)
    (tmp_path / "clips" / "2_ann_1.wav").write_bytes(b"RIFF")
    encoder = MeanPoolAudio()
    source = AUDIO.item_source(f"{tmp_path / 'clips'}:digit", encoder, None, 0.0)
    options = EmbedOptions(format="npy", part_size=4, batch_size=3, tty=False)
    checkpoint = {"path": "none", "sha256": "0" * 64}
    result = embed_to_folder(
        encoder.forward_features,
        source,
        tmp_path / "out",
        checkpoint,
        options,
        collate_items=AUDIO.collate,
    )
    ids, vectors, labels = read_embeddings(tmp_path / "out")
    assert result.rows == 8 and "2_ann_1.wav" not in ids and vectors.shape == (8, 4)
    assert labels is not None and labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    whole = torch.from_numpy(vectors[ids.index("0_ann_2.wav")])
    clip = source.read(ids.index("0_ann_2.wav"))["input"]
    with torch.no_grad():
        assert torch.allclose(whole, encoder.forward_features(clip[None])[0], atol=1e-6)


def test_same_width_pads_the_narrower_set_with_nan_only() -> None:
    from selfsup.nn.audio_padding import pad_clips

    narrow = pad_clips([torch.ones(3), torch.ones(5)])
    wide = pad_clips([torch.ones(8)])
    a, b = AUDIO.same_width(narrow, wide)
    assert a.shape == (2, 8) and b is wide
    assert clip_lengths(a).tolist() == [3, 5] and torch.isnan(a[:, 5:]).all()
    torch.testing.assert_close(a[:, :5], narrow, equal_nan=True)
    assert get_modality("image").same_width(narrow, wide) == (narrow, wide)
