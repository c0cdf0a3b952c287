"""Labels and splits of an audio folder from its file names, so one folder serves several tasks.

A ``label_pattern`` is a regular expression with named groups matched against each file's name
without its extension (the whole name must match). ``label`` names the group whose value is the
class; ``test_split`` maps groups to the values that put a file in the held-out split. The Free
Spoken Digit Dataset, ``{digit}_{speaker}_{n}.wav`` with its standard test split ``n`` 0..4::

    label_pattern: '(?P<digit>\\d)_(?P<speaker>[a-z]+)_(?P<n>\\d+)'
    label: digit          # or: speaker
    test_split: {n: "0-4"}

A rule's values are a string of comma-separated items, each a literal value or an inclusive
integer range ``A-B`` (``"0-4"``, ``"0-4,9"``, ``"theo,jackson"``), an int, or a list of such
items. A file is held out when every group in the rule matches. Class names are sorted
(numerically when they are all integers) and numbered from 0, over the whole folder, so the
train and test splits number them the same way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from selfsup.registry import ConfigError, closest

_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")


def compile_label_pattern(pattern: str) -> re.Pattern[str]:
    """The compiled ``data.label_pattern``; a bad regex or one without named groups is a
    one-line ConfigError."""
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise ConfigError(
            f"data.label_pattern {pattern!r} is not a regular expression: {err}"
        ) from None
    if not compiled.groupindex:
        raise ConfigError(
            f"data.label_pattern {pattern!r} has no named groups; name the parts of a file name "
            "like '(?P<digit>\\d)_(?P<speaker>[a-z]+)_(?P<n>\\d+)'"
        )
    return compiled


@dataclasses.dataclass(frozen=True)
class SplitRule:
    """Per group, the literal values and inclusive integer ranges that hold a file out."""

    values: Mapping[str, frozenset[str]]
    ranges: Mapping[str, tuple[tuple[int, int], ...]]

    def holds_out(self, fields: Mapping[str, str]) -> bool:
        """Whether a file whose name gave ``fields`` belongs to the test split."""
        return all(self._matches(group, fields.get(group)) for group in self.values)

    def _matches(self, group: str, value: str | None) -> bool:
        if value is None:
            return False
        if value in self.values[group]:
            return True
        try:
            number = int(value)
        except ValueError:
            return False
        return any(lo <= number <= hi for lo, hi in self.ranges[group])

    def describe(self) -> str:
        """The rule as the config spells it, e.g. ``n in 0-4``."""
        parts = []
        for group in self.values:
            items = sorted(self.values[group]) + [f"{lo}-{hi}" for lo, hi in self.ranges[group]]
            parts.append(f"{group} in {','.join(items)}")
        return " and ".join(parts)


def parse_split_rule(rule: Mapping[str, Any], pattern: re.Pattern[str] | None) -> SplitRule:
    """``data.test_split`` checked against ``pattern``'s groups; errors are ConfigErrors."""
    if pattern is None:
        raise ConfigError("data.test_split needs data.label_pattern (the groups it names)")
    if not rule:
        raise ConfigError("data.test_split is empty; name a group, e.g. {n: '0-4'}")
    groups = list(pattern.groupindex)
    values: dict[str, frozenset[str]] = {}
    ranges: dict[str, tuple[tuple[int, int], ...]] = {}
    for group, spec in rule.items():
        if group not in groups:
            raise ConfigError(
                f"data.test_split names group '{group}', which data.label_pattern does not have "
                f"(it has {', '.join(groups)}){closest(str(group), groups)}"
            )
        values[group], ranges[group] = _parse_values(group, spec)
    return SplitRule(values, ranges)


def _parse_values(group: str, spec: Any) -> tuple[frozenset[str], tuple[tuple[int, int], ...]]:
    items: Sequence[Any] = spec if isinstance(spec, list) else [spec]
    literals: set[str] = set()
    spans: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ConfigError(
                f'data.test_split.{group}: expected values like "0-4" or "a,b", got {item!r}'
            )
        for part in str(item).split(","):
            span = _RANGE.match(part)
            if span:
                lo, hi = int(span.group(1)), int(span.group(2))
                if lo > hi:
                    raise ConfigError(f"data.test_split.{group}: empty range '{part.strip()}'")
                spans.append((lo, hi))
            elif part.strip():
                literals.add(part.strip())
            else:
                raise ConfigError(f"data.test_split.{group}: empty item in {item!r}")
    return frozenset(literals), tuple(spans)


def check_label_group(label: str, pattern: re.Pattern[str] | None) -> None:
    """``data.label`` must name a group of ``data.label_pattern``."""
    if pattern is None:
        raise ConfigError(
            "data.label needs data.label_pattern (without it, class subfolders give labels)"
        )
    groups = list(pattern.groupindex)
    if label not in groups:
        raise ConfigError(
            f"data.label '{label}' is not a group of data.label_pattern (it has "
            f"{', '.join(groups)}){closest(label, groups)}"
        )


def sorted_names(names: set[str]) -> list[str]:
    """Class names in order: numerically when every name is an integer, else as strings."""
    if names and all(_is_int(n) for n in names):
        return sorted(names, key=lambda n: (int(n), n))
    return sorted(names)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
