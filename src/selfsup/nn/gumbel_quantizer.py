"""wav2vec 2.0's product quantizer: G groups of V codewords picked by a Gumbel softmax.

Each frame's features are projected to ``G * V`` logits; in training one codeword per group is
drawn with the straight-through hard Gumbel softmax (the forward pass uses the one-hot choice,
the backward pass the soft probabilities at the current temperature), in evaluation it is the
argmax. The chosen codewords of the groups are concatenated (``codevector_dim``) and projected.

The codebook's use is measured by perplexities over the selected frames of the GLOBAL batch
(every DDP rank's frames): the softmax probabilities averaged over frames give the
differentiable ``prob_perplexity`` (summed over groups, at most ``G * V``) behind the diversity
loss ``(G * V - prob_perplexity) / (G * V)``; the hard choices give ``code_perplexity``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.nn.gather import gather, gather_nograd, world_size
from selfsup.nn.step_counter import StepCounter
from selfsup.schedules import exponential_decay


@dataclasses.dataclass(frozen=True)
class Quantized:
    """What :class:`GumbelVectorQuantizer` returns for features ``[B, N, C]``.

    Attributes:
        quantized: ``[B, N, out_dim]`` the projected codevectors of every frame.
        codes: long ``[B, N, G]`` the codeword chosen in each group.
        prob_perplexity: scalar, differentiable: perplexity of the frame-averaged softmax.
        code_perplexity: scalar: perplexity of the codeword choices' histogram.
        diversity_loss: scalar ``(G * V - prob_perplexity) / (G * V)``.
        temperature: the Gumbel temperature this call used.
    """

    quantized: torch.Tensor
    codes: torch.Tensor
    prob_perplexity: torch.Tensor
    code_perplexity: torch.Tensor
    diversity_loss: torch.Tensor
    temperature: float


def gumbel_hard(
    logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Straight-through hard Gumbel softmax over the last dim: one-hot forward, the gradient of
    ``softmax((logits + gumbel_noise) / temperature)`` backward."""
    device = generator.device if generator is not None else logits.device
    u = torch.rand(logits.shape, generator=generator, device=device).to(logits.device)
    tiny = torch.finfo(u.dtype).tiny
    exponential = -torch.log(u.clamp(min=tiny))  # Exp(1), > 0
    noise = -torch.log(exponential.clamp(min=tiny))  # Gumbel(0, 1)
    soft = F.softmax((logits + noise.to(logits.dtype)) / temperature, dim=-1)
    hard = F.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def perplexity(probs: torch.Tensor) -> torch.Tensor:
    """``exp(entropy)`` of each group's distribution ``[G, V]``, summed over groups."""
    return torch.exp(-(probs * torch.log(probs + 1e-7)).sum(-1)).sum()


class GumbelVectorQuantizer(nn.Module):
    """Product quantizer with Gumbel-softmax codeword choice (Baevski et al. 2020, sec. 2).

    The temperature is ``max(start * decay ** steps, floor)`` where ``steps`` is the optimizer
    steps done, held in a saved counter: the method calls :meth:`record_step` from its
    ``on_step_end``, so a resumed run continues the schedule where it stopped.

    Args:
        in_dim: feature size ``C`` of the frames to quantize.
        groups: codebooks ``G`` (2).
        codewords: entries ``V`` per codebook (320).
        codevector_dim: size of the concatenated codevector (divisible by ``groups``; 256 base).
        out_dim: output projection size (the contrastive space); None: no projection.
        temperature: ``(start, floor, decay per step)``, (2, 0.5, 0.999995) in the paper.
    """

    def __init__(
        self,
        in_dim: int,
        groups: int = 2,
        codewords: int = 320,
        codevector_dim: int = 256,
        out_dim: int | None = None,
        temperature: tuple[float, float, float] = (2.0, 0.5, 0.999995),
    ) -> None:
        super().__init__()
        if in_dim < 1 or groups < 1 or codewords < 2:
            raise ValueError(
                f"GumbelVectorQuantizer needs in_dim >= 1, groups >= 1, codewords >= 2: "
                f"{in_dim}, {groups}, {codewords}"
            )
        if codevector_dim % groups:
            raise ValueError(f"codevector_dim {codevector_dim} is not divisible by {groups}")
        exponential_decay(0, *temperature)  # checks the schedule's numbers
        self.groups, self.codewords, self.schedule = groups, codewords, tuple(temperature)
        self.logits = nn.Linear(in_dim, groups * codewords)
        # fairseq's initialisation: unit-normal logit weights, zero bias, U(0, 1) codewords.
        nn.init.normal_(self.logits.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.logits.bias)
        self.codebooks = nn.Parameter(torch.rand(groups, codewords, codevector_dim // groups))
        self.project = nn.Linear(codevector_dim, out_dim) if out_dim else nn.Identity()
        self.counter = StepCounter()

    @property
    def num_codes(self) -> int:
        """``G * V``: the largest perplexity the codebooks can reach."""
        return self.groups * self.codewords

    @property
    def temperature(self) -> float:
        """The Gumbel temperature after the optimizer steps recorded so far."""
        return self.temperature_at(self.counter.count())

    def temperature_at(self, steps_done: int) -> float:
        """The schedule's temperature after ``steps_done`` optimizer steps."""
        return exponential_decay(steps_done, *self.schedule)

    def record_step(self, steps_done: int) -> None:
        """Store the optimizer steps done (call from ``Method.on_step_end``)."""
        self.counter.record(steps_done)

    def forward(
        self,
        features: torch.Tensor,
        frames: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Quantized:
        """Quantize ``features [B, N, C]``; perplexities over the ``frames`` (bool ``[B, N]``,
        e.g. the masked ones; all frames when None) of every rank."""
        if features.dim() != 3:
            raise ValueError(f"expected features [B, N, C], got {tuple(features.shape)}")
        batch, length, _ = features.shape
        if frames is None:
            frames = torch.ones(batch, length, dtype=torch.bool, device=features.device)
        if frames.shape != (batch, length):
            raise ValueError(f"frames must be [B, N] = {(batch, length)}, got {frames.shape}")
        logits = self.logits(features).float().view(batch, length, self.groups, self.codewords)
        codes = logits.argmax(-1)  # [B, N, G]
        temperature = self.temperature
        if self.training:
            onehot = gumbel_hard(logits, temperature, generator)  # [B, N, G, V]
        else:
            onehot = F.one_hot(codes, self.codewords).to(logits.dtype)
        chosen = onehot.argmax(-1) if self.training else codes
        codevectors = torch.einsum("bngv,gvd->bngd", onehot, self.codebooks.float())
        quantized = self.project(codevectors.reshape(batch, length, -1).to(features.dtype))
        prob_ppl, code_ppl = self._perplexities(logits, chosen, frames)
        diversity = (self.num_codes - prob_ppl) / self.num_codes
        return Quantized(quantized, chosen, prob_ppl, code_ppl, diversity, temperature)

    def _perplexities(
        self, logits: torch.Tensor, codes: torch.Tensor, frames: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weight = frames.to(logits.dtype)[..., None, None]  # [B, N, 1, 1]
        prob_sum = (F.softmax(logits, -1) * weight).sum((0, 1))  # [G, V]
        hits = F.one_hot(codes, self.codewords).to(logits.dtype)
        code_sum = (hits * weight).sum((0, 1)).detach()  # [G, V]
        count = frames.sum().to(logits.dtype).reshape(1)
        if world_size() > 1:
            # The differentiable gather sends each rank its share of the gradient (summed over
            # ranks), so the DDP-averaged gradient is the joined batch's.
            prob_sum = gather(prob_sum[None]).sum(0)
            code_sum = gather_nograd(code_sum[None]).sum(0)
            count = gather_nograd(count).sum().reshape(1)
        count = count.clamp(min=1.0)
        return perplexity(prob_sum / count), perplexity(code_sum / count)
