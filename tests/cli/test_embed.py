"""``selfsup embed``: the vectors eval sees, for image folders and text files; bad items and bad
arguments in one line; a run killed with SIGKILL resumes to a bit-identical output."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data.helpers import solid_png, truncated_jpeg, write
from run_helpers import tiny_digits_simclr
from selfsup.cli import main
from selfsup.config.load import load_config
from selfsup.data.eval_images import image_dataset_from_spec
from selfsup.engine.load import load_method
from selfsup.engine.run import pretrain
from selfsup.eval.embed_output import read_embeddings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torchvision.io.*")


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = load_config(None, [*tiny_digits_simclr(), "train.max_steps=1"])
    return pretrain(cfg, run_dir=tmp_path_factory.mktemp("run") / "simclr").run_dir


def image_folder(root: Path, per_class: int) -> Path:
    """Two classes of distinct 6 x 6 PNGs."""
    for i in range(per_class):
        write(root / "a" / f"{i:03d}.png", solid_png(i, (6, 6)))
        write(root / "b" / f"{i:03d}.png", solid_png(255 - i, (6, 6)))
    return root


def embed(*args: str) -> int:
    return main(["embed", *args, "--progress-every", "1000"])


def test_a_folder_embeds_to_what_eval_sees_and_skips_bad_files_in_one_line(
    image_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = image_folder(tmp_path / "imgs", 5)
    write(root / "b" / "zz-broken.jpg", truncated_jpeg())
    out = tmp_path / "out"
    argv = ["--checkpoint", str(image_run), "--data", str(root), "--out", str(out)]
    assert embed(*argv, "--size", "8", "--part-size", "4", "--batch-size", "3") == 0
    captured = capsys.readouterr()
    skip_lines = [line for line in captured.err.splitlines() if "skipped" in line]
    assert skip_lines == [
        "selfsup.embed: skipped 1 of 11 files: 1 truncated (first: b/zz-broken.jpg)"
    ]
    assert (
        "embedded 10 of 11 items" in captured.out and "(3 parts; 256-dim vectors)" in captured.out
    )
    ids, vectors, labels = read_embeddings(out)
    assert ids == [f"{c}/{i:03d}.png" for c in "ab" for i in range(5)]
    assert labels is not None and labels.tolist() == [0] * 5 + [1] * 5
    method, _ = load_method(image_run)
    images = image_dataset_from_spec(str(root), 8, 0.0).images  # type: ignore[attr-defined]
    with torch.inference_mode():
        want = method.embed(images).numpy()
    np.testing.assert_allclose(vectors, want, rtol=1e-5, atol=1e-6)


def test_a_text_checkpoint_embeds_tsv_rows_with_its_tokenizer(tmp_path: Path) -> None:
    rows = ["label\tsentence"] + [
        f"{i % 2}\ta {'good' if i % 2 else 'bad'} film {i}" for i in range(30)
    ]
    tsv = tmp_path / "train.tsv"
    tsv.write_text("\n".join(rows) + "\n")
    tiny = ["backbone.dim=32", "backbone.depth=1", "backbone.heads=2", "backbone.max_len=16"]
    cfg = load_config(
        None,
        [
            "data.source=tsv",
            f"data.path={tsv}",
            "data.max_len=16",
            "data.vocab_size=60",
            "data.batch_size=8",
            "backbone.name=text_encoder_tiny",
            *tiny,
            "method.name=bert_mlm",
            "train.max_steps=1",
            "optim.name=adamw",
            "train.progress=false",
            "eval.knn_every_n_epochs=0",
        ],
    )
    run = pretrain(cfg, run_dir=tmp_path / "bert").run_dir
    out = tmp_path / "out"
    assert (
        embed("--checkpoint", str(run), "--data", str(tsv), "--out", str(out), "--format", "npy")
        == 0
    )
    ids, vectors, labels = read_embeddings(out)
    assert ids[:2] == ["train.tsv:2", "train.tsv:3"] and len(ids) == 30
    assert labels is not None and labels.tolist() == [i % 2 for i in range(30)]
    method, _ = load_method(run)
    encoder = method.encoder()
    from selfsup.modalities import modality_of

    dataset = modality_of(encoder).eval_dataset(str(tsv), encoder, None, 0.0)
    with torch.inference_mode():
        want = method.embed(dataset.ids).numpy()  # type: ignore[attr-defined]
    np.testing.assert_allclose(vectors, want, rtol=1e-5, atol=1e-6)
    lines = tmp_path / "lines.txt"
    lines.write_text("a good film\n\na bad film\n")
    assert embed("--checkpoint", str(run), "--data", str(lines), "--out", str(tmp_path / "l")) == 0
    ids, _, labels = read_embeddings(tmp_path / "l")
    assert ids == ["lines.txt:1", "lines.txt:3"] and labels is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "/nonexistent"], "image folder not found: /nonexistent"),
        (["--data", "digits:tset"], "'digits:tset' (did you mean 'test'?)"),
        (
            ["--data", "digits:test", "--part-size", "0"],
            "--part-size and --batch-size must be >= 1",
        ),
    ],
)
def test_bad_arguments_are_one_line(
    image_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    assert embed("--checkpoint", str(image_run), "--out", str(tmp_path / "o"), *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_another_checkpoint_into_the_same_folder_is_refused_unless_overwrite(
    image_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out")
    assert embed("--checkpoint", str(image_run), "--data", "digits:test", "--out", out) == 0
    ckpt = next((image_run / "checkpoints").glob("*.ckpt"))
    changed = tmp_path / "changed.ckpt"
    state = torch.load(ckpt, weights_only=True)
    state["global_step"] = 99
    torch.save(state, changed)
    capsys.readouterr()
    assert embed("--checkpoint", str(changed), "--data", "digits:test", "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds embeddings of another checkpoint" in err
    argv = ["--checkpoint", str(changed), "--data", "digits:test", "--out", out, "--overwrite"]
    assert embed(*argv) == 0
    assert json.loads((Path(out) / "manifest.json").read_text())["checkpoint"]["path"] == str(
        changed.resolve()
    )


def wait_for_parts(manifest: Path, count: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(json.loads(manifest.read_text())["parts"]) >= count:
                return
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        time.sleep(0.01)
    ended = proc.poll() is not None  # reading a live process's stderr would block
    err = proc.stderr.read().decode() if ended and proc.stderr else "still running"
    raise AssertionError(f"no {count} parts in {manifest}: {err}")


def noisy_folder(root: Path, per_class: int, side: int = 700) -> Path:
    """Two classes of large random-noise PNGs: slow to decode, so a run is caught mid-way."""
    gen = np.random.default_rng(0)
    for label in ("a", "b"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            pixels = gen.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i:03d}.png", compress_level=0)
    return root


def test_a_run_killed_after_some_parts_resumes_to_a_bit_identical_output(
    image_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = noisy_folder(tmp_path / "imgs", 24)  # 48 files: 12 parts of 4
    out = tmp_path / "out"
    argv = ["--checkpoint", str(image_run), "--data", str(root), "--size", "8"]
    argv += ["--part-size", "4", "--batch-size", "2"]
    cmd = [sys.executable, "-m", "selfsup.cli", "embed", *argv, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_parts(out / "manifest.json", 3, proc)
        proc.send_signal(signal.SIGSTOP)  # frozen at once, mid-run
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest["complete"]
    finished = {p.name: p.stat().st_ino for p in out.glob("part-*")}
    done = len(manifest["parts"])
    assert 3 <= done < 12 and sorted(finished) == [f"part-{i:05d}.parquet" for i in range(done)]

    assert embed(*argv, "--out", str(out)) == 0
    assert f"12 parts, {done} kept from an earlier run" in capsys.readouterr().out
    assert all((out / name).stat().st_ino == ino for name, ino in finished.items())
    assert embed(*argv, "--out", str(tmp_path / "whole")) == 0
    a, b = read_embeddings(out), read_embeddings(tmp_path / "whole")
    assert a.ids == b.ids and len(a.ids) == 48
    assert a.vectors.tobytes() == b.vectors.tobytes()
    for part in sorted(out.glob("part-*")):
        assert part.read_bytes() == (tmp_path / "whole" / part.name).read_bytes(), part.name
    assert not list(out.glob(".*.tmp"))


def readme_embed_section() -> tuple[str, str]:
    """The shell command and the Python block of README's "Embed a folder" section."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Embed a folder", 1)[1].split("\n## ", 1)[0]
    (command,) = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    (python,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return command, python


def test_the_readme_embed_example_runs_as_printed(
    image_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command, python = readme_embed_section()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "my-run").symlink_to(image_run)
    image_folder(tmp_path / "photos", 3)
    argv = shlex.split(command)
    assert argv[0] == "selfsup" and main(argv[1:]) == 0
    capsys.readouterr()
    exec(compile(python, "README.md", "exec"), {})
    assert capsys.readouterr().out == "6 vectors of 256 dims; first: a/000.png\n"
