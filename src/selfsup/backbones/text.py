"""Text transformers: a pre-norm encoder (BERT-style) and a causal decoder (GPT-style).

Both take ``[B, T]`` token ids from the tokenizer they are built with (any
:class:`~selfsup.backbones.text_tokenizer.Tokenizer`; in practice data's ``TextTokenizer``);
padding is found by comparing ids with the tokenizer's pad id. Attention is
``scaled_dot_product_attention`` (``is_causal`` for the decoder). The tokenizer's JSON rides
in the module's extra state, so every checkpoint of a text run carries its vocabulary.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from selfsup.backbones.base import Backbone
from selfsup.backbones.registry import register_backbone
from selfsup.backbones.text_tokenizer import Tokenizer

Positions = Literal["learned", "rotary"]
Pool = Literal["mean", "cls", "last"]
SIZES = {"tiny": (128, 4, 4), "small": (256, 6, 8)}  # (dim, depth, heads)


def rotary_tables(t: int, head_dim: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """cos / sin tables ``[T, head_dim / 2]`` for rotary position embeddings."""
    inv = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    angles = torch.outer(torch.arange(t, device=device).float(), inv)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs of ``x [B, H, T, Dh]`` by position-dependent angles."""
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)


class Block(nn.Module):
    """Pre-norm block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout)
        )

    def forward(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None,
        causal: bool,
        rotary: tuple[torch.Tensor, ...] | None,
    ) -> torch.Tensor:
        b, t, d = x.shape
        # [B, T, 3D] -> 3 x [B, H, T, Dh]
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        if rotary is not None:
            q, k = apply_rotary(q, *rotary), apply_rotary(k, *rotary)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=p, is_causal=causal and attn_mask is None
        )
        x = x + F.dropout(self.proj(y.transpose(1, 2).reshape(b, t, d)), p, self.training)
        return x + self.mlp(self.norm2(x))


class TextTransformer(Backbone):
    """Token embedding + pre-norm blocks + final LayerNorm; ``causal`` makes it a decoder.

    ``forward_tokens`` gives ``[B, T, D]``; ``forward_features`` pools non-pad tokens
    (``pool``: mean, the first token, or the last non-pad token) to ``[B, D]``.
    """

    modality = "text"
    has_tokens = True

    def __init__(
        self,
        tokenizer: Tokenizer,
        dim: int,
        depth: int,
        heads: int,
        causal: bool,
        max_len: int = 512,
        positions: Positions = "learned",
        pool: Pool = "mean",
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.feature_dim = dim
        self.depth = depth
        self.causal = causal
        self.max_len = max_len
        self.pool = pool
        self.token_embedding = nn.Embedding(tokenizer.vocab_size, dim)
        self.pos_embedding = (
            nn.Parameter(torch.zeros(1, max_len, dim)) if positions == "learned" else None
        )
        self.head_dim = dim // heads
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.apply(_init_weights)
        if self.pos_embedding is not None:
            nn.init.normal_(self.pos_embedding, std=0.02)

    @property
    def pad_id(self) -> int:
        """The tokenizer's pad id."""
        return self.tokenizer.pad_id

    def fit_context(self, ids: torch.Tensor) -> torch.Tensor:
        """``ids [B, T]`` cut to the first ``max_len``: a data source's LM windows hold
        ``seq_len + 1`` ids (the last one only a next-token target), one more than a model
        built with ``max_len = seq_len`` reads."""
        return ids[:, : self.max_len]

    def forward_layers(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """Hidden states after the embedding and after every block, each ``[B, T, D]``; the
        last one is normalised (it is what ``forward_tokens`` returns)."""
        if ids.ndim != 2 or ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"text backbones take [B, T] integer ids, got {ids.dtype} {tuple(ids.shape)}"
            )
        t = ids.shape[1]
        if t > self.max_len:
            raise ValueError(f"sequence length {t} exceeds the backbone's max_len {self.max_len}")
        x = self.token_embedding(ids)
        rotary = None
        if self.pos_embedding is not None:
            x = x + self.pos_embedding[:, :t]
        else:
            rotary = rotary_tables(t, self.head_dim, ids.device)
        attn_mask = self._attention_mask(ids)
        out = [x]
        for block in self.blocks:
            x = block(x, attn_mask, self.causal, rotary)
            out.append(x)
        out[-1] = self.norm(x)
        return out

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Final token features ``[B, T, D]``."""
        return self.forward_layers(x)[-1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``[B, D]`` of the last layer."""
        return self.pool_tokens(self.forward_tokens(x), x)

    def pool_tokens(self, tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Pool ``[B, T, D]`` over the non-pad positions of ``ids`` as set by ``pool``."""
        keep = (ids != self.pad_id).to(tokens.dtype)  # [B, T]
        if self.pool == "cls":
            return tokens[:, 0]
        if self.pool == "last":
            last = (keep.sum(1).long() - 1).clamp(min=0)
            return tokens[torch.arange(ids.shape[0], device=ids.device), last]
        return (tokens * keep.unsqueeze(-1)).sum(1) / keep.sum(1, keepdim=True).clamp(min=1)

    def _attention_mask(self, ids: torch.Tensor) -> torch.Tensor | None:
        """None without padding (lets SDPA use its fast path); else a bool ``[B, 1, T, T]``
        mask hiding pad keys (and future keys for the decoder)."""
        pad = ids == self.pad_id
        # An exported or traced graph serves every input, so it always keeps the mask (the
        # same result when nothing is padded); the eager check would bake one branch in.
        if not _recording() and not bool(pad.any()):
            return None
        allowed = ~pad[:, None, None, :]
        if self.causal:
            t = ids.shape[1]
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
        # A row with every key hidden (an all-pad sequence) would give NaN: let it see itself.
        eye = torch.eye(ids.shape[1], dtype=torch.bool, device=ids.device)
        return allowed | eye

    def get_extra_state(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_json()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        # The class the backbone was built with reads its own JSON (data's TextTokenizer).
        self.tokenizer = type(self.tokenizer).from_json(state["tokenizer"])


def _recording() -> bool:
    """True while ``torch.export`` (ONNX) or ``torch.jit.trace`` records the model."""
    return bool(torch.jit.is_tracing() or torch.compiler.is_exporting())


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, std=0.02)
    if isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.zeros_(m.bias)


def as_text_backbone(backbone: Backbone, causal: bool, method: str) -> TextTransformer:
    """``backbone`` typed as a text transformer of the right kind, or a one-line ValueError."""
    kind = "a causal text backbone (text_decoder_*)" if causal else "a text_encoder_* backbone"
    if not isinstance(backbone, TextTransformer) or backbone.causal != causal:
        raise ValueError(f"method '{method}' needs {kind}, got {type(backbone).__name__}")
    return backbone


def _register(name: str, size: str, causal: bool) -> None:
    default_pool: Pool = "last" if causal else "mean"
    d, n, h = SIZES[size]

    def factory(
        tokenizer: Tokenizer | None = None,
        dim: int | None = None,
        depth: int | None = None,
        heads: int | None = None,
        max_len: int = 512,
        positions: Positions = "learned",
        pool: Pool = default_pool,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
    ) -> TextTransformer:
        if tokenizer is None:
            raise ValueError(
                "text backbones need a tokenizer; use a text data source (text, jsonl, tsv)"
            )
        return TextTransformer(
            tokenizer,
            dim=dim or d,
            depth=depth or n,
            heads=heads or h,
            causal=causal,
            max_len=max_len,
            positions=positions,
            pool=pool,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
        )

    kind = (
        "Causal text decoder (GPT-style; pools the last token)"
        if causal
        else "Bidirectional text encoder (BERT-style; mean-pools the tokens)"
    )
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"""{kind}, {size}: D={d}, {n} blocks, {h} heads.

    ``tokenizer`` is supplied by the engine from the data source (or a checkpoint);
    ``dim`` / ``depth`` / ``heads`` override the named size.
    """
    # ``causal`` is a registration tag: methods ask for it (``backbone_tags``) before building.
    register_backbone(name, causal=causal)(factory)


for _size in SIZES:
    _register(f"text_encoder_{_size}", _size, causal=False)
    _register(f"text_decoder_{_size}", _size, causal=True)
