import torch

from selfsup.nn.audio_padding import (
    clip_lengths,
    frames_of,
    lengths_mask,
    pad_clips,
    restore_padding,
    zero_padding,
)


def test_padding_carries_each_clips_length_through_elementwise_views():
    x = pad_clips([torch.ones(5), torch.ones(3), torch.ones(1)])
    assert x.shape == (3, 5)
    assert clip_lengths(x).tolist() == [5, 3, 1]
    assert clip_lengths(x * 0.5 + torch.randn(3, 5)).tolist() == [5, 3, 1]


def test_zero_padding_round_trips():
    x = pad_clips([torch.arange(4.0), torch.arange(2.0)], length=6)
    zeros, mask = zero_padding(x)
    assert not torch.isnan(zeros).any() and zeros[1, 2:].eq(0).all()
    assert torch.equal(torch.isnan(restore_padding(zeros, mask)), torch.isnan(x))


def test_a_clip_longer_than_the_batch_length_is_refused():
    try:
        pad_clips([torch.ones(7)], length=6)
    except ValueError as err:
        assert "7 samples" in str(err)
    else:
        raise AssertionError("expected a ValueError")


def test_frame_counts_follow_the_stft_convention():
    lengths = torch.tensor([0, 159, 160, 1000])
    assert frames_of(lengths, 400, 160).tolist() == [1, 1, 2, 7]
    assert frames_of(lengths, 400, 160, center=False).tolist() == [1, 1, 1, 4]
    assert lengths_mask(torch.tensor([2, 0]), 3).tolist() == [[True, True, False], [False] * 3]
