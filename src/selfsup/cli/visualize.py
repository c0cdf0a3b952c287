"""``selfsup visualize attention|reconstruction|clips --checkpoint RUN --data SPEC``: a method's
own pictures as PNG (``clips``: audio clips' waveforms and log-mels, as the encoder reads them).
By default they go to ``RUN/figures/``, where ``selfsup report`` embeds them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from selfsup.cli.command import Command
from selfsup.registry import ConfigError

if TYPE_CHECKING:
    import torch

KINDS = ("attention", "reconstruction", "clips")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--checkpoint", required=True, help="a .ckpt file or a run directory")
    p.add_argument(
        "--data",
        required=True,
        help="images: digits:train|test, a class-folder PATH[@val]; audio: PATH:LABEL@SPLIT",
    )
    p.add_argument("--num", type=int, default=8, help="how many images (rows)")
    p.add_argument("--size", type=int, default=None, help="decode images to SIZE x SIZE")
    p.add_argument("--val-fraction", type=float, default=0.1, help="for PATH@val")
    p.add_argument("--seed", type=int, default=0, help="which images, and MAE's masks")
    p.add_argument("--out", default=None, help="PNG path (default: RUN/figures/<kind>.png)")


def pick_images(dataset: object, num: int, seed: int) -> torch.Tensor:
    """``num`` images drawn without replacement by ``seed``, stacked as uint8 ``[num, C, H, W]``."""
    import torch

    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise ConfigError("the data has no images")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(n, generator=gen)[: min(num, n)].tolist()
    images = torch.stack([dataset[i]["input"] for i in idx])  # type: ignore[index]
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ConfigError("visualize needs image data (uint8 [C, H, W] items)")
    return images


def check_method(method: object, kind: str) -> None:
    """One line when ``method`` cannot draw ``kind`` (an attention map of a ResNet, an MAE
    reconstruction of a DINO run)."""
    if kind == "attention":
        from selfsup.visualize.attention import check_attention as check
    else:
        from selfsup.visualize.reconstruction import check_reconstructs as check
    try:
        check(method)  # type: ignore[arg-type]
    except ValueError as e:
        raise ConfigError(str(e).splitlines()[0]) from None


def default_out(checkpoint: str, kind: str) -> Path:
    """``RUN/figures/<kind>.png`` for a run directory or a checkpoint inside one."""
    path = Path(checkpoint)
    run_dir = path if path.is_dir() else path.parent.parent
    return run_dir / "figures" / f"{kind}.png"


def run_visualize(args: argparse.Namespace) -> int:
    """Load the checkpoint, draw the images and write the PNG."""
    from selfsup.data.eval_images import image_dataset_from_spec
    from selfsup.engine.load import load_method

    if args.num < 1:
        raise ConfigError(f"--num must be >= 1, got {args.num}")
    method, _ = load_method(args.checkpoint)
    if args.kind == "clips":
        return _draw_clips(method, args)
    check_method(method, args.kind)  # before any data is read
    if args.kind == "reconstruction" and is_audio_method(method):
        return _draw_audio_reconstruction(method, args)
    images = pick_images(
        image_dataset_from_spec(args.data, args.size, args.val_fraction), args.num, args.seed
    )
    out = Path(args.out) if args.out else default_out(args.checkpoint, args.kind)
    try:
        if args.kind == "attention":
            from selfsup.visualize.attention import save_attention_maps

            path = save_attention_maps(method, images, out, max_images=args.num)
        else:
            from selfsup.visualize.reconstruction import save_reconstruction_grid

            path = save_reconstruction_grid(
                method, images, out, max_images=args.num, seed=args.seed
            )
    except ValueError as e:  # e.g. attention maps of a ResNet, reconstructions of SimCLR
        raise ConfigError(str(e).splitlines()[0]) from None
    print(f"{args.kind}: {path}")
    return 0


def is_audio_method(method: object) -> bool:
    """Whether ``method``'s encoder reads waveforms (it has a ``sample_rate``)."""
    encoder = method.encoder()  # type: ignore[attr-defined]
    return isinstance(getattr(encoder, "sample_rate", None), int)


def pick_clips(dataset: Any, num: int, seed: int) -> list[dict[str, Any]]:
    """``num`` audio items (``input``: a waveform ``[T]``) drawn without replacement by ``seed``."""
    import torch

    from selfsup.report.sections_audio import is_audio_item

    if len(dataset) == 0:
        raise ConfigError("the data has no clips")
    gen = torch.Generator().manual_seed(seed)
    items = [dataset[i] for i in torch.randperm(len(dataset), generator=gen)[:num].tolist()]
    if not all(is_audio_item(it["input"]) for it in items):
        raise ConfigError("this picture needs audio data (mono waveform items)")
    return items


def _audio_items(method: object, args: argparse.Namespace) -> tuple[list[dict[str, Any]], Any]:
    """``--num`` clips of ``--data`` at the encoder's rate (drawn by ``--seed``), and the
    dataset's class names (None without)."""
    from selfsup.modalities import modality_of

    if not is_audio_method(method):
        raise ConfigError(f"visualize {args.kind} needs an audio checkpoint")
    encoder = method.encoder()  # type: ignore[attr-defined]
    data: Any = modality_of(encoder).eval_dataset(args.data, encoder, args.size, args.val_fraction)
    return pick_clips(data, args.num, args.seed), getattr(data, "classes", None)


def _draw_audio_reconstruction(method: object, args: argparse.Namespace) -> int:
    """Audio-MAE: original | masked | reconstruction log-mels of ``--num`` clips of ``--data``."""
    from selfsup.eval.tsne import class_name
    from selfsup.visualize.audio_reconstruction import save_audio_reconstruction_grid

    items, names = _audio_items(method, args)
    out = Path(args.out) if args.out else default_out(args.checkpoint, args.kind)
    titles = [class_name(int(it["label"]), names) for it in items]
    try:
        path = save_audio_reconstruction_grid(
            method,  # type: ignore[arg-type]
            [it["input"] for it in items],
            out,
            max_clips=args.num,
            seed=args.seed,
            titles=titles,
        )
    except ValueError as e:
        raise ConfigError(str(e).splitlines()[0]) from None
    print(f"{args.kind}: {path}")
    return 0


def _draw_clips(method: object, args: argparse.Namespace) -> int:
    """``--num`` clips of ``--data`` (drawn by ``--seed``) at the encoder's rate: waveform over
    log-mel, one column each."""
    from selfsup.files import temp_beside
    from selfsup.report.sections_audio import clips_figure

    items, names = _audio_items(method, args)
    rate = method.encoder().sample_rate  # type: ignore[attr-defined]
    png = clips_figure(
        [it["input"] for it in items], [int(it["label"]) for it in items], rate, names
    )
    out = Path(args.out) if args.out else default_out(args.checkpoint, args.kind)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(out)  # a killed run never leaves half a PNG for the report
    with os.fdopen(fd, "wb") as f:
        f.write(png)
    os.replace(tmp, out)
    print(f"{args.kind}: {out}")
    return 0


COMMAND = Command(
    "visualize",
    "ViT attention maps, MAE / colorization / inpainting reconstructions or audio clips, as PNG",
    add_arguments,
    run_visualize,
)
