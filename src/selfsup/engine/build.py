"""Config -> objects: checks names and arguments against the registries, then builds."""

from __future__ import annotations

import functools
from typing import Any

import selfsup.augment
import selfsup.backbones
import selfsup.methods  # noqa: F401  (registers every method)
from selfsup.augment import AUGMENTS
from selfsup.augment.registry import augment_misfit
from selfsup.backbones.registry import BACKBONES, backbone_class
from selfsup.config.curriculum import at_start
from selfsup.config.schema import RunConfig
from selfsup.data.sources import DATA_SOURCES, build_dataset
from selfsup.engine.towers import build_towers, tower_keys, validate_towers
from selfsup.methods.base import Method
from selfsup.methods.registry import BUILT_ARGS, METHODS, check_backbone, loaded_args
from selfsup.modalities import modality_of_backbone
from selfsup.registry import ConfigError, check_type

NO_AUGMENT = "none"  # augment.name for methods that make no views (text language models)


def validate(cfg: RunConfig) -> None:
    """Every name exists and every key fits its factory; raises ConfigError (one line).
    Scheduled keys are checked with their value at progress 0."""
    cfg = at_start(cfg)
    BACKBONES.validate(cfg.backbone.name, cfg.backbone.args, "backbone")
    if cfg.augment.name != NO_AUGMENT:
        AUGMENTS.validate(cfg.augment.name, cfg.augment.args, "augment")
    loads = loaded_args(cfg.method.name)  # (an unknown method name fails here, one line)
    paths = {a.key: cfg.method.args[a.key] for a in loads if a.key in cfg.method.args}
    for key, path in paths.items():
        check_type(f"method.{key}", path, str)
    towers = tower_keys(cfg.method.name)
    rest = {k: v for k, v in cfg.method.args.items() if k not in paths and k not in towers}
    skip = BUILT_ARGS + tuple(a.param for a in loads) + towers
    METHODS.validate(cfg.method.name, rest, "method", skip=skip)
    DATA_SOURCES.validate(cfg.data.source, cfg.data.args, "data", skip=("split",))
    validate_towers(cfg)


def build_method(cfg: RunConfig, **given: Any) -> Method:
    """Build backbone, views and method; mismatches (a token method on a CNN, a GPT on a text
    encoder) are ConfigErrors, raised before any data is read.

    The backbone's modality spec supplies what its factory needs beyond the config (text: the
    tokenizer); ``given`` holds what the caller already has (a checkpoint's ``tokenizer``;
    ``towers``: the same for each second tower), else it comes from the configured training
    data. Two-tower methods get their ``method.tower_*`` backbones built or loaded here.
    """
    validate(cfg)
    cfg = at_start(cfg)  # built with each schedule's start value; the engine moves it on
    # Before the backbone is built: a text backbone's tokenizer would read the data first.
    check_backbone(cfg.method.name, cfg.backbone.name)
    check_augment(cfg)
    modality = modality_of_backbone(cfg.backbone.name)
    train_set = functools.cache(lambda: build_split(cfg, cfg.data.train_split))
    extra = modality.backbone_args(given, train_set)
    backbone = BACKBONES.create(cfg.backbone.name, **{**cfg.backbone.args, **extra})
    augment = None
    if cfg.augment.name != NO_AUGMENT:
        augment = AUGMENTS.create(cfg.augment.name, **cfg.augment.args)
    args = {**method_args(cfg), **build_towers(cfg, given, train_set)}
    return METHODS.create(cfg.method.name, backbone=backbone, augment=augment, **args)


def check_augment(cfg: RunConfig) -> None:
    """ConfigError (one line) when ``augment.name`` makes views of another modality than the
    backbone encodes (image crops for an audio backbone); a methods-of-several-modalities
    run picks its modality by its backbone, so this is where a wrong recipe shows."""
    if cfg.augment.name == NO_AUGMENT:
        return
    try:
        encodes = backbone_class(cfg.backbone.name).modality
    except TypeError:  # a plug-in factory without a return annotation: not checked
        return
    why = augment_misfit(cfg.augment.name, encodes)
    if why is not None:
        raise ConfigError(why)


def method_args(cfg: RunConfig) -> dict[str, Any]:
    """The method's constructor arguments from ``method.*``: every
    :class:`~selfsup.methods.registry.LoadedArg` path is replaced by the module trained there
    (a missing run is a one-line ConfigError)."""
    # Imported here: load.py rebuilds runs through build_method in this module.
    from selfsup.engine.load import load_method

    loads = loaded_args(cfg.method.name)
    skip = {a.key for a in loads} | set(tower_keys(cfg.method.name))
    args = {k: v for k, v in cfg.method.args.items() if k not in skip}
    for arg in loads:
        path = cfg.method.args.get(arg.key)
        if not path:
            continue  # the method names what is missing (beit: "needs method.tokenizer")
        loaded, _ = load_method(path)
        kind: Any = METHODS.get(arg.method)  # a registered Method class
        if not isinstance(loaded, kind):
            raise ConfigError(
                f"method.{arg.key} {path} holds a '{type(loaded).__name__}', not a {arg.method}"
            )
        args[arg.param] = loaded
    return args


def build_split(cfg: RunConfig, split: str) -> Any:
    """The dataset of one split of the configured source (data problems become ConfigErrors).

    A source with a ``seed`` key that the config leaves unset (or null) gets ``train.seed``,
    so one seed fixes a run's data order too.
    """
    args = dict(cfg.data.args)
    if args.get("seed") is None and "seed" in DATA_SOURCES.params(cfg.data.source):
        args["seed"] = cfg.train.seed
    try:
        return build_dataset(cfg.data.source, split=split, **args)
    except (FileNotFoundError, NotADirectoryError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(str(e).splitlines()[0]) from None
