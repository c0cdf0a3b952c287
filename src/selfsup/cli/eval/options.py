"""Argument groups that several ``eval`` protocols share, and the configs they turn into."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from selfsup.cli.eval.baselines import BASELINES

if TYPE_CHECKING:
    from selfsup.eval.finetune import FinetuneConfig
    from selfsup.eval.neighbour_index import IndexOptions

DATA_SPEC = (
    "digits:train|test, a class-folder PATH, PATH@train|val, tar shards, a .tsv, or audio "
    "PATH:LABEL@train|test"
)

# The forms of a data argument, for ``selfsup eval --help``.
DATA_FORMS = """\
data (--train, --test, --data, --unlabeled), as the checkpoint's modality reads it:
  digits:train, digits:test   scikit-learn's bundled 8x8 digits
  PATH                        a folder of images in class sub-folders
  PATH@train, PATH@val        that folder split per class (--val-fraction of each in @val)
  FILE.tar, 'DIR/*.tar', DIR  tar shards (key.jpg + key.cls)
  FILE.tsv                    text checkpoints: a TSV whose header names a 'label' column
                              and a text column ('sentence', else the other one), read with
                              the checkpoint's tokenizer, at most --size tokens per row
  PATH:LABEL@train|test       audio checkpoints: files named {digit}_{speaker}_{n}.wav
                              (FSDD), LABEL digit or speaker, @test = takes n 0..4
  CARD.yaml[:LABEL][@SPLIT]   audio: a card of the audio source's keys (path, label_pattern,
                              label, test_split, ...) for any other naming scheme"""


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """The checkpoint, data and extraction arguments of every protocol."""
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    p.add_argument("--train", default=None, help=f"labeled train data / gallery: {DATA_SPEC}")
    p.add_argument(
        "--test", default=None, help="labeled test data / retrieval queries (same forms)"
    )
    p.add_argument(
        "--data", default=None, help="one dataset: monitors, tsne, retrieval (same forms)"
    )
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of each class in @val")
    p.add_argument(
        "--size", type=int, default=None, help="images: decode to SIZE x SIZE; text: max tokens"
    )
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-cache", action="store_true", help="do not cache extracted features")
    p.add_argument(
        "--out", "--json", dest="out", default=None, help="JSON path (default: run/eval/)"
    )
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default=None,
        help="evaluate a reference encoder instead: the checkpoint's model at random init, or "
        "MFCC statistics (audio); results go to RUN/eval/<protocol>-<baseline>.json",
    )


def add_epochs(p: argparse.ArgumentParser, what: str) -> None:
    """``--epochs``: probe iterations or fine-tune epochs (protocol default when absent)."""
    p.add_argument("--epochs", type=int, default=None, help=what)


def add_knn_arguments(p: argparse.ArgumentParser) -> None:
    """kNN vote settings."""
    p.add_argument("--k", type=int, default=200, help="kNN neighbours")
    p.add_argument("--temperature", type=float, default=0.1, help="kNN vote temperature")


# selfsup.eval.neighbour_index.INDEX_KINDS, spelled out: building the parser must not import
# torch (a test keeps the two equal).
INDEX_CHOICES = ("exact", "auto", "faiss", "faiss-flat", "faiss-ivf")


def add_index_arguments(p: argparse.ArgumentParser) -> None:
    """Which neighbour search kNN and retrieval use (docs/search.md)."""
    p.add_argument(
        "--index",
        choices=INDEX_CHOICES,
        default="auto",
        help="neighbour search: exact torch, faiss (flat, or IVF for huge banks), or auto "
        "(exact while bank x queries <= 1e9, faiss beyond)",
    )
    p.add_argument("--nprobe", type=int, default=32, help="IVF lists searched per query")
    p.add_argument("--nlist", type=int, default=None, help="IVF lists (default 4*sqrt(bank))")


def index_options(a: argparse.Namespace) -> IndexOptions:
    """The :class:`IndexOptions` of the parsed ``--index``, ``--nprobe`` and ``--nlist``."""
    from selfsup.eval.neighbour_index import IndexOptions

    return IndexOptions(kind=a.index, nprobe=a.nprobe, nlist=a.nlist)


def add_few_label_arguments(p: argparse.ArgumentParser) -> None:
    """How many labels a few-label protocol keeps (one of three ways), and its seeds."""
    few = p.add_mutually_exclusive_group()
    few.add_argument("--per-class", type=int, default=None, help="labels per class")
    few.add_argument("--fraction", type=float, default=None, help="share of labels")
    few.add_argument("--labels", type=int, default=None, help="label count")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="subset seeds")


def add_finetune_arguments(p: argparse.ArgumentParser) -> None:
    """Fine-tuning recipe options (finetune, pseudolabel)."""
    p.add_argument("--encoder-lr", type=float, default=1e-3)
    p.add_argument("--head-lr", type=float, default=1e-2)
    p.add_argument("--layer-decay", type=float, default=0.75, help="ViT layer-wise LR decay")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0: off)")
    p.add_argument("--cutmix", type=float, default=0.0, help="cutmix alpha (0: off)")
    p.add_argument("--no-flip", action="store_true", help="fine-tune without horizontal flips")
    p.add_argument("--patience", type=int, default=5, help="early-stopping epochs")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for fine-tuning")


def has_few_labels(a: argparse.Namespace) -> bool:
    """Whether one of ``--per-class``, ``--fraction`` or ``--labels`` was given."""
    return a.labels is not None or a.fraction is not None or a.per_class is not None


def finetune_config(a: argparse.Namespace) -> FinetuneConfig:
    """The :class:`FinetuneConfig` of the parsed fine-tuning options."""
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
