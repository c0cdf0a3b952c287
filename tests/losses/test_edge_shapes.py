"""Every loss of selfsup.losses on edge shapes: a batch of one, duplicated rows, identical
embeddings and extreme temperatures give a finite loss and finite gradients, or a ValueError
in one line; never a silent NaN."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from selfsup.losses.barlow_twins import BarlowTwinsLoss
from selfsup.losses.clip import ClipLoss
from selfsup.losses.colorization import RebalancedColorLoss
from selfsup.losses.dino import DINOLoss
from selfsup.losses.hole_reconstruction import HoleReconstructionLoss
from selfsup.losses.hubert import frame_cross_entropy
from selfsup.losses.ibot import IBOTPatchLoss
from selfsup.losses.info_nce import InfoNCELoss
from selfsup.losses.koleo import KoLeoLoss
from selfsup.losses.mae import MAELoss
from selfsup.losses.neg_cosine import NegativeCosineSimilarity
from selfsup.losses.nt_xent import NTXentLoss
from selfsup.losses.swav import SwAVLoss
from selfsup.losses.vicreg import VICRegLoss
from selfsup.losses.wav2vec2 import Wav2Vec2Loss

D = 8  # embedding width (and the number of classes, bins or prototypes)
N = 3  # patches or frames per sample
T = torch.Tensor

# (z_a, z_b [B, D], temperature or None for the loss's default) -> the loss.
LossCall = Callable[[T, T, float | None], T]


def _temp(t: float | None, default: float) -> float:
    return default if t is None else t


def _seq(z: T) -> T:
    """``[B, D]`` -> ``[B, N, D]``: each sample's rows, the later ones shifted a little."""
    return torch.stack([z + 0.1 * i for i in range(N)], dim=1)


def _mask(batch: int) -> torch.Tensor:
    return torch.ones(batch, N, dtype=torch.bool)


def _colorization(z_a: T, z_b: T, t: float | None) -> T:
    bins = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(2.0), indexing="ij"), -1)
    loss = RebalancedColorLoss(10.0 * bins.reshape(-1, 2))  # D = 8 bins
    ab = 20.0 * torch.tanh(z_b[:, :2, None, None])  # [B, 2, 1, 1]
    return loss(z_a[:, :, None, None], ab)[0]


def _hubert(z_a: T, z_b: T, t: float | None) -> T:
    targets = z_b.detach().argmax(-1)[:, None].expand(-1, N)  # [B, N]
    return frame_cross_entropy(_seq(z_a), targets, _mask(z_a.shape[0]))[0].mean()


def _hole_reconstruction(z_a: T, z_b: T, t: float | None) -> T:
    hole = torch.ones(z_a.shape[0], 1, 1, D, dtype=torch.bool)  # every pixel, no band
    image_a, image_b = z_a[:, None, None], z_b[:, None, None].detach()  # [B, 1, 1, D]
    return HoleReconstructionLoss()(image_a, image_b, hole, torch.zeros_like(hole))


def _wav2vec2(z_a: T, z_b: T, t: float | None) -> T:
    loss = Wav2Vec2Loss(num_distractors=2, temperature=_temp(t, 0.1))
    generator = torch.Generator().manual_seed(0)
    terms = loss(_seq(z_a), _seq(z_b), _mask(z_a.shape[0]), generator=generator)
    return terms.total


LOSSES: dict[str, tuple[LossCall, bool]] = {  # name -> (call, whether it has a temperature)
    "nt_xent": (lambda a, b, t: NTXentLoss(_temp(t, 0.5), gather=False)(a, b), True),
    "info_nce": (lambda a, b, t: InfoNCELoss(_temp(t, 0.2), gather=False)(a, b), True),
    "clip": (
        lambda a, b, t: ClipLoss(gather=False)(a, b, torch.tensor(1 / _temp(t, 0.07))).loss,
        True,
    ),
    "dino": (lambda a, b, t: DINOLoss(_temp(t, 0.1))([a, b], [F.softmax(b.detach(), -1)]), True),
    "ibot": (
        lambda a, b, t: IBOTPatchLoss(_temp(t, 0.1))(
            _seq(a), F.softmax(_seq(b).detach(), -1), _mask(a.shape[0])
        ),
        True,
    ),
    "swav": (lambda a, b, t: SwAVLoss(_temp(t, 0.1))([a, b], [F.softmax(b.detach(), -1)]), True),
    "wav2vec2": (_wav2vec2, True),
    "barlow_twins": (lambda a, b, t: BarlowTwinsLoss(gather=False)(a, b), False),
    "vicreg": (lambda a, b, t: VICRegLoss(gather=False)(a, b), False),
    "neg_cosine": (lambda a, b, t: NegativeCosineSimilarity()(a, b), False),
    "koleo": (lambda a, b, t: KoLeoLoss()(a), False),
    "mae": (lambda a, b, t: MAELoss()(_seq(a), _seq(b).detach(), _mask(a.shape[0])), False),
    "hole_reconstruction": (_hole_reconstruction, False),
    "colorization": (_colorization, False),
    "hubert": (_hubert, False),
}


def _edge_inputs(edge: str) -> tuple[T, T]:
    """The two views' embeddings ``[B, D]`` of an edge case."""
    gen = torch.Generator().manual_seed(0)
    if edge == "batch-of-one":
        return torch.randn(1, D, generator=gen), torch.randn(1, D, generator=gen)
    if edge == "duplicated-rows":  # rows 0 and 1 the same, and 2 and 3, in each view
        a, b = torch.randn(2, D, generator=gen), torch.randn(2, D, generator=gen)
        return a.repeat_interleave(2, 0), b.repeat_interleave(2, 0)
    if edge == "identical-embeddings":  # every row of both views the same vector
        row = torch.randn(1, D, generator=gen)
        return row.expand(4, D).clone(), row.expand(4, D).clone()
    return torch.randn(4, D, generator=gen), torch.randn(4, D, generator=gen)


TEMPERATURES = {"temperature-1e-6": 1e-6, "temperature-1e6": 1e6}
CASES = [
    pytest.param(name, edge, id=f"{name}-{edge}")
    for name, (_, tempered) in LOSSES.items()
    for edge in ["batch-of-one", "duplicated-rows", "identical-embeddings"]
    + (list(TEMPERATURES) if tempered else [])
]


def test_every_loss_module_is_covered() -> None:
    import pkgutil

    import selfsup.losses

    modules = {m.name for m in pkgutil.iter_modules(selfsup.losses.__path__)}
    assert modules - {"decorrelation"} == set(LOSSES)  # decorrelation: helpers, not a loss


@pytest.mark.parametrize(("name", "edge"), CASES)
def test_a_loss_on_an_edge_case_is_finite_or_a_one_line_value_error(name: str, edge: str) -> None:
    call, _ = LOSSES[name]
    z_a, z_b = (z.requires_grad_() for z in _edge_inputs(edge))
    try:
        loss = call(z_a, z_b, TEMPERATURES.get(edge))
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert loss.ndim == 0 and torch.isfinite(loss), f"{name} on {edge}: {loss}"
    loss.backward()
    for z in (z_a, z_b):
        if z.grad is not None:
            assert torch.isfinite(z.grad).all(), f"{name} on {edge}: gradient {z.grad}"


@pytest.mark.parametrize("name", ["nt_xent", "info_nce", "clip"])
def test_a_contrastive_loss_without_negatives_says_so(name: str) -> None:
    z_a, z_b = _edge_inputs("batch-of-one")  # alone, the loss would be 0 and train nothing
    with pytest.raises(ValueError, match=r"at least 2 (samples|pairs) in the global batch"):
        LOSSES[name][0](z_a, z_b, None)
