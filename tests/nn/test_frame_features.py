"""MFCC rows at an encoder's frames: one per frame, the STFT frame nearest its centre; deltas."""

from __future__ import annotations

import torch

from selfsup.nn.audio_features import MFCC
from selfsup.nn.audio_padding import pad_clips
from selfsup.nn.frame_features import EncoderFrameMFCC, deltas


def test_deltas_are_the_slope_inside_and_flat_at_repeated_edges() -> None:
    ramp = torch.arange(10.0)[:, None] * torch.tensor([[1.0, -2.0]])
    d = deltas(ramp)
    assert torch.allclose(d[2:-2], torch.tensor([[1.0, -2.0]]).expand(6, -1))
    assert d[0, 0] < 1.0 and d[-1, 0] < 1.0  # the edges repeat, so the slope flattens there
    assert torch.equal(deltas(torch.ones(5, 3)), torch.zeros(5, 3))


def test_rows_follow_the_encoder_frames() -> None:
    gen = torch.Generator().manual_seed(0)
    clips = [torch.randn(1600, generator=gen), torch.randn(900, generator=gen)]
    x = pad_clips(clips)
    frames = torch.tensor([7, 4])  # (samples - 400) // 160 + 1
    feats = EncoderFrameMFCC(8000, hop=160, field=400)
    rows = feats(x, frames)
    assert [r.shape for r in rows] == [(7, 39), (4, 39)]
    reference, _ = MFCC(8000, n_mfcc=13, n_mels=40, n_fft=200, hop_length=160)(x[:1, :1600])
    shift = round(400 / (2 * 160))  # the STFT frame centred nearest sample j * 160 + 200
    assert torch.allclose(rows[0][:, :13], reference[0, :, shift : shift + 7].T, atol=1e-5)
    # A clip's rows do not depend on what it was batched with.
    alone = feats(pad_clips(clips[1:]), frames[1:])[0]
    assert torch.allclose(alone, rows[1], atol=1e-5)
