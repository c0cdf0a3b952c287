"""How an audio batch carries its clips' lengths: trailing NaN padding.

A batch of clips is one float32 waveform ``[B, T]``; a clip shorter than the longest is padded
at its end with NaN. The padding therefore travels with the tensor itself: every function that
receives only the waveform (views, backbones, ``Method.embed``, feature extraction, fine-tuning,
an exported encoder) knows each clip's length without a second argument, and an element-wise
view (gain, noise) keeps the padding where it was. Decoding rejects clips holding NaN or inf,
so inside a batch NaN means padding and nothing else. Collate also stores ``length`` (int64
``[B]``) in the batch for code that prefers it.

Code that computes on the samples first takes ``zero_padding(x)``: the waveform with padding
set to 0 and the ``[B, T]`` mask of real samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

PAD_VALUE = float("nan")


def pad_clips(clips: Sequence[torch.Tensor], length: int | None = None) -> torch.Tensor:
    """Stack 1-D clips into ``[B, T]`` (``T``: the longest clip, or ``length``), NaN-padded.

    Clips longer than ``length`` raise: cropping is the data source's choice, not padding's.
    """
    if not clips:
        raise ValueError("pad_clips needs at least one clip")
    if any(c.ndim != 1 for c in clips):
        raise ValueError("audio clips must be 1-D waveforms")
    longest = max(int(c.shape[0]) for c in clips)
    total = longest if length is None else int(length)
    if longest > total:
        raise ValueError(f"a clip of {longest} samples does not fit a batch of {total}")
    out = torch.full((len(clips), total), PAD_VALUE, dtype=torch.float32)
    for row, clip in zip(out, clips, strict=True):
        row[: clip.shape[0]] = clip
    return out


def sample_mask(x: torch.Tensor) -> torch.Tensor:
    """``[B, T]`` bool, True at real samples (not padding)."""
    return ~torch.isnan(x)


def clip_lengths(x: torch.Tensor) -> torch.Tensor:
    """int64 ``[B]``: each clip's number of real samples."""
    return sample_mask(x).sum(dim=-1)


def zero_padding(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The waveform with padding replaced by 0, and the ``[B, T]`` mask of real samples."""
    mask = sample_mask(x)
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device)), mask


def restore_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x`` with NaN put back where ``mask`` is False (after a view computed on zeros)."""
    return torch.where(mask, x, torch.full((), PAD_VALUE, dtype=x.dtype, device=x.device))


def frames_of(lengths: torch.Tensor, window: int, hop: int, center: bool = True) -> torch.Tensor:
    """int64: the number of frames of ``window``/``hop`` whose centre (``center=True``, the
    STFT convention) or whole span lies within each clip's real samples; at least 1."""
    frames = lengths // hop + 1 if center else (lengths - window).clamp(min=0) // hop + 1
    return frames.clamp(min=1)


def lengths_mask(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """``[B, total]`` bool, True at positions below each row's length."""
    return torch.arange(total, device=lengths.device)[None, :] < lengths[:, None]
