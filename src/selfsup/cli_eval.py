"""``selfsup eval PROTOCOL --checkpoint ...``: every protocol prints a table and writes JSON.

Protocols: knn, linear, fewshot, retrieval, tsne and ``pseudolabel --labeller linear`` read frozen
features, extracted once per checkpoint × data × transform and cached in ``<run>/eval/features``;
finetune and pseudolabel (by default) fine-tune the whole encoder; monitors reports label-free
health signals; lm reports a language model's validation loss and perplexity. Text checkpoints
read labelled ``.tsv`` files.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.eval.finetune import FinetuneConfig

PROTOCOLS = (
    "knn",
    "linear",
    "finetune",
    "fewshot",
    "retrieval",
    "tsne",
    "monitors",
    "pseudolabel",
    "lm",
)
NEEDS = {  # which data arguments each protocol requires
    "knn": ("train", "test"),
    "linear": ("train", "test"),
    "finetune": ("train", "test"),
    "fewshot": ("train", "test"),
    "pseudolabel": ("train", "test"),
    "retrieval": (),
    "tsne": ("data",),
    "monitors": ("data",),
    "lm": (),
}


def add_eval_parser(sub: Any, fn: Callable[[argparse.Namespace], int]) -> None:
    """Register the ``eval`` sub-command."""
    p = sub.add_parser("eval", help="evaluate a checkpoint (frozen features, fine-tuning, health)")
    p.add_argument("protocol", choices=PROTOCOLS)
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    spec = "digits:train|test, a class-folder PATH, PATH@train|val, or tar shards"
    p.add_argument("--train", default=None, help=f"labeled train data / retrieval gallery: {spec}")
    p.add_argument("--test", default=None, help="labeled test data / retrieval queries")
    p.add_argument(
        "--data", default=None, help="one dataset: monitors, tsne, leave-one-out retrieval"
    )
    p.add_argument("--unlabeled", default=None, help="pseudolabel: the unlabeled pool")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of each class in @val")
    p.add_argument("--size", type=int, default=None, help="decode images to SIZE x SIZE")
    p.add_argument("--k", type=int, default=200, help="kNN neighbours")
    p.add_argument("--temperature", type=float, default=0.1, help="kNN vote temperature")
    p.add_argument("--epochs", type=int, default=None, help="probe iterations / fine-tune epochs")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fewshot seeds")
    few = p.add_mutually_exclusive_group()
    few.add_argument(
        "--per-class", type=int, default=None, help="fewshot/finetune: labels per class"
    )
    few.add_argument(
        "--fraction", type=float, default=None, help="fewshot/finetune: share of labels"
    )
    few.add_argument(
        "--labels", type=int, default=None, help="fewshot/finetune/pseudolabel: label count"
    )
    p.add_argument("--with-knn", action="store_true", help="fewshot: also a kNN probe")
    p.add_argument("--pseudo-fraction", type=float, default=0.5, help="top share pseudo-labeled")
    p.add_argument(
        "--no-class-balance",
        action="store_true",
        help="pseudolabel: take the most confident overall, not per predicted class",
    )
    p.add_argument(
        "--labeller",
        choices=("finetune", "linear"),
        default="finetune",
        help="pseudolabel: fine-tuned network or linear probe on frozen features",
    )
    p.add_argument("--encoder-lr", type=float, default=1e-3)
    p.add_argument("--head-lr", type=float, default=1e-2)
    p.add_argument("--layer-decay", type=float, default=0.75, help="ViT layer-wise LR decay")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0: off)")
    p.add_argument("--cutmix", type=float, default=0.0, help="cutmix alpha (0: off)")
    p.add_argument("--no-flip", action="store_true", help="fine-tune without horizontal flips")
    p.add_argument("--patience", type=int, default=5, help="early-stopping epochs")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for fine-tuning")
    p.add_argument("--max-items", type=int, default=2048, help="monitors: items for views")
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    p.add_argument("--tsne-items", type=int, default=5000, help="t-SNE: at most this many")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-cache", action="store_true", help="do not cache extracted features")
    p.add_argument(
        "--out", "--json", dest="out", default=None, help="JSON path (default: run/eval/)"
    )
    p.set_defaults(fn=fn)


def dataset_from_spec(spec: str, size: int | None, val_fraction: float) -> Any:
    """``digits:train|test``, a folder ``PATH[@split]``, or tar shards (.tar, glob, or dir)."""
    from selfsup.data.sources import build_dataset

    if spec.startswith("digits:"):
        split = spec.split(":", 1)[1]
        return build_dataset("digits", split="val" if split == "test" else split)
    path, _, split = spec.partition("@")
    p = Path(path)
    if path.endswith(".tar") or "*" in path or (p.is_dir() and any(p.glob("*.tar"))):
        return build_dataset("shards", split="all", path=path, size=size)
    if not p.exists():
        raise ConfigError(f"data not found: {path}")
    return build_dataset(
        "folder",
        split=split or "all",
        path=path,
        size=size,
        val_fraction=val_fraction if split else 0.0,
    )


class EvalContext:
    """The loaded method plus cached feature extraction for one ``eval`` invocation."""

    def __init__(self, args: argparse.Namespace) -> None:
        from selfsup.engine.load import load_method, resolve_checkpoint
        from selfsup.eval.results import default_results_path

        self.args = args
        self.ckpt = resolve_checkpoint(args.checkpoint)
        method, cfg = load_method(self.ckpt, map_location=args.device)
        self.method, self.cfg = method.to(args.device), cfg
        self.out = Path(args.out) if args.out else default_results_path(self.ckpt, args.protocol)
        self._ckpt_hash: str | None = None

    def dataset(self, spec: str) -> Any:
        """The dataset named by a ``--train``/``--test``/``--data`` spec."""
        from selfsup.cli_eval_text import is_text, text_dataset_from_spec

        if is_text(self.method):  # a .tsv, tokenized as in pretraining (--size: max tokens)
            return text_dataset_from_spec(spec, self.method, self.args.size)
        return dataset_from_spec(spec, self.args.size, self.args.val_fraction)

    def features(self, spec: str) -> Any:
        """Frozen ``method.embed`` features of ``spec``, from the cache when possible."""
        from selfsup.eval.features import extract_features, feature_cache_key

        a = self.args
        cache_dir = key = None
        if not a.no_cache:
            cache_dir = self.out.parent / "features"
            data_id = f"{spec}|size={a.size}|val_fraction={a.val_fraction}"
            key = feature_cache_key(self.checkpoint_hash(), data_id, "method.embed")
        return extract_features(
            self.method.embed,
            self.dataset(spec),
            batch_size=a.batch_size,
            device=a.device,
            cache_dir=cache_dir,
            cache_key=key,
            progress=True,
        )

    def checkpoint_hash(self) -> str:
        """sha256 of the checkpoint file: the cache follows the weights, not the file name."""
        if self._ckpt_hash is None:
            digest = hashlib.sha256()
            with self.ckpt.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            self._ckpt_hash = digest.hexdigest()
        return self._ckpt_hash


def run_eval(args: argparse.Namespace) -> int:
    """Run one protocol, print a table, write JSON."""
    from selfsup.eval.results import print_results, write_results

    for name in NEEDS[args.protocol]:
        if getattr(args, name) is None:
            raise ConfigError(f"eval {args.protocol} needs --{name}")
    if args.protocol == "retrieval" and args.test is None and args.data is None:
        raise ConfigError("eval retrieval needs --test (queries; --train: gallery) or --data")
    ctx = EvalContext(args)
    try:
        result: dict[str, Any] = RUNNERS[args.protocol](ctx)
    except ValueError as e:  # bad settings or data for this protocol: one line, not a traceback
        raise ConfigError(f"eval {args.protocol}: {e}") from None
    result = {"protocol": args.protocol, **result, "checkpoint": str(ctx.ckpt)}
    for name in ("train", "test", "data", "unlabeled"):
        if getattr(args, name) is not None:
            result[name] = getattr(args, name)
    print_results(f"{args.protocol} evaluation of {ctx.ckpt.name}", result)
    print(f"results: {write_results(result, ctx.out)}")
    return 0


# ---- one runner per protocol: EvalContext -> flat result dict ----------------------------------


def _knn(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.knn import knn_evaluate

    a = ctx.args
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = knn_evaluate(train, test, k=a.k, temperature=a.temperature)
    return {
        "knn_top1": r.top1,
        "knn_top5": r.top5,
        "k": r.k,
        "temperature": r.temperature,
        "train_size": len(train),
        "test_size": len(test),
    }


def _linear(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.linear import linear_probe

    a = ctx.args
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = linear_probe(train, test, epochs=a.epochs or 100)
    return {
        "linear_top1": r.test_accuracy,
        "val_top1": r.val_accuracy,
        "best_lr": r.best_lr,
        "best_weight_decay": r.best_wd,
        "train_size": len(train),
        "test_size": len(test),
    }


def _fewshot(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.fewshot import fewshot_evaluate

    a = ctx.args
    if a.per_class is None and a.fraction is None and a.labels is None:
        raise ConfigError("eval fewshot needs --per-class N, --fraction F or --labels COUNT")
    train, test = ctx.features(a.train), ctx.features(a.test)
    r = fewshot_evaluate(
        train,
        test,
        seeds=a.seeds,
        per_class=a.per_class,
        fraction=a.fraction,
        count=a.labels,
        knn_k=a.k if a.with_knn else None,
        epochs=a.epochs or 100,
    )
    return {
        **r.summary(),
        "labels_used": r.labels_used,
        "of_labels": len(train),
        "seeds": list(a.seeds),
        "per_seed": r.per_seed,
    }


def _retrieval(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.retrieval import retrieval_metrics

    a = ctx.args
    if a.test is None:
        r = retrieval_metrics(ctx.features(a.data))  # leave-one-out within one set
        mode = "leave-one-out"
    else:
        gallery = ctx.features(a.train) if a.train else None
        r = retrieval_metrics(ctx.features(a.test), gallery)
        mode = "queries vs gallery" if gallery is not None else "leave-one-out"
    return {**r.as_dict(), "mode": mode}


def _pseudolabel(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.cli_eval_pseudo import pseudolabel

    return pseudolabel(ctx)


def finetune_config(a: argparse.Namespace) -> FinetuneConfig:
    """The :class:`FinetuneConfig` of the parsed fine-tuning options (finetune, pseudolabel)."""
    from selfsup.eval.finetune import FinetuneConfig

    return FinetuneConfig(
        epochs=a.epochs or 30,
        encoder_lr=a.encoder_lr,
        head_lr=a.head_lr,
        layer_decay=a.layer_decay,
        label_smoothing=a.label_smoothing,
        mixup_alpha=a.mixup,
        cutmix_alpha=a.cutmix,
        flip=not a.no_flip,
        val_fraction=a.val_fraction,
        patience=a.patience,
        num_threads=a.threads,
        batch_size=min(a.batch_size, 64),
    )


def _finetune(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.finetune import finetune, load_images

    a = ctx.args
    cfg = finetune_config(a)
    train, test = load_images(ctx.dataset(a.train)), load_images(ctx.dataset(a.test))
    if a.labels is not None or a.fraction is not None or a.per_class is not None:
        from selfsup.eval.fewshot import sample_few_labels

        # Few-label fine-tuning: a class-balanced subset of --train (seed: the first --seeds).
        keep = sample_few_labels(train[1], a.seeds[0], a.per_class, a.fraction, a.labels)
        train = (train[0][keep], train[1][keep])
    r = finetune(ctx.method.encoder(), ctx.method.eval_input, train, test, cfg, a.device)
    return {
        "train_labels": len(train[1]),
        "finetune_top1_best": r.test_accuracy_best,
        "finetune_top1_final": r.test_accuracy_final,
        "best_val_top1": r.best_val_accuracy,
        "best_epoch": r.best_epoch,
        "epochs_run": r.epochs_run,
        "val_history": r.val_history,
    }


def _monitors(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.monitors import dataset_monitors

    a, method = ctx.args, ctx.method
    feats = ctx.features(a.data)
    encoder = method.encoder().eval()

    def views(x: Any, gen: Any) -> list[Any]:
        return method.views({"input": x}, generator=gen)

    return dataset_monitors(
        feats.features,
        ctx.dataset(a.data),
        views,
        encoder.forward_features,
        max_items=a.max_items,
        batch_size=a.batch_size,
        device=a.device,
    )


def _tsne(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.eval.tsne import compute_tsne, save_tsne_plot, tsne_subsample

    a = ctx.args
    feats = ctx.features(a.data)
    points = compute_tsne(feats.features, seed=0, perplexity=a.perplexity, max_items=a.tsne_items)
    labels = feats.labels.numpy()[tsne_subsample(len(feats), a.tsne_items, seed=0)]
    plot = ctx.out.with_suffix(".png")
    plot.parent.mkdir(parents=True, exist_ok=True)
    save_tsne_plot(points, labels, plot)
    return {"points": len(points), "perplexity": a.perplexity, "plot": str(plot)}


def _lm(ctx: EvalContext) -> dict[str, Any]:
    from selfsup.cli_eval_text import lm_metrics

    return lm_metrics(ctx.method, ctx.cfg, batch_size=min(ctx.args.batch_size, 64))


RUNNERS: dict[str, Callable[[EvalContext], dict[str, Any]]] = {
    "knn": _knn,
    "linear": _linear,
    "finetune": _finetune,
    "fewshot": _fewshot,
    "retrieval": _retrieval,
    "tsne": _tsne,
    "monitors": _monitors,
    "pseudolabel": _pseudolabel,
    "lm": _lm,
}
