"""One image size: ``data.size`` (decoding), ``augment.size`` (views) and a ViT's
``backbone.img_size`` move together unless a user sets them apart on purpose.

A preset that gives them one value links them: overriding any one of them moves the others
(``data.size=64`` alone would otherwise still make 32 px views, and ``augment.size=64`` alone
would upsample 32 px decodes). Overriding several with different values keeps each as given.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("selfsup.config")

SIZE_KEYS = (("data", "size"), ("augment", "size"), ("backbone", "img_size"))


def _get(raw: dict[str, Any], key: tuple[str, str]) -> Any:
    section = raw.get(key[0])
    return section.get(key[1]) if isinstance(section, dict) else None


def link_image_size(
    preset: dict[str, Any], merged: dict[str, Any], overridden: set[tuple[str, str]]
) -> dict[str, Any]:
    """``merged`` (preset + overrides) with the preset's linked size keys following the one
    the overrides set; logs what followed, and warns when views upsample decoded images."""
    anchor = _get(preset, SIZE_KEYS[0])
    if anchor is None:
        anchor = _get(preset, SIZE_KEYS[1])
    linked = [k for k in SIZE_KEYS if anchor is not None and _get(preset, k) == anchor]
    given = [k for k in linked if k in overridden]
    # A schedule (progressive resizing) moves the views alone: decoding keeps its size.
    given = [k for k in given if not isinstance(_get(merged, k), dict)]
    if len({repr(_get(merged, k)) for k in given}) == 1:
        value = _get(merged, given[0])
        followers = [k for k in linked if k not in overridden]
        for section, name in followers:
            merged[section][name] = value
        if followers:
            log.info(
                "%s=%s: %s follow%s it (override %s too to set %s apart)",
                ".".join(given[0]),
                value,
                " and ".join(".".join(k) for k in followers),
                "s" if len(followers) == 1 else "",
                "it" if len(followers) == 1 else "them",
                "it" if len(followers) == 1 else "them",
            )
    decoded, views = _get(merged, SIZE_KEYS[0]), _get(merged, SIZE_KEYS[1])
    if isinstance(decoded, int) and isinstance(views, int) and views > decoded:
        log.warning(
            "augment.size %d is larger than data.size %d: views upsample the decoded images "
            "(slower, no detail gained); set data.size=%d to decode at the views' size",
            views,
            decoded,
            views,
        )
    return merged
