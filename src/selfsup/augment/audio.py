"""``AudioViews``: batched, on-device views of NaN-padded waveforms from ``AudioViewSpec`` s.

Input is the float32 ``[B, T]`` batch an audio source collates (clips padded at the end with
NaN, see ``selfsup.nn.audio_padding``); each spec gives one float32 view ``[B, T']`` that is
again a NaN-padded waveform: ``T'`` is the spec's crop (``crop_seconds``) or ``T``, a clip
shorter than the crop is kept whole and padded, and real samples never become NaN. Every
random parameter is drawn per clip from the ``generator`` passed to ``forward``, on the
batch's device, so a seed fixes the views (``sample_params`` + ``render`` expose the halves).

Why the SpecAugment masks act on the waveform and not on a spectrogram: every audio backbone
takes a waveform (the wav2vec-style encoder convolves it, the spectrogram transformer computes
its own log-mel inside), so views, export and evaluation all speak one input format and a view
never needs to know which front end follows. A time span set to zero is a time mask for any
front end; a band removed from the signal's spectrum (rfft over the clip's real samples, band
set to zero, irfft) leaves the log-mel channels over that band at their floor, which is the
frequency mask a log-mel front end sees.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from selfsup.augment import audio_ops
from selfsup.augment.audio_params import AudioViewParams, sample_audio_params, view_length
from selfsup.augment.audio_spec import AudioViewSpec
from selfsup.nn.audio_padding import clip_lengths, lengths_mask, restore_padding


class AudioViews(nn.Module):
    """Make one augmented view per ``AudioViewSpec`` of a waveform batch, whole batch at once.

    Per view: random crop, time shift, gain, additive noise at a random SNR, frequency masks,
    time masks (each skipped when its spec turns it off; skips depend on the spec only, never
    on drawn values, so nothing waits on the device). ``eval_view`` is the identity: whole
    clips, as the data source's evaluation items are.
    """

    def __init__(self, specs: Sequence[AudioViewSpec]) -> None:
        super().__init__()
        if not specs:
            raise ValueError("AudioViews needs at least one AudioViewSpec")
        if len({s.sample_rate for s in specs}) != 1:
            raise ValueError("every AudioViewSpec of one AudioViews needs the same sample_rate")
        self.specs = list(specs)

    @property
    def num_views(self) -> int:
        """How many views ``forward`` returns."""
        return len(self.specs)

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the recipe's durations and frequencies are converted at."""
        return self.specs[0].sample_rate

    @torch.no_grad()
    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """One NaN-padded float32 view per spec of the waveform batch ``x``."""
        self._check_input(x, generator)
        return self.render(x, self.sample_params(clip_lengths(x), x.shape[1], generator))

    def sample_params(
        self, lengths: torch.Tensor, total: int, generator: torch.Generator | None = None
    ) -> list[AudioViewParams]:
        """Draw every view's parameters for clips of ``lengths`` samples in a batch of ``total``."""
        return [sample_audio_params(s, lengths, total, generator) for s in self.specs]

    @torch.no_grad()
    def render(self, x: torch.Tensor, params: Sequence[AudioViewParams]) -> list[torch.Tensor]:
        """Apply given parameters (one ``AudioViewParams`` per spec) to the batch ``x``."""
        self._check_input(x, None)
        if len(params) != len(self.specs):
            raise ValueError(f"got {len(params)} AudioViewParams for {len(self.specs)} views")
        return [self._render_one(x, s, p) for s, p in zip(self.specs, params, strict=True)]

    @torch.no_grad()
    def eval_view(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic view for feature extraction: the batch itself (whole clips)."""
        self._check_input(x, None)
        return x

    def _render_one(self, x: torch.Tensor, spec: AudioViewSpec, p: AudioViewParams) -> torch.Tensor:
        v = x if spec.window is None else audio_ops.crop(x, p.offset, spec.window)
        mask = lengths_mask(p.lengths, view_length(spec, x.shape[1]))
        v = torch.where(mask, v, 0.0)
        if spec.shift_p > 0 and spec.shift_seconds > 0:
            v = audio_ops.time_shift(v, p.lengths, p.shift, spec.shift_mode == "circular")
        if spec.gain_p > 0:
            v = audio_ops.apply_gain(v, p.gain_db)
        if p.noise is not None:
            coloured = spec.noise_exponent != (0.0, 0.0)
            exponent = p.noise_exponent if coloured else None
            v = audio_ops.add_noise(v, mask, p.noise, p.snr_db, exponent, p.noise_on)
        if spec.freq_masks > 0 and spec.freq_mask_width > 0:
            v = audio_ops.frequency_masks(v, p.lengths, p.freq_lo, p.freq_hi, spec.sample_rate)
        if spec.time_masks > 0 and spec.time_mask_ms > 0:
            v = audio_ops.time_masks(v, p.time_start, p.time_width)
        return restore_padding(v, mask)

    def _check_input(self, x: object, generator: torch.Generator | None) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"AudioViews expects a float waveform [B, T], got {type(x).__name__}")
        if not x.is_floating_point():
            raise ValueError(f"AudioViews expects float waveforms, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"AudioViews expects waveforms [B, T], got shape {tuple(x.shape)}")
        if generator is not None and generator.device.type != x.device.type:
            raise ValueError(
                f"generator is on {generator.device} but the waveforms are on {x.device}"
            )
