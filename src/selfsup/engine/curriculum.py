"""Moves a run's scheduled keys (see ``selfsup.config.curriculum``) along training progress.

Before every step the engine asks :meth:`Curriculum.apply` for the values at the step's
progress. A method key sets the attribute the method declared in ``schedulable`` (it reads
that attribute at every step); view keys rebuild the view maker from its recipe with the new
values, since a recipe's arguments are folded into its view specs when it is built (views hold
no trained state, so nothing is lost).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from selfsup.augment import AUGMENTS
from selfsup.config.curriculum import ScheduledKey, schedule_range, value_of
from selfsup.config.schema import RunConfig
from selfsup.methods.base import Method
from selfsup.registry import ConfigError


class Curriculum:
    """The scheduled keys of one run, applied to its method."""

    def __init__(self, cfg: RunConfig, items: list[ScheduledKey], method: Method) -> None:
        self.items = items
        self.augment_name = cfg.augment.name
        self.augment_args = dict(cfg.augment.args)
        self._augment_now: dict[str, Any] | None = None
        for item in items:
            if item.section == "method":
                _check_method_key(method, item)
            else:
                self._check_augment_key(item)

    def __bool__(self) -> bool:
        return bool(self.items)

    def apply(self, method: Method, progress: float) -> dict[str, float]:
        """Set every scheduled key to its value at ``progress``; returns ``{name: value}``."""
        values = {item.name: value_of(item, progress) for item in self.items}
        for item in self.items:
            if item.section == "method":
                setattr(method, item.key, values[item.name])
        view_args = {i.key: values[i.name] for i in self.items if i.section == "augment"}
        if view_args and view_args != self._augment_now:
            method.augment = self._views(view_args, like=method.augment)
            self._augment_now = view_args
        return {name: float(v) for name, v in values.items()}

    def _views(self, scheduled: dict[str, Any], like: nn.Module | None) -> nn.Module:
        views = AUGMENTS.create(self.augment_name, **{**self.augment_args, **scheduled})
        buffer = next(like.buffers(), None) if like is not None else None
        return views.to(buffer.device) if buffer is not None else views

    def _check_augment_key(self, item: ScheduledKey) -> None:
        """The recipe must build at the schedule's extreme values (one line if not)."""
        starts = {i.key: value_of(i, 0.0) for i in self.items if i.section == "augment"}
        for value in schedule_range(item.schedule):
            try:
                self._views({**starts, item.key: value}, like=None)
            except (TypeError, ValueError) as e:
                raise ConfigError(
                    f"{item.name}: its schedule reaches {value}, which the "
                    f"'{self.augment_name}' views refuse: {str(e).splitlines()[0]}"
                ) from None


def _check_method_key(method: Method, item: ScheduledKey) -> None:
    """The method must read the key at every step and accept the schedule's whole range."""
    allowed = type(method).schedulable
    name = type(method).__name__
    if item.key not in allowed:
        takes = f"only {', '.join(allowed)}" if allowed else "none of its keys"
        raise ConfigError(f"{item.name} cannot follow a schedule: {name} schedules {takes}")
    lo, hi = method.schedulable_range(item.key)
    for value in schedule_range(item.schedule):
        if not lo < value < hi:
            raise ConfigError(
                f"{item.name}: its schedule reaches {value}, outside {name}'s ({lo}, {hi})"
            )
