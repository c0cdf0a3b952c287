"""GumbelVectorQuantizer: temperature schedule, straight-through choice, perplexities."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from selfsup.nn.gumbel_quantizer import GumbelVectorQuantizer, gumbel_hard, perplexity


def quantizer(**kwargs: object) -> GumbelVectorQuantizer:
    torch.manual_seed(0)
    args = {"in_dim": 8, "groups": 2, "codewords": 16, "codevector_dim": 12, "out_dim": 6}
    return GumbelVectorQuantizer(**{**args, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("steps", [0, 1, 10, 1000, 250_000, 277_258, 1_000_000])
def test_temperature_follows_its_schedule_exactly(steps: int) -> None:
    q = quantizer()
    q.record_step(steps)
    assert q.temperature == max(2.0 * 0.999995**steps, 0.5)
    assert q.temperature == q.temperature_at(steps)


def test_temperature_survives_a_state_dict_round_trip() -> None:
    q = quantizer()
    q.record_step(123_456)
    fresh = quantizer()
    assert fresh.temperature == 2.0
    fresh.load_state_dict(q.state_dict())
    assert fresh.temperature == q.temperature == 2.0 * 0.999995**123_456
    x = torch.randn(2, 5, 8)
    assert q.train()(x, generator=torch.Generator().manual_seed(0)).temperature == q.temperature


def test_gumbel_hard_is_one_hot_with_the_tempered_soft_gradient() -> None:
    logits = torch.randn(7, 5, requires_grad=True)
    weights = torch.randn(7, 5)
    grads = {}
    for tau in (2.0, 0.5):
        out = gumbel_hard(logits, tau, torch.Generator().manual_seed(1))
        assert torch.equal(out.detach().sum(-1), torch.ones(7))
        assert set(out.detach().unique().tolist()) <= {0.0, 1.0}
        (g,) = torch.autograd.grad((out * weights).sum(), logits)
        # the same noise by hand, from the same seed
        u = torch.rand(7, 5, generator=torch.Generator().manual_seed(1))
        soft = F.softmax((logits - torch.log(-torch.log(u))) / tau, -1)
        (ref,) = torch.autograd.grad((soft * weights).sum(), logits)
        torch.testing.assert_close(g, ref)
        grads[tau] = g
    assert not torch.allclose(grads[2.0], grads[0.5])


def test_eval_picks_the_argmax_codewords_and_projects_them() -> None:
    q = quantizer(out_dim=None).eval()
    x = torch.randn(3, 4, 8)
    out = q(x)
    codes = q.logits(x).view(3, 4, 2, 16).argmax(-1)
    assert torch.equal(out.codes, codes)
    expected = torch.cat([q.codebooks[g][codes[..., g]] for g in range(2)], dim=-1)
    torch.testing.assert_close(out.quantized, expected)
    assert out.quantized.shape == (3, 4, 12)


def test_training_output_reaches_the_logits_through_the_straight_through_path() -> None:
    q = quantizer().train()
    out = q(torch.randn(2, 5, 8), generator=torch.Generator().manual_seed(0))
    assert out.quantized.shape == (2, 5, 6) and out.codes.shape == (2, 5, 2)
    out.quantized.square().sum().backward()
    assert q.logits.weight.grad is not None and q.logits.weight.grad.abs().sum() > 0


def test_perplexities_count_only_the_selected_frames() -> None:
    q = quantizer().eval()
    x = torch.randn(2, 6, 8)
    frames = torch.zeros(2, 6, dtype=torch.bool)
    frames[0, :3] = frames[1, 4:] = True
    out = q(x, frames)
    chosen = x[frames]  # [5, 8]
    probs = F.softmax(q.logits(chosen).view(5, 2, 16), -1).mean(0)
    torch.testing.assert_close(out.prob_perplexity, perplexity(probs))
    hist = F.one_hot(q.logits(chosen).view(5, 2, 16).argmax(-1), 16).float().mean(0)
    torch.testing.assert_close(out.code_perplexity, perplexity(hist))
    torch.testing.assert_close(out.diversity_loss, (32 - perplexity(probs)) / 32)
    everything = q(x)
    assert not torch.allclose(everything.prob_perplexity, out.prob_perplexity)


def test_perplexity_bounds() -> None:
    uniform = torch.full((2, 16), 1 / 16)
    assert perplexity(uniform).item() == pytest.approx(32.0, rel=1e-5)
    one_code = F.one_hot(torch.tensor([3, 7]), 16).float()
    assert perplexity(one_code).item() == pytest.approx(2.0, rel=1e-5)


def test_diversity_loss_raises_perplexity_in_a_short_optimisation() -> None:
    q = quantizer(codewords=32).train()
    with torch.no_grad():  # start collapsed: every frame picks codeword 0 of each group
        q.logits.bias.view(2, 32)[:, 0] = 20.0
    x = torch.randn(4, 50, 8, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    first = q(x, generator=gen)
    assert first.prob_perplexity.item() < 2.5 and first.code_perplexity.item() < 2.5
    opt = torch.optim.Adam(q.parameters(), lr=0.1)
    for _ in range(60):
        out = q(x, generator=gen)
        opt.zero_grad()
        out.diversity_loss.backward()
        opt.step()
    last = q(x, generator=gen)
    assert last.prob_perplexity.item() > 20.0  # of at most 64
    assert last.code_perplexity.item() > 10.0
    assert last.diversity_loss.item() < first.diversity_loss.item()


def test_bad_arguments_are_one_clear_line() -> None:
    with pytest.raises(ValueError, match="divisible"):
        GumbelVectorQuantizer(8, groups=3, codevector_dim=10)
    with pytest.raises(ValueError, match="exponential_decay"):
        GumbelVectorQuantizer(8, temperature=(2.0, 0.5, 1.5))
    with pytest.raises(ValueError, match=r"\[B, N, C\]"):
        quantizer()(torch.randn(4, 8))
