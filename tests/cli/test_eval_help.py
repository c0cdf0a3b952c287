"""``selfsup eval --help``: one line per protocol, what each needs, the data forms (TSV too);
and a protocol's error names the protocol once."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from selfsup.cli import build_parser, main
from selfsup.cli import eval as eval_cli
from selfsup.cli.eval import protocols
from selfsup.cli.eval.protocol import EvalProtocol


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return capsys.readouterr().out


def _block(text: str, title: str) -> list[str]:
    """The indented lines under ``title`` in a help text."""
    after = text.split(f"\n{title}\n", 1)[1]
    return re.split(r"\n(?!  )", after, maxsplit=1)[0].splitlines()


def test_eval_help_gives_each_protocol_one_line_and_what_it_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _help(["eval"], capsys)
    found = protocols()
    listed = _block(text, "protocols:")
    assert [line.split()[0] for line in listed] == list(found)
    for line, protocol in zip(listed, found.values(), strict=True):
        assert line.endswith(protocol.help)  # name and help on one line
    needs = dict(
        line.split(maxsplit=1) for line in _block(text, "what each needs besides --checkpoint:")
    )
    assert needs["knn"] == "--train and --test" and needs["tsne"] == "--data"
    assert "--per-class" in needs["fewshot"] and "gpt checkpoint" in needs["lm"]
    assert "--data" in needs["retrieval"] and "--unlabeled" in needs["pseudolabel"]


def test_eval_help_names_every_data_form_including_tsv(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["eval"], ["eval", "knn"]):
        text = _help(argv, capsys)
        for form in ("digits:train", "PATH@train, PATH@val", ".tar", "FILE.tsv", "'label' column"):
            assert form in text, (argv, form)
    assert "needs: --train and --test" in _help(["eval", "linear"], capsys)


@pytest.fixture
def failing_lm(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lm protocol, failing with a message that names itself, after a fake checkpoint."""

    def fail(ctx: object) -> dict[str, object]:
        raise ValueError("eval lm needs a language model (gpt), got BertMLM")

    found = {**protocols(), "lm": dataclasses.replace(protocols()["lm"], run=fail)}
    monkeypatch.setattr(eval_cli, "protocols", lambda: found)
    monkeypatch.setattr("selfsup.cli.eval.context.EvalContext", lambda args: object())


def test_a_protocol_error_names_the_protocol_once(
    failing_lm: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "lm", "--checkpoint", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "selfsup: error: eval lm needs a language model (gpt), got BertMLM"
    other = eval_cli.protocol_error("knn", ValueError("k must be >= 1, got 0"))
    assert str(other) == "eval knn: k must be >= 1, got 0"


def test_lm_on_an_encoder_run_is_one_line_naming_lm_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from text_run_helpers import tiny_text_run

    run = tiny_text_run(tmp_path, "bert_mlm", steps=1)
    capsys.readouterr()
    assert main(["eval", "lm", "--checkpoint", str(run.run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].count("eval lm") == 1 and "BertMLM" in err[0]


def test_requirements_default_to_the_needed_arguments() -> None:
    p = EvalProtocol("x", "y", lambda ctx: {}, needs=("train", "test"))
    assert p.requirements() == "--train and --test"
    assert dataclasses.replace(p, needs=()).requirements() == "nothing more"
