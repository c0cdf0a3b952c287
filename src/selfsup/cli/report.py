"""``selfsup report RUN_DIR [--out report.html]``: one self-contained HTML page for a run.

The report itself takes data in; this command composes it: the run's logs, and the t-SNE and
neighbour pictures drawn from its last checkpoint on the run's own validation and train splits.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    from selfsup.report.sections_features import FeaturePictures
    from selfsup.report.sections_text import TextSample

# A language model's sample in its report: the val split's first tokens as the prompt,
# continued with these settings and seed, so every report of a checkpoint shows the same text.
SAMPLE_PROMPT_TOKENS = 32
SAMPLE_NEW_TOKENS = 200
SAMPLE_TEMPERATURE = 0.8
SAMPLE_SEED = 0
# A two-tower run's cross-modal section: this many queries of each side, each with its top
# matches of the other.
CROSSMODAL_QUERIES = 4
CROSSMODAL_MATCHES = 5
# Audio-MAE's report figure: this many val clips (log-mel rows are taller than image rows).
RECONSTRUCTED_CLIPS = 6


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("run_dir", help="a run directory written by 'selfsup pretrain'")
    p.add_argument("--out", default=None, help="output HTML (default: RUN_DIR/report.html)")
    p.add_argument(
        "--max-items", type=int, default=1000, help="cap on items embedded for t-SNE/neighbours"
    )
    p.add_argument("--no-features", action="store_true", help="skip t-SNE and neighbour grid")


def run_pictures(run_dir: str | Path, max_items: int = 1000) -> FeaturePictures:
    """t-SNE and neighbour pictures of a run's last checkpoint (a note instead, on failure)."""
    pictures, _, _ = run_extras(run_dir, max_items, features=True)
    assert pictures is not None  # always drawn (or noted) when features are asked for
    return pictures


def run_extras(
    run_dir: str | Path, max_items: int = 1000, features: bool = True
) -> tuple[FeaturePictures | None, TextSample | None, list[str]]:
    """What the report draws from a run's last checkpoint, loaded once: the feature pictures
    (None unless ``features``), a language model's sample (None for other methods), and
    notes on what could not be drawn."""
    from selfsup.engine.build import build_split
    from selfsup.engine.load import load_method, resolve_checkpoint
    from selfsup.engine.safe_load import UntrustedCheckpointError
    from selfsup.report.sections_features import FeaturePictures, feature_pictures, first_line

    def no_pictures(why: str) -> FeaturePictures | None:
        note = f"features unavailable ({why}): t-SNE and neighbours skipped"
        return FeaturePictures(notes=[note]) if features else None

    try:
        ckpt = resolve_checkpoint(run_dir)
        method, cfg = load_method(ckpt)
        val = build_split(cfg, cfg.data.val_split) if cfg.data.val_split else None
    except UntrustedCheckpointError:
        raise  # never a note: the user must know the file was refused
    except (ConfigError, ValueError, OSError, RuntimeError, KeyError) as e:
        return no_pictures(first_line(e)), None, []
    sample, notes = None, []
    if hasattr(method, "generate"):
        try:
            sample = text_sample(method, val, ckpt.name)
        except (ConfigError, ValueError, RuntimeError) as e:
            notes.append(f"generated sample skipped: {first_line(e)}")
    if val is not None:
        notes += reconstruction_figure(method, val, Path(run_dir))
    if not features:
        return None, sample, notes
    if hasattr(method, "embed_pair") and cfg.data.source == "pairs":  # two towers (CLIP)
        return crossmodal_pictures(method, cfg, ckpt.name, max_items), sample, notes
    if val is None:
        note = "the config has no data.val_split: t-SNE and neighbours skipped"
        return FeaturePictures(notes=[note]), sample, notes
    try:
        bank = build_split(cfg, cfg.data.train_split)
    except (ConfigError, ValueError, OSError) as e:
        return no_pictures(first_line(e)), sample, notes
    from selfsup.modalities import modality_of

    encoder = method.encoder()
    pics = feature_pictures(
        method.embed,
        val,
        bank,
        checkpoint=ckpt.name,
        max_items=max_items,
        collate_fn=modality_of(encoder).collate,
        sample_rate=getattr(encoder, "sample_rate", None),  # audio: clips and spectrograms
    )
    return pics, sample, notes


def crossmodal_pictures(
    method: Any, cfg: Any, checkpoint: str, max_items: int = 1000
) -> FeaturePictures:
    """A two-tower run's cross-modal matches on its val split, read as ``selfsup eval
    crossmodal`` reads it (t-SNE and same-modality neighbours are not drawn for pairs)."""
    from selfsup.cli.eval.crossmodal import run_pairs
    from selfsup.report.crossmodal_matches import crossmodal_matches
    from selfsup.report.sections_features import FeaturePictures, first_line

    pics = FeaturePictures(checkpoint=checkpoint)
    pics.notes.append("t-SNE and neighbours are not drawn for paired data: see cross-modal matches")
    if not cfg.data.val_split:
        pics.notes.append("the config has no data.val_split: cross-modal matches skipped")
        return pics
    towers = (method.backbone, method.tower_b)
    try:
        data = run_pairs(method, cfg, cfg.data.val_split)
        pics.crossmodal = crossmodal_matches(
            method.embed_pair,
            data,
            queries=CROSSMODAL_QUERIES,
            k=CROSSMODAL_MATCHES,
            max_pairs=max_items,
            sample_rates=(
                getattr(towers[0], "sample_rate", None),
                getattr(towers[1], "sample_rate", None),
            ),
        )
    except (ConfigError, ValueError, OSError, RuntimeError, KeyError) as e:
        pics.notes.append(f"cross-modal matches skipped: {first_line(e)}")
    return pics


def reconstruction_figure(method: Any, val: Any, run_dir: Path) -> list[str]:
    """``RUN/figures/reconstruction.png`` for a method that draws one (MAE, colorization,
    inpainting; Audio-MAE as log-mels) from its val split, unless the run already has it;
    notes on failure."""
    from selfsup.cli.visualize import is_audio_method, pick_clips, pick_images
    from selfsup.report.sections_features import first_line
    from selfsup.visualize.audio_reconstruction import save_audio_reconstruction_grid
    from selfsup.visualize.reconstruction import check_reconstructs, save_reconstruction_grid

    out = run_dir / "figures" / "reconstruction.png"
    try:
        check_reconstructs(method)
    except ValueError:
        return []  # a method without pictures of its own
    if out.exists():
        return []  # drawn before (e.g. by selfsup visualize with the user's own images)
    try:
        if is_audio_method(method):
            clips = [it["input"] for it in pick_clips(val, RECONSTRUCTED_CLIPS, 0)]
            save_audio_reconstruction_grid(method, clips, out)
        else:
            save_reconstruction_grid(method, pick_images(val, 8, 0), out)
    except (ConfigError, ValueError, RuntimeError, OSError) as e:
        return [f"reconstruction figure skipped: {first_line(e)}"]
    return []


def text_sample(method: Any, val: Any, checkpoint: str | None = None) -> TextSample:
    """A language model's continuation of the first :data:`SAMPLE_PROMPT_TOKENS` tokens of
    its val split (``<eos>`` without one), drawn with the report's fixed settings."""
    from selfsup.cli.generate import language_model, sample_ids
    from selfsup.report.sections_text import TextSample

    tok = language_model(method).text.tokenizer
    first = next(iter(val), None) if val is not None else None  # map-style or a stream
    ids = [int(i) for i in first["input"][:SAMPLE_PROMPT_TOKENS]] if first else [tok.eos_id]
    new = sample_ids(method, ids, SAMPLE_NEW_TOKENS, SAMPLE_TEMPERATURE, None, SAMPLE_SEED)
    settings = (
        f"prompt: the first {len(ids)} tokens of the val split · seed {SAMPLE_SEED} · "
        f"temperature {SAMPLE_TEMPERATURE:g} · {SAMPLE_NEW_TOKENS} new tokens"
    )
    return TextSample(tok.decode(ids), tok.decode(new), checkpoint, settings)


def make_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    features: bool = True,
    max_items: int = 1000,
) -> Path:
    """Write the report of ``run_dir``: feature pictures unless ``features`` is False, and a
    generated sample for a language model."""
    from selfsup.report.html import write_report

    if max_items < 4:
        raise ConfigError(f"--max-items must be >= 4, got {max_items}")
    pictures, sample, notes = run_extras(run_dir, max_items, features)
    try:
        return write_report(run_dir, out, pictures, sample, notes)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def run_report(args: argparse.Namespace) -> int:
    """Write the report and print its path."""
    path = make_report(args.run_dir, args.out, not args.no_features, args.max_items)
    print(f"report: {path}")
    return 0


COMMAND = Command(
    "report",
    "write an HTML report (curves, t-SNE, neighbours, cross-modal matches, a language "
    "model's sample) of a run",
    add_arguments,
    run_report,
)
