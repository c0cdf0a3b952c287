"""NTXentLoss in one process against a plain per-anchor loop in float64."""

from __future__ import annotations

import math

import pytest
import torch

from selfsup.losses import NTXentLoss


def loop_reference(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float) -> torch.Tensor:
    """-log(exp(s_ip / T) / sum_{k != i} exp(s_ik / T)), averaged over the 2N anchors."""
    views = torch.cat([z_a, z_b]).double()
    views = views / views.norm(dim=1, keepdim=True)
    two_n, n = views.shape[0], z_a.shape[0]
    total = views.new_zeros(())
    for i in range(two_n):
        p = (i + n) % two_n
        sims = [views[i] @ views[k] / temperature for k in range(two_n)]
        denominator = sum(torch.exp(sims[k]) for k in range(two_n) if k != i)
        total = total - torch.log(torch.exp(sims[p]) / denominator)
    return total / two_n


@pytest.mark.parametrize("n", [2, 5, 16])
@pytest.mark.parametrize("d", [3, 32])
@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
def test_loss_and_gradient_match_loop(n: int, d: int, temperature: float) -> None:
    gen = torch.Generator().manual_seed(1000 * n + d)
    z_a = torch.randn(n, d, generator=gen, requires_grad=True)
    z_b = torch.randn(n, d, generator=gen, requires_grad=True)
    loss = NTXentLoss(temperature=temperature, gather=True)(z_a, z_b)
    grad_a, grad_b = torch.autograd.grad(loss, [z_a, z_b])

    ref_a = z_a.detach().double().requires_grad_()
    ref_b = z_b.detach().double().requires_grad_()
    ref = loop_reference(ref_a, ref_b, temperature)
    ref_grad_a, ref_grad_b = torch.autograd.grad(ref, [ref_a, ref_b])

    assert loss.dtype == torch.float32 and loss.dim() == 0
    torch.testing.assert_close(loss.double(), ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(grad_a.double(), ref_grad_a, atol=1e-5, rtol=0)
    torch.testing.assert_close(grad_b.double(), ref_grad_b, atol=1e-5, rtol=0)


def multi_view_loop_reference(views: list[torch.Tensor], temperature: float) -> torch.Tensor:
    """Every view an anchor; mean over its V-1 positives of -log(exp(s_ip/T) / sum_{k!=i})."""
    z = torch.cat(views).double()
    z = z / z.norm(dim=1, keepdim=True)
    n, total, terms = views[0].shape[0], z.new_zeros(()), 0
    for i in range(z.shape[0]):
        sims = [z[i] @ z[k] / temperature for k in range(z.shape[0])]
        denominator = sum(torch.exp(sims[k]) for k in range(z.shape[0]) if k != i)
        for p in range(z.shape[0]):
            if p != i and p % n == i % n:
                total = total - torch.log(torch.exp(sims[p]) / denominator)
                terms += 1
    return total / terms


@pytest.mark.parametrize("v", [2, 3, 6])
@pytest.mark.parametrize("n", [2, 5])
def test_multi_view_loss_and_gradient_match_loop(v: int, n: int) -> None:
    gen = torch.Generator().manual_seed(10 * v + n)
    views = [torch.randn(n, 7, generator=gen, requires_grad=True) for _ in range(v)]
    loss = NTXentLoss(temperature=0.2)(*views)
    grads = torch.autograd.grad(loss, views)
    refs = [x.detach().double().requires_grad_() for x in views]
    ref = multi_view_loop_reference(refs, 0.2)
    ref_grads = torch.autograd.grad(ref, refs)
    torch.testing.assert_close(loss.double(), ref, atol=1e-5, rtol=0)
    for grad, ref_grad in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(grad.double(), ref_grad, atol=1e-5, rtol=0)


def test_views_of_different_shapes_raise() -> None:
    with pytest.raises(ValueError, match="same shape"):
        NTXentLoss()(torch.randn(4, 3), torch.randn(4, 3), torch.randn(3, 3))


def test_known_value_for_orthogonal_views() -> None:
    # Two samples, views exactly aligned, samples orthogonal: s_ip = 1, two negatives at 0.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = NTXentLoss(temperature=1.0)(z, 2 * z)
    expected = -math.log(math.e / (math.e + 2.0))
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_scale_invariant_and_symmetric_in_views() -> None:
    gen = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    loss = NTXentLoss(temperature=0.2)
    torch.testing.assert_close(loss(z_a, z_b), loss(3 * z_a, 0.5 * z_b))
    torch.testing.assert_close(loss(z_a, z_b), loss(z_b, z_a))


@pytest.mark.parametrize(
    ("shape_a", "shape_b", "match"),
    [
        ((4, 8), (4, 7), "same shape"),
        ((4, 8), (5, 8), "same shape"),
        ((4, 8, 1), (4, 8, 1), "2-D"),
        ((8,), (8,), "2-D"),
        ((0, 8), (0, 8), "empty batch"),
        ((1, 8), (1, 8), "at least 2 samples"),
    ],
)
def test_bad_inputs_raise_one_line_value_error(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match) as info:
        NTXentLoss()(torch.randn(shape_a), torch.randn(shape_b))
    assert "\n" not in str(info.value)


def test_integer_inputs_raise() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        NTXentLoss()(torch.ones(3, 2, dtype=torch.long), torch.ones(3, 2, dtype=torch.long))


@pytest.mark.parametrize("temperature", [0.0, -0.1, float("nan")])
def test_bad_temperature_raises(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be > 0"):
        NTXentLoss(temperature=temperature)
