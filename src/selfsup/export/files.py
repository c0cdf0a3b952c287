"""Export files written whole or not at all, and read back without trusting them."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from selfsup.files import temp_beside
from selfsup.registry import ConfigError, RunError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed over it when the block ends without error, so
    a kill mid-write leaves the previous file (or none), never half of one. A disk that refuses
    the write (full, read-only) is one line (RunError)."""
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(path)
        os.close(fd)
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise RunError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` then rename ``tmp`` over ``path``; returns ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """A safetensors file of contiguous CPU copies (channels-last weights included)."""
    from safetensors.torch import save_file

    # Own copies: safetensors refuses tensors that share memory (views, tied weights).
    plain = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    return atomic_write(path, lambda tmp: save_file(plain, str(tmp), metadata=metadata))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; a file that is not one (a pickle, say) is refused
    with one line before anything in it is used."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ConfigError(f"weights not found: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise ConfigError(f"refused {path}: not a safetensors file ({reason})") from None


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state dict without non-tensor entries (a text backbone's tokenizer, which
    travels as its own file)."""
    return {k: v for k, v in module.state_dict().items() if isinstance(v, torch.Tensor)}
