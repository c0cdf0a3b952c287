"""``selfsup cluster DATA --k K --out LABELS``: k-means labels for every frame of every clip,
the targets a HuBERT run reads (``data.frame_labels``); docs/hubert.md shows the workflow.

Iteration 1 clusters MFCC frames (``--features mfcc``) placed at an encoder's frames (that of
``--config``, else ``--backbone`` at ``--sample-rate``); iteration 2 clusters the output of
block ``--layer`` of a trained run's encoder (``--run RUN_DIR``).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

DATA_HELP = (
    "the audio to label, as selfsup eval names it: a folder (every clip), PATH:LABEL[@SPLIT] "
    "for FSDD-style names, or a .yaml description; use the folder pretraining reads"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--out", required=True, help="the frame-label file to write (.safetensors)")
    p.add_argument("--k", type=int, default=100, help="clusters (100 for MFCC, 500 for a layer)")
    p.add_argument(
        "--features",
        choices=("mfcc", "layer"),
        default=None,
        help="what to cluster (default: layer with --run, else mfcc)",
    )
    p.add_argument(
        "--run",
        dest="run_dir",
        default=None,
        help="a trained run (directory or .ckpt): its encoder",
    )
    p.add_argument("--layer", type=int, default=None, help="transformer block, 1 = the first")
    p.add_argument("--config", default=None, help="a pretraining config: its backbone's frames")
    p.add_argument("--backbone", default="wav2vec2_base", help="frames of this encoder (mfcc)")
    p.add_argument("--sample-rate", type=int, default=16000, help="Hz, with --backbone")
    p.add_argument("--iterations", type=int, default=20, help="k-means passes at most")
    p.add_argument(
        "--fit-clips",
        type=int,
        default=None,
        help="fit on a random sample of this many clips (memory); every clip is labelled",
    )
    p.add_argument("--backend", choices=("auto", "torch", "faiss"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16, help="clips per feature batch")
    p.add_argument("--device", default="cpu")


def run_cluster(args: argparse.Namespace) -> int:
    """Extract, cluster, write; then print one summary line."""
    from selfsup.data.eval_audio import audio_dataset_from_spec
    from selfsup.eval.frame_clusters import (
        KMeansOptions,
        cluster_and_write,
        frame_geometry,
        layer_frames,
        mfcc_frames,
    )

    started = time.monotonic()
    features = args.features or ("layer" if args.run_dir else "mfcc")
    if args.k < 2:
        raise ConfigError(f"--k must be >= 2, got {args.k}")
    if features == "layer" and (args.run_dir is None or args.layer is None):
        raise ConfigError("--features layer needs --run RUN_DIR and --layer N")
    encoder, source = _encoder(args)
    encoder = encoder.to(args.device).eval()
    hop, _ = frame_geometry(encoder)
    rate = encoder.sample_rate
    clips = audio_dataset_from_spec(args.data, rate, 0.0)
    if features == "mfcc":
        encode = mfcc_frames(encoder, args.device)
        what = f"mfcc39 (13 + deltas, standardised), {rate} Hz, hop {hop} ({source})"
    else:
        encode = layer_frames(encoder, args.layer)
        what = f"{args.run_dir} layer {args.layer}, {rate} Hz, hop {hop}"
    options = KMeansOptions(
        fit_clips=args.fit_clips,
        standardize=features == "mfcc",
        iterations=args.iterations,
        seed=args.seed,
        backend=_backend(args.backend),
    )
    summary = cluster_and_write(
        clips, encode, args.out, args.k, what, rate / hop, options, args.batch_size, args.device,
        started,
    )  # fmt: skip
    fitted = "" if summary.fit_frames == summary.frames else f", fit on {summary.fit_frames:,}"
    print(
        f"clustered {summary.frames:,} frames of {summary.clips:,} clips ({features}{fitted}) "
        f"into k={summary.num_clusters} ({summary.used} used): inertia {summary.inertia:.4g} "
        f"({summary.inertia / summary.frames:.4g} per frame), {summary.seconds:.1f} s "
        f"-> {args.out}"
    )
    return 0


def _encoder(args: argparse.Namespace) -> tuple[Any, str]:
    """The encoder whose frames the labels follow, and where it came from."""
    if args.run_dir is not None:
        from selfsup.engine.load import load_method

        method, _ = load_method(args.run_dir)
        return method.encoder(), str(args.run_dir)
    import selfsup.backbones  # noqa: F401  (registers every backbone)
    from selfsup.backbones.registry import BACKBONES

    if args.config is not None:
        from selfsup.config.load import load_config

        cfg = load_config(args.config)
        BACKBONES.validate(cfg.backbone.name, cfg.backbone.args, "backbone")
        return BACKBONES.create(cfg.backbone.name, **cfg.backbone.args), cfg.backbone.name
    BACKBONES.validate(args.backbone, {"sample_rate": args.sample_rate}, "backbone")
    return BACKBONES.create(args.backbone, sample_rate=args.sample_rate), args.backbone


def _backend(name: str) -> str:
    if name != "auto":
        return name
    try:
        import faiss  # noqa: F401
    except ImportError:
        return "torch"
    return "faiss"


COMMAND = Command(
    "cluster",
    "k-means labels of every audio frame (HuBERT targets: MFCC or a trained layer)",
    add_arguments,
    run_cluster,
)
