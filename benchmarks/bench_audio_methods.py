"""Audio methods under the same CPU budget on FSDD, then spoken-digit and speaker accuracy.

Each method trains from its ``configs/<method>-fsdd-cpu.yaml`` preset for ``--cpu-minutes`` of
process CPU time (``train.budget_clock=cpu``, as bench_methods_budget.py), with ``--threads``
threads, in its own subprocess, ``--jobs`` side by side, on FSDD's train split (takes n >= 5).
Then every row is scored on FSDD's standard test split (takes n 0..4), for the digit (10
classes) and the speaker (6 classes) task, three ways on the frozen encoder: kNN (k=``--k``,
T=0.1; bank: the train clips), a linear probe (weight decay chosen on a split of train), and
the SUPERB probe (softmax-weighted sum of every layer + a linear head, ``selfsup eval superb``).
Beside the trained methods: MFCC statistics (mean and std of MFCC + deltas, the classic
baseline) and each backbone at random init (its preset's method, built with the same seed).
"audio s / CPU-s" is seconds of audio (crops as trained on) per CPU-second of training.

Default methods: the registered audio methods with a preset (wav2vec 2.0, HuBERT, Audio-MAE,
data2vec for speech), plus SimCLR and BYOL on the spectrogram ViT; ``--random-backbones``
adds random-init rows of backbones none of them trains.
Run directories must not exist yet: use a fresh ``--out-dir``.

    python benchmarks/bench_audio_methods.py --cpu-minutes 10 --jobs 2 --threads 1
    python benchmarks/bench_audio_methods.py --methods simclr --cpu-minutes 2
    python benchmarks/bench_audio_methods.py --methods audio_mae data2vec_audio --cpu-minutes 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench_methods_budget import StageError, out_dir

ROOT = Path(__file__).resolve().parents[1]
FSDD = ROOT / ".." / "shared" / "data" / "fsdd" / "recordings"
VIEW_METHODS = ["simclr", "byol"]
TASKS = ("digit", "speaker")
PROTOCOLS = ("knn", "linear", "superb")


def preset(method: str) -> Path:
    """The method's FSDD CPU preset."""
    return ROOT / "configs" / f"{method}-fsdd-cpu.yaml"


def default_methods() -> list[str]:
    """Registered audio-only methods that have a preset, then SimCLR and BYOL."""
    sys.path.insert(0, str(ROOT / "src"))
    from selfsup.methods import list_methods
    from selfsup.methods.base import method_modalities
    from selfsup.methods.registry import METHODS

    audio = [m for m in list_methods() if method_modalities(METHODS.get(m)) == ("audio",)]
    return [m for m in audio if preset(m).is_file()] + VIEW_METHODS


# --- worker side: one subprocess per training run or evaluated row -------------------------


def train_overrides(args: argparse.Namespace) -> list[str]:
    """The budget overrides every method trains under (and random-init rows are built with)."""
    return [
        f"train.max_minutes={args.cpu_minutes}",
        "train.budget_clock=cpu",
        "train.max_epochs=1000",
        "train.progress=false",
        "train.checkpoint_every_n_steps=1000000",
        "eval.knn_every_n_epochs=0",
        f"train.seed={args.seed}",
        f"data.path={FSDD}",
        *args.override,
    ]


def worker_train(job: dict[str, Any]) -> dict[str, Any]:
    """Pretrain one preset; steps, CPU-seconds and seconds of audio trained on."""
    import torch

    from selfsup.config.load import load_config
    from selfsup.engine.build import build_split
    from selfsup.engine.run import pretrain

    cfg = load_config(job["preset"], job["overrides"])
    wall0 = time.monotonic()
    result = pretrain(cfg, run_dir=job["run_dir"])
    wall = time.monotonic() - wall0
    ckpt = torch.load(result.last_checkpoint, weights_only=False)
    cpu = ckpt["selfsup_clock"]["elapsed"]
    train = build_split(cfg, "train")
    limit = train.max_samples or int(train.lengths.max())
    epoch_seconds = float(train.lengths.clamp(max=limit).sum()) / train.sample_rate
    epochs = result.global_step * cfg.data.batch_size / len(train)
    return {
        "steps": result.global_step,
        "epochs": epochs,
        "train_cpu_s": cpu,
        "run_wall_s": wall,
        "audio_s": epochs * epoch_seconds,
    }


def _encoders(job: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(embed, pooled-layers function, feature_dim) of the row's encoder."""
    import torch

    from selfsup.eval.superb import pooled_layers

    if job["kind"] == "mfcc":
        from selfsup.eval.audio_baselines import MFCCStats

        mfcc = MFCCStats(job["sample_rate"]).eval()
        return mfcc.forward_features, pooled_layers(mfcc), mfcc.feature_dim
    if job["kind"] == "backbone":  # a backbone no given method trains, at its defaults
        from selfsup.backbones import create_backbone

        torch.manual_seed(job["seed"])
        bare = create_backbone(job["backbone"], sample_rate=job["sample_rate"]).eval()
        return bare.forward_features, pooled_layers(bare), int(bare.feature_dim)
    if job["kind"] == "trained":
        from selfsup.engine.load import load_method

        method, _ = load_method(job["run_dir"])
    else:  # random init: the preset's method, built as pretraining would start it
        from selfsup.config.load import load_config
        from selfsup.engine.build import build_method

        cfg = load_config(job["preset"], job["overrides"])
        torch.manual_seed(cfg.train.seed)
        method = build_method(cfg).eval()
    encoder = method.encoder()
    return method.embed, pooled_layers(encoder, method.eval_input), int(encoder.feature_dim)


def worker_eval(job: dict[str, Any]) -> dict[str, Any]:
    """kNN, linear and SUPERB accuracy for both tasks; each split is encoded once."""
    import torch

    from selfsup.data.eval_audio import audio_dataset_from_spec
    from selfsup.eval.features import Features, extract_features
    from selfsup.eval.protocols import FeatureSplits, knn_protocol, linear_protocol
    from selfsup.eval.superb import superb_probe
    from selfsup.modalities import get_modality

    embed, layers, dim = _encoders(job)
    collate = get_modality("audio").collate
    out: dict[str, Any] = {}
    clocks = {p: 0.0 for p in PROTOCOLS}
    feats: dict[str, Features] = {}
    for split in ("train", "test"):
        data = audio_dataset_from_spec(f"{FSDD}:digit@{split}", job["sample_rate"], 0.1)
        both = extract_features(
            lambda x: torch.cat([embed(x), layers(x)], dim=1), data, 128, collate_fn=collate
        )
        feats[split] = both
        for task in TASKS:  # same files in the same order, labelled by another name group
            labelled = audio_dataset_from_spec(f"{FSDD}:{task}@{split}", job["sample_rate"], 0.1)
            assert labelled.paths == data.paths
            feats[f"{split}:{task}"] = Features(both.features, labelled.labels)
    for task in TASKS:
        tr, te = feats[f"train:{task}"], feats[f"test:{task}"]
        plain = FeatureSplits(
            Features(tr.features[:, :dim], tr.labels), Features(te.features[:, :dim], te.labels)
        )
        per_layer = (
            Features(tr.features[:, dim:], tr.labels),
            Features(te.features[:, dim:], te.labels),
        )
        c0 = time.process_time()
        out[f"{task}_knn"] = knn_protocol(plain, k=job["k"], temperature=0.1)["knn_top1"]
        c1 = time.process_time()
        out[f"{task}_linear"] = linear_protocol(plain, seed=job["seed"])["linear_top1"]
        c2 = time.process_time()
        num_layers = per_layer[0].dim // dim
        r = superb_probe(*per_layer, num_layers, seed=job["seed"])
        c3 = time.process_time()
        out[f"{task}_superb"] = r.test_accuracy
        out[f"{task}_layer_weights"] = r.layer_weights
        for p, spent in zip(PROTOCOLS, (c1 - c0, c2 - c1, c3 - c2), strict=True):
            clocks[p] += spent
    return {**out, **{f"{p}_cpu_s": s for p, s in clocks.items()}}


def worker_main(kind: str, job_json: str, threads: int) -> None:
    """Run one job in this process and print its RESULT line."""
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    torch.set_num_threads(threads)
    job = json.loads(job_json)
    result = worker_train(job) if kind == "train" else worker_eval(job)
    print("RESULT " + json.dumps(result))


# --- driver side ---------------------------------------------------------------------------


def run_worker(kind: str, job: dict[str, Any], threads: int) -> dict[str, Any]:
    """One job in a fresh interpreter (its own threads and CPU clock); its RESULT dict."""
    cmd = [sys.executable, __file__, "--worker", kind, json.dumps(job), "--threads", str(threads)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise StageError((proc.stderr.strip().splitlines() or ["no output"])[-1])
    return json.loads(lines[-1][len("RESULT ") :])


def backbone_of(method: str, args: argparse.Namespace) -> tuple[str, int]:
    """The backbone name and sample rate a method's preset trains."""
    sys.path.insert(0, str(ROOT / "src"))
    from selfsup.config.load import load_config

    cfg = load_config(preset(method), train_overrides(args))
    return cfg.backbone.name, int(
        cfg.backbone.args.get("sample_rate", cfg.data.args["sample_rate"])
    )


def run_row(row: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train (trained rows) and evaluate one row; errors become the row's ``error``."""
    job = {**row, "k": args.k, "seed": args.seed, "overrides": train_overrides(args)}
    try:
        if row["kind"] == "trained":
            job["run_dir"] = str(out_dir(args) / row["method"])
            job["preset"] = str(preset(row["method"]))
            row = {**row, **run_worker("train", job, args.threads)}
        return {**row, **run_worker("eval", job, args.threads)}
    except StageError as err:
        return {**row, "error": str(err)}


def plan_rows(methods: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Trained methods, then each distinct backbone at random init (as its first method's
    preset builds it, or ``--random-backbones`` at their defaults), then MFCC."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    rate = 8000
    for m in methods:
        if not preset(m).is_file():
            rows.append({"name": m, "kind": "missing", "error": f"no {preset(m).name}"})
            continue
        backbone, rate = backbone_of(m, args)
        rows.append({"name": m, "method": m, "kind": "trained", "backbone": backbone,
                     "sample_rate": rate})  # fmt: skip
        seen.setdefault(backbone, m)
    for backbone, m in seen.items():
        rows.append({"name": f"{backbone} (random init)", "kind": "random", "backbone": backbone,
                     "preset": str(preset(m)), "sample_rate": rate})  # fmt: skip
    for backbone in args.random_backbones:
        if backbone not in seen:
            rows.append({"name": f"{backbone} (random init)", "kind": "backbone",
                         "backbone": backbone, "sample_rate": rate})  # fmt: skip
    rows.append({"name": "MFCC statistics", "kind": "mfcc", "backbone": "-", "sample_rate": rate})
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The Markdown table: trained methods by digit SUPERB accuracy, then the baselines."""
    print(
        f"\n{args.cpu_minutes} CPU-minutes per method, {args.threads} thread(s), seed {args.seed};"
        f" FSDD test split (takes 0-4), kNN k={args.k}"
    )
    cols = [f"{t} {p}" for t in TASKS for p in PROTOCOLS]
    head = ["encoder", "backbone", *cols, "steps", "audio s / CPU-s", "train CPU-s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    trained = sorted(
        (r for r in rows if r["kind"] == "trained"), key=lambda r: -r.get("digit_superb", -1.0)
    )
    for r in [*trained, *(r for r in rows if r["kind"] != "trained")]:
        if "error" in r:
            cells = [r["name"], r.get("backbone", "-"), f"error: {r['error']}"]
            cells += [""] * (len(head) - len(cells))
        else:
            accs = [f"{100 * r[f'{t}_{p}']:.1f}" for t in TASKS for p in PROTOCOLS]
            if r["kind"] == "trained":
                speed = [str(r["steps"]), f"{r['audio_s'] / r['train_cpu_s']:.1f}",
                         f"{r['train_cpu_s']:.0f}"]  # fmt: skip
            else:
                speed = ["-", "-", "-"]
            cells = [r["name"], r.get("backbone", "-"), *accs, *speed]
        print("| " + " | ".join(cells) + " |")
    mfcc = next((r for r in rows if r["kind"] == "mfcc" and "error" not in r), None)
    if mfcc is not None:
        for r in trained:
            if "error" in r:
                continue
            beats = [c for c in cols if r[c.replace(" ", "_")] > mfcc[c.replace(" ", "_")]]
            print(f"{r['name']} beats MFCC on: {', '.join(beats) or 'nothing'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", default=None, help="default: see above")
    parser.add_argument("--cpu-minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=20, help="kNN neighbours")
    parser.add_argument(
        "--random-backbones",
        nargs="*",
        default=["wav2vec2_tiny", "audio_vit_tiny"],
        help="backbones also scored at random init when no given method trains them",
    )
    parser.add_argument("--out-dir", default="runs/bench-audio")
    parser.add_argument("--override", nargs="*", default=[], help="extra key=value overrides")
    parser.add_argument("--json", default=None, help="write the rows here")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker[0], args.worker[1], args.threads)
        return
    if not FSDD.is_dir():
        parser.error(f"FSDD not found at {FSDD}")
    methods = list(dict.fromkeys(args.methods or default_methods()))
    rows = plan_rows(methods, args)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_row, r, args) if "error" not in r else None for r in rows]
    done = [f.result() if f is not None else r for f, r in zip(futures, rows, strict=True)]
    print_table(done, args)
    if args.json:
        Path(args.json).write_text(json.dumps(done, indent=2))


if __name__ == "__main__":
    main()
