"""AudioViews as a whole: per-sample parameters fixed by the seed, crops inside real samples,
NaN padding kept, odd batches, the recipes and their arguments."""

from __future__ import annotations

import pytest
import torch

from selfsup.augment import AUGMENTS, AudioViews, AudioViewSpec, create_augment
from selfsup.nn.audio_padding import clip_lengths, pad_clips

RATE = 8000
EVERYTHING = AudioViewSpec(
    sample_rate=RATE,
    shift_p=1.0,
    shift_seconds=0.2,
    gain_p=1.0,
    noise_p=1.0,
    noise_exponent=(0.0, 2.0),
    time_masks=2,
    time_mask_ms=40.0,
    freq_masks=2,
    freq_mask_width=300.0,
)


def noise_clips(lengths: list[int], seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return pad_clips([torch.randn(n, generator=gen) for n in lengths])


def counting_clips(lengths: list[int]) -> torch.Tensor:
    """Clip values 1, 2, 3, ...: a view's values name the source samples they came from."""
    return pad_clips([torch.arange(1, n + 1, dtype=torch.float32) for n in lengths])


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_parameters_differ_per_clip_and_repeat_with_the_seed() -> None:
    views = AudioViews([EVERYTHING])
    lengths = torch.full((16,), 12000)
    a, b, c = (views.sample_params(lengths, 12000, gen(s))[0] for s in (1, 1, 2))
    for name in ("shift", "gain_db", "snr_db", "noise_exponent", "time_start", "freq_lo"):
        drawn = getattr(a, name)
        assert torch.equal(drawn, getattr(b, name)), name
        assert not torch.equal(drawn, getattr(c, name)), name
        assert drawn.reshape(16, -1).unique(dim=0).shape[0] > 8, name  # not one value for all
    x = noise_clips([12000] * 16)
    assert torch.equal(views(x, gen(5))[0], views(x, gen(5))[0])


def test_crops_lie_inside_real_samples_and_short_clips_stay_whole() -> None:
    lengths = [20000, 8000, 3000, 12345]
    x = counting_clips(lengths)
    views = AudioViews([AudioViewSpec(sample_rate=RATE, crop_seconds=1.0)])
    p = views.sample_params(clip_lengths(x), x.shape[1], gen(0))[0]
    (v,) = views.render(x, [p])
    assert v.shape == (4, RATE)
    for row, n, off in zip(v, lengths, p.offset.tolist(), strict=True):
        real = row[~torch.isnan(row)]
        kept = min(n, RATE)
        assert real.shape[0] == kept and torch.isnan(row[kept:]).all()
        # A contiguous stretch of the clip's own samples, starting at the drawn offset.
        assert torch.equal(real, torch.arange(off + 1, off + kept + 1, dtype=torch.float32))
        assert 0 <= off <= n - kept


def test_crop_offsets_cover_the_clip() -> None:
    views = AudioViews([AudioViewSpec(sample_rate=RATE, crop_seconds=0.5)])
    p = views.sample_params(torch.full((2000,), 3 * RATE), 3 * RATE, gen(0))[0]
    slack = 3 * RATE - RATE // 2
    assert int(p.offset.min()) < 0.02 * slack and int(p.offset.max()) > 0.98 * slack


def test_a_crop_longer_than_the_batch_pads_every_clip_to_it() -> None:
    x = counting_clips([3000, 2000])
    (v,) = AudioViews([AudioViewSpec(sample_rate=RATE, crop_seconds=0.5)])(x, gen(0))
    assert v.shape == (2, 4000)
    assert torch.equal(clip_lengths(v), torch.tensor([3000, 2000]))
    assert torch.equal(v[0, :3000], x[0, :3000])


@pytest.mark.parametrize("crop", [None, 1.0])
def test_padding_stays_nan_and_real_samples_never_become_nan(crop: float | None) -> None:
    spec = AudioViewSpec(**{**EVERYTHING.__dict__, "crop_seconds": crop})
    x = noise_clips([16000, 5000, 9001, 700, 12000])
    views = AudioViews([spec, spec])
    params = views.sample_params(clip_lengths(x), x.shape[1], gen(3))
    for v, p in zip(views.render(x, params), params, strict=True):
        expected = torch.arange(v.shape[1])[None, :] < p.lengths[:, None]
        assert torch.equal(~torch.isnan(v), expected)
        assert torch.isfinite(v[expected]).all()
        if crop is None:
            assert torch.equal(torch.isnan(v), torch.isnan(x))


@pytest.mark.parametrize("lengths", [[9000], [6000] * 5])
def test_a_single_clip_and_equal_length_batches(lengths: list[int]) -> None:
    x = noise_clips(lengths)
    for name in ("audio_contrastive", "audio_multicrop", "audio_crop"):
        views = create_augment(name, sample_rate=RATE)
        out = views(x, gen(0))
        assert len(out) == views.num_views
        for v in out:
            assert v.shape[0] == len(lengths) and not torch.isnan(v[:, :6000]).any()


def test_silent_clips_stay_silent_and_finite() -> None:
    x = pad_clips([torch.zeros(8000), torch.randn(8000)])
    (v,) = AudioViews([EVERYTHING])(x, gen(0))
    assert torch.equal(v[0], torch.zeros(8000)) and torch.isfinite(v).all()


def test_eval_view_is_the_whole_batch() -> None:
    x = noise_clips([8000, 3000])
    out = create_augment("audio_contrastive", sample_rate=RATE).eval_view(x)
    assert torch.allclose(out, x, rtol=0, atol=0, equal_nan=True)


def test_views_leave_the_input_alone() -> None:
    x = noise_clips([8000, 3000])
    before = x.clone()
    create_augment("audio_multicrop", sample_rate=RATE)(x, gen(0))
    assert torch.allclose(x, before, rtol=0, atol=0, equal_nan=True)


def test_multicrop_groups_views_by_duration() -> None:
    views = create_augment(
        "audio_multicrop", sample_rate=RATE, crop_seconds=1.0, local_seconds=0.25, num_local=3
    )
    out = views(noise_clips([12000, 4000]), gen(0))
    assert [tuple(v.shape) for v in out] == [(2, 8000)] * 2 + [(2, 2000)] * 3


def test_recipes_take_yaml_shaped_arguments() -> None:
    args = {"sample_rate": RATE, "gain_db": [-3, 3], "snr_db": [5, 20], "freq_mask_scale": "mel"}
    AUGMENTS.validate("audio_contrastive", args, "augment")
    views = create_augment("audio_contrastive", **args)
    assert isinstance(views, AudioViews) and views.specs[0].gain_db == (-3.0, 3.0)
    AUGMENTS.validate("audio_crop", {"crop_seconds": None}, "augment")
    assert create_augment("audio_crop", crop_seconds=None, num_views=2).num_views == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sample_rate": 0}, "sample_rate"),
        ({"crop_seconds": 0.0}, "crop_seconds"),
        ({"gain_p": 1.5}, "gain_p"),
        ({"snr_db": (30.0, 10.0)}, "snr_db"),
        ({"snr_db": (1.0, 2.0, 3.0)}, "two values"),
        ({"time_masks": -1}, "time_masks"),
        ({"shift_mode": "wrap"}, "shift_mode"),
        ({"freq_mask_width": 5000.0}, "Nyquist"),
    ],
)
def test_bad_specs_fail_in_one_line(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AudioViewSpec(**{"sample_rate": RATE, **kwargs})  # type: ignore[arg-type]


def test_bad_input_fails_in_one_line() -> None:
    views = create_augment("audio_crop", sample_rate=RATE)
    with pytest.raises(ValueError, match="float"):
        views(torch.zeros(2, 100, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[B, T\]"):
        views(torch.zeros(2, 1, 100))
    with pytest.raises(ValueError, match="num_views"):
        create_augment("audio_crop", num_views=0)
    with pytest.raises(ValueError, match="num_local"):
        create_augment("audio_multicrop", num_local=-1)
