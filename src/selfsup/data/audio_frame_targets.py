"""A frame-label file (:mod:`selfsup.data.frame_labels`) matched to the clips of an audio source,
so each training item carries the labels of the frames its crop covers (HuBERT's targets).

Labels are per encoder frame: frame ``j`` of a clip reads samples from ``j * hop``. A crop that
starts at a multiple of ``hop`` (the source snaps its crops so) therefore begins at label
``start // hop``, and its frames are exactly the clip's frames from there on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from selfsup.data.frame_labels import FrameLabels, FrameLabelsError

# A clip's label count may differ from ``samples / hop`` by the encoder's receptive field
# (a few hops) but not by more: beyond this, the labels were made for other audio.
SLACK_HOPS = 8


@dataclasses.dataclass(frozen=True)
class FrameTargets:
    """Per-frame labels of a dataset's clips, in dataset order.

    Attributes:
        labels: int64, every clip's labels one after another.
        offsets: int64 ``[clips + 1]``: clip ``i`` owns ``labels[offsets[i]:offsets[i + 1]]``.
        hop: samples between frames (``sample_rate / frame_rate``).
        source: the file they came from (K, frame rate, features, path).
    """

    labels: torch.Tensor
    offsets: torch.Tensor
    hop: int
    source: FrameLabels

    @property
    def counts(self) -> torch.Tensor:
        """int64 ``[clips]``: labels per clip."""
        return self.offsets[1:] - self.offsets[:-1]

    def window(self, index: int, start: int, samples: int) -> torch.Tensor:
        """Labels of the frames of clip ``index`` read by its ``samples`` samples from sample
        ``start`` (a multiple of ``hop``): at most ``ceil(samples / hop)``, the clip's own
        count at the end."""
        if start % self.hop:
            raise ValueError(f"crop start {start} is not on a frame boundary (hop {self.hop})")
        begin, end = int(self.offsets[index]), int(self.offsets[index + 1])
        first = begin + start // self.hop
        return self.labels[first : min(end, first + -(-samples // self.hop))].clone()


def frame_targets_for(
    labels: FrameLabels, keys: Sequence[str], lengths: torch.Tensor, sample_rate: int
) -> FrameTargets:
    """Match ``labels`` to clips named ``keys`` of ``lengths`` samples at ``sample_rate``.

    One-line :class:`FrameLabelsError` when the rate gives no whole hop at ``sample_rate``, a
    clip has no labels, or a clip's label count does not fit its length.
    """
    where = labels.path or "frame labels"
    hop_exact = sample_rate / labels.frame_rate
    hop = round(hop_exact)
    if hop < 1 or abs(hop_exact - hop) > 1e-6 * hop_exact:
        raise FrameLabelsError(
            f"{where}: labels at {labels.frame_rate:g} frames/s do not fit {sample_rate} Hz "
            f"audio (no whole number of samples per frame)"
        )
    positions = {key: i for i, key in enumerate(labels.clips)}
    missing = [key for key in keys if key not in positions]
    if missing:
        raise FrameLabelsError(
            f"{where}: no labels for {len(missing)} of the {len(keys)} clips (first: "
            f"{missing[0]}); run selfsup cluster on this data"
        )
    chosen = torch.tensor([positions[key] for key in keys], dtype=torch.long)
    starts, ends = labels.offsets[chosen], labels.offsets[chosen + 1]
    counts = ends - starts
    expected = torch.div(lengths, hop, rounding_mode="floor")
    off = ((counts - expected).abs() > SLACK_HOPS) | (counts > expected + 1)
    if bool(off.any()):
        i = int(off.nonzero()[0])
        raise FrameLabelsError(
            f"{where}: clip '{keys[i]}' has {int(counts[i])} frame labels for "
            f"{int(lengths[i])} samples at {sample_rate} Hz (hop {hop}); were they made from "
            "other audio or at another sample rate?"
        )
    parts = [labels.labels[int(a) : int(b)] for a, b in zip(starts, ends, strict=True)]
    flat = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    return FrameTargets(flat, offsets, hop, labels)
