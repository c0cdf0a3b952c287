"""Name -> factory registries shared by backbones, methods, augmentations and data sources.

A factory's keyword parameters (with type hints and defaults) are its config schema: config
validation reads them, so adding a backbone or method is one decorated function or class.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A user-facing configuration problem; its message is one line that names the fix."""


class RunError(RuntimeError):
    """A run that had to stop (e.g. a non-finite loss); its message is one line that says what
    happened and where to continue from. The command line prints it and exits with code 1."""


def closest(name: str, options: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest option, or '' if nothing is close."""
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


@dataclasses.dataclass(frozen=True)
class Param:
    """One keyword parameter of a registered factory."""

    name: str
    annotation: Any
    default: Any
    required: bool


class Registry(Generic[T]):
    """Maps names to factories; ``kind`` names the registry in error messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._tags: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **tags: Any) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``fn`` under ``name``; ``tags`` are free metadata (e.g. modality)."""

        def deco(fn: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = fn
            self._tags[name] = dict(tags)
            return fn

        return deco

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins that replace an entry, and for tests)."""
        self._check_name(name)
        del self._entries[name], self._tags[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def tags(self, name: str) -> dict[str, Any]:
        """The metadata registered with ``name``."""
        self._check_name(name)
        return self._tags[name]

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered under ``name`` (ConfigError naming the closest if unknown)."""
        self._check_name(name)
        return self._entries[name]

    def params(self, name: str, skip: tuple[str, ...] = ()) -> dict[str, Param]:
        """Keyword parameters of the factory, with resolved type hints."""
        fn = self.get(name)
        target = fn.__init__ if inspect.isclass(fn) else fn
        hints = typing.get_type_hints(target)
        out: dict[str, Param] = {}
        for p in inspect.signature(fn).parameters.values():
            if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            required = p.default is inspect.Parameter.empty
            out[p.name] = Param(p.name, hints.get(p.name, Any), p.default, required)
        return out

    def validate(
        self, name: str, kwargs: dict[str, Any], where: str, skip: tuple[str, ...] = ()
    ) -> None:
        """Check ``kwargs`` against the factory's parameters; ConfigError on the first problem."""
        params = self.params(name, skip)
        for key, value in kwargs.items():
            if key not in params:
                raise ConfigError(
                    f"unknown key '{where}.{key}' for {self.kind} '{name}'"
                    f"{closest(key, params.keys())}"
                )
            check_type(f"{where}.{key}", value, params[key].annotation)
        for p in params.values():
            if p.required and p.name not in kwargs:
                raise ConfigError(f"missing key '{where}.{p.name}' for {self.kind} '{name}'")

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Build the object registered under ``name``."""
        return self.get(name)(*args, **kwargs)

    def _check_name(self, name: str) -> None:
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} '{name}'{closest(name, self._entries.keys())}")


def name_patterns(chosen: Sequence[str], names: Sequence[str]) -> list[str]:
    """``chosen`` (a subset of ``names``) written short: names sharing a first word become
    one ``prefix*`` pattern when that pattern matches chosen names only, e.g. ``resnet18``,
    ``resnet_tiny`` -> ``resnet*``; ``text_decoder_tiny``, ``text_decoder_small`` ->
    ``text_decoder_*`` (while a ``text_encoder_*`` is not chosen)."""
    groups: dict[str, list[str]] = {}
    for name in chosen:
        groups.setdefault(re.split(r"[_\d]", name, maxsplit=1)[0], []).append(name)
    out: list[str] = []
    for members in groups.values():
        prefix = _common_prefix(members)
        covered = [n for n in names if n.startswith(prefix)]
        if len(members) > 1 and sorted(covered) == sorted(members):
            out.append(prefix + "*")
        else:
            out.extend(members)
    return out


def _common_prefix(names: Sequence[str]) -> str:
    first, last = min(names), max(names)  # what the sorted extremes share, all names share
    for i, (a, b) in enumerate(zip(first, last, strict=False)):
        if a != b:
            return first[:i]
    return first


def check_type(where: str, value: Any, annotation: Any) -> None:
    """Raise ConfigError if ``value`` does not fit ``annotation`` (a small, YAML-shaped subset)."""
    if not type_matches(value, annotation):
        raise ConfigError(
            f"'{where}' expects {type_name(annotation)}, got {type(value).__name__} {value!r}"
        )


def type_matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML-loaded value fits a type hint (ints are accepted where floats are)."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(type_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if annotation is type(None):
        return value is None
    if origin in (list, tuple, typing.Sequence) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(args) == len(value) and all(
                type_matches(v, a) for v, a in zip(value, args, strict=True)
            )
        inner = args[0] if args else Any
        return all(type_matches(v, inner) for v in value)
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def type_name(annotation: Any) -> str:
    """A readable name for a type hint."""
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
