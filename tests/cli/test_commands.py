"""The command table: every command module registers once, every eval protocol has its own
sub-parser, logging is configured once per process, and the quickstart's preset is a file."""

from __future__ import annotations

import logging

import pytest

from selfsup.cli import COMMAND_MODULES, build_parser, commands, main
from selfsup.cli.eval import PROTOCOL_MODULES, protocols
from selfsup.config.load import read_yaml
from selfsup.config.presets import preset_names, preset_path
from selfsup.registry import ConfigError


def test_every_command_module_is_one_sub_command() -> None:
    names = [c.name for c in commands()]
    assert names == list(COMMAND_MODULES)
    parser = build_parser()
    for name in names:
        args = parser.parse_args([name, *_required(name)])
        assert callable(args.run) and args.command == name


def _required(command: str) -> list[str]:
    return {
        "pretrain": ["cfg.yaml"],
        "resume": ["runs/x"],
        "eval": ["knn", "--checkpoint", "x"],
        "embed": ["--checkpoint", "x", "--data", "digits:test", "--out", "y"],
        "report": ["runs/x"],
        "visualize": ["attention", "--checkpoint", "x", "--data", "digits:test"],
        "generate": ["--checkpoint", "x"],
        "export": ["--checkpoint", "x"],
        "shards": ["make", "folder", "--out", "dir"],
        "cluster": ["folder", "--out", "labels.safetensors"],
    }.get(command, [])


def test_each_protocol_parses_only_its_own_options() -> None:
    assert list(protocols()) == list(PROTOCOL_MODULES)
    parser = build_parser()
    args = parser.parse_args(["eval", "knn", "--checkpoint", "x", "--k", "5"])
    assert args.protocol == "knn" and args.k == 5 and args.checkpoint == "x"
    args = parser.parse_args(["eval", "pseudolabel", "--checkpoint", "x", "--labels", "9"])
    assert args.labeller == "finetune" and args.labels == 9 and args.encoder_lr == 1e-3
    with pytest.raises(SystemExit):  # --k is kNN's, not the linear probe's
        parser.parse_args(["eval", "linear", "--checkpoint", "x", "--k", "5"])
    with pytest.raises(SystemExit):  # one label budget at a time
        parser.parse_args(
            ["eval", "fewshot", "--checkpoint", "x", "--labels", "9", "--fraction", "0.1"]
        )


def test_logging_is_configured_once() -> None:
    assert main(["methods"]) == 0 and main(["backbones"]) == 0
    ours = logging.getLogger("selfsup")
    assert len(ours.handlers) == 1 and ours.level == logging.INFO  # one handler: no line twice
    assert main(["-v", "methods"]) == 0
    assert len(ours.handlers) == 1 and ours.level == logging.DEBUG
    main(["methods"])


def test_quickstart_preset_is_a_config_file() -> None:
    raw = read_yaml(preset_path("quickstart-digits"))
    assert raw["data"]["source"] == "digits" and raw["method"]["name"] == "simclr"
    assert "quickstart-digits" in preset_names() and "simclr-cifar10-cpu" in preset_names()
    with pytest.raises(ConfigError, match="did you mean 'quickstart-digits'"):
        preset_path("quickstart-digit")
