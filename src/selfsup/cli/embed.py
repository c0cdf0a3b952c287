"""``selfsup embed --checkpoint RUN --data SOURCE --out DIR``: every item's vector, to files.

Streams the source through the checkpoint's encoder (``method.embed``, the features eval
sees) and writes Parquet or .npy parts plus a manifest; rerunning the same command after a
kill keeps the finished parts and continues. Read the output back with
:func:`selfsup.eval.embed_output.read_embeddings`; docs/embed.md has the details.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.eval.embed_run import EmbedResult

log = logging.getLogger("selfsup.embed")

DATA_HELP = (
    "images: digits:train|test|all or a folder PATH[@train|val]; text: a .txt file (one item "
    "per line), a folder of .txt files, or a .tsv with a header"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", required=True, help="output folder (created; resumed if it exists)")
    p.add_argument("--format", choices=("parquet", "npy"), default="parquet")
    p.add_argument("--part-size", type=int, default=10_000, help="items per part file")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--size", type=int, default=None, help="decode images to SIZE x SIZE; text: max tokens"
    )
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of each class in @val")
    p.add_argument("--no-labels", action="store_true", help="leave labels out of the output")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output in --out")
    p.add_argument(
        "--progress-every", type=float, default=10.0, help="seconds between progress lines"
    )


def run_embed(args: argparse.Namespace) -> int:
    """Embed, then print one summary line (and one line of skipped items, if any)."""
    from selfsup.engine.load import checkpoint_sha256, load_method, resolve_checkpoint
    from selfsup.eval.embed_run import EmbedOptions, embed_to_folder
    from selfsup.modalities import modality_of

    options = EmbedOptions(
        format=args.format,
        part_size=args.part_size,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        device=args.device,
        labels=not args.no_labels,
        overwrite=args.overwrite,
        progress_every=args.progress_every,
    )
    try:
        options.check()
        ckpt = resolve_checkpoint(args.checkpoint)
        method, _ = load_method(ckpt, map_location=args.device)
        method.to(args.device)
        encoder = method.encoder()
        modality = modality_of(encoder)
        source = modality.item_source(args.data, encoder, args.size, args.val_fraction)
        identity = {"path": str(ckpt.resolve()), "sha256": checkpoint_sha256(ckpt)}
        about = {"spec": args.data, "modality": getattr(encoder, "modality", "image")}
        result = embed_to_folder(
            method.embed,
            source,
            args.out,
            identity,
            options,
            about,
            modality.shape_hint,
            modality.collate,
        )
    except ValueError as e:  # bad data or settings: one line, not a traceback
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"embed: {e}") from None
    if result.skipped:
        log.warning(result.skipped)
    print(summary_line(result))
    return 0


def summary_line(result: EmbedResult) -> str:
    """What was written, and how fast this run read its items."""
    what = f"{result.rows:,} of {result.items:,} items in {result.out} ({result.parts} parts"
    if result.kept_parts and result.read:
        what += f", {result.kept_parts} kept from an earlier run"
    if result.dim is not None:
        what += f"; {result.dim}-dim vectors"
    if result.read == 0:
        return f"nothing left to embed: {what})"
    rate = result.read / result.seconds if result.seconds > 0 else 0.0
    return (
        f"embedded {what}); read {result.read:,} items in {result.seconds:.1f} s, "
        f"{rate:,.0f} items/s"
    )


COMMAND = Command(
    "embed",
    "write every item's embedding to Parquet or .npy parts (streaming, resumable)",
    add_arguments,
    run_embed,
)
