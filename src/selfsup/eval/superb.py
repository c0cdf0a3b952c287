"""The SUPERB probe: a learned softmax-weighted sum of every layer of a frozen encoder, then a
linear head (Yang et al., 2021, the utterance-level tasks: keyword and speaker identification).

Each clip's layers (the input to the first transformer block where it can be read, then every
block's output, the last one through the encoder's closing norm as its final features are) are
mean-pooled over its real frames once; pooling is linear, so the weighted
sum of pooled layers equals pooling the weighted sum of frames, and the features can be cached
as ``[N, L * D]``. Each layer is standardised with the training clips' statistics (so one
learning rate suits layers of different scales), the layer weights start equal, and the probe
trains with AdamW on a cosine schedule, keeping the epoch of best accuracy on a stratified
validation share of train.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.eval.features import Features
from selfsup.eval.linear import stratified_split


def mean_of_real(tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``tokens [B, N, D]`` averaged over the positions where ``valid [B, N]`` is True
    (whatever the others hold, NaN included)."""
    w = valid.to(tokens.dtype)[..., None]
    real = tokens.masked_fill(~valid[..., None], 0.0)
    return real.sum(1) / w.sum(1).clamp(min=1.0)


def _first_block(encoder: nn.Module) -> nn.Module | None:
    """The first transformer block, whose input is the layer before every block (if any)."""
    blocks = getattr(getattr(encoder, "transformer", None), "blocks", None)
    return blocks[0] if isinstance(blocks, nn.ModuleList) and len(blocks) else None


def layer_names(encoder: nn.Module, num_layers: int) -> list[str]:
    """Names of the ``num_layers`` layers :func:`pooled_layers` returns: ``input`` (before the
    first block, where it can be read), then ``block1`` ... (or ``features``, or ``layerN``)."""
    if not callable(getattr(encoder, "forward_block_outputs", None)) and num_layers == 1:
        return ["features"]
    if _first_block(encoder) is not None:
        return ["input", *(f"block{i}" for i in range(1, num_layers))]
    return [f"layer{i}" for i in range(num_layers)]


def pooled_layers(
    encoder: nn.Module, preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from a raw batch to its clips' pooled layers, flattened ``[B, L * D]``.

    ``encoder`` gives ``forward_block_outputs`` and ``valid_tokens`` (audio backbones); one
    without them (e.g. MFCC statistics) is a single layer, its ``forward_features``.
    ``preprocess``: the method's deterministic eval input, applied first.
    """
    prep = preprocess or (lambda x: x)
    blocks = getattr(encoder, "forward_block_outputs", None)
    if not callable(blocks):

        def single(x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = encoder.forward_features(prep(x))  # type: ignore[operator]
            return out

        return single

    def layers(x: torch.Tensor) -> torch.Tensor:
        x = prep(x)
        seen: list[torch.Tensor] = []
        first = _first_block(encoder)
        hook = None
        if first is not None:
            hook = first.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        try:
            outputs = blocks(x)
        finally:
            if hook is not None:
                hook.remove()
        valid = encoder.valid_tokens(x)  # type: ignore[operator]
        finish = getattr(getattr(encoder, "transformer", None), "finish", None)
        if callable(finish):  # pre-LN stacks: the last layer is the normed final output
            outputs = [*outputs[:-1], finish(outputs[-1])]
        stacked = [mean_of_real(h, valid) for h in [*seen[:1], *outputs]]
        return torch.stack(stacked, dim=1).flatten(1)

    return layers


class WeightedLayers(nn.Module):
    """``[B, L, D]`` -> ``[B, D]``: the sum of layers weighted by ``softmax(logits)``."""

    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(num_layers))  # equal weights to start

    def weights(self) -> torch.Tensor:
        """The layer weights (non-negative, summing to 1)."""
        return self.logits.softmax(dim=0)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        return torch.einsum("l,bld->bd", self.weights(), layers)


class SuperbHead(nn.Module):
    """Per-layer standardisation, the weighted sum, and a linear classifier."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, num_classes: int) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.mix = WeightedLayers(mean.shape[0])
        self.linear = nn.Linear(mean.shape[1], num_classes)

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        return self.linear(self.mix((layers - self.mean) / self.std))


@dataclasses.dataclass(frozen=True)
class SuperbResult:
    """Test accuracy of the best-validation epoch, and the layer weights it learned."""

    test_accuracy: float
    val_accuracy: float
    best_epoch: int
    layer_weights: list[float]


def superb_probe(
    train: Features,
    test: Features,
    num_layers: int,
    epochs: int = 100,
    lr: float = 1e-2,
    weight_decay: float = 1e-4,
    batch_size: int = 128,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> SuperbResult:
    """Fit the probe on ``train``'s pooled layers (``[N, L * D]``), score it on ``test``."""
    if num_layers < 1 or train.dim % num_layers or test.dim != train.dim:
        raise ValueError(f"features of dim {train.dim} do not split into {num_layers} layers")
    if int(train.labels.min()) < 0 or int(test.labels.min()) < 0:
        raise ValueError("the SUPERB probe needs a label >= 0 for every clip")
    x = train.features.reshape(len(train), num_layers, -1)
    xt = test.features.reshape(len(test), num_layers, -1)
    y, yt = train.labels, test.labels
    fit, val = stratified_split(y, val_fraction, seed)
    torch.manual_seed(seed)
    std = x[fit].std(0, unbiased=False).clamp(min=1e-6)
    head = SuperbHead(x[fit].mean(0), std, int(max(y.max(), yt.max())) + 1)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(fit) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    gen = torch.Generator().manual_seed(seed)
    best: tuple[float, int, dict[str, Any]] = (-1.0, -1, {})
    for epoch in range(epochs):
        head.train()
        order = fit[torch.randperm(len(fit), generator=gen)]
        for b0 in range(0, len(order), batch_size):
            idx = order[b0 : b0 + batch_size]
            loss = F.cross_entropy(head(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = _accuracy(head, x[val], y[val])
        if acc > best[0]:
            best = (acc, epoch, copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[2])
    return SuperbResult(
        test_accuracy=_accuracy(head, xt, yt),
        val_accuracy=best[0],
        best_epoch=best[1],
        layer_weights=[float(w) for w in head.mix.weights().detach()],
    )


@torch.no_grad()
def _accuracy(head: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    head.eval()
    return float((head(x).argmax(1) == y).float().mean()) if len(y) else 0.0
