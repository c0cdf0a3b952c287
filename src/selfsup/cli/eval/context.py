"""The loaded method plus cached feature extraction shared by every ``eval`` protocol."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from selfsup.registry import ConfigError

logger = logging.getLogger("selfsup.eval")


class EvalContext:
    """The loaded method plus cached feature extraction for one ``eval`` invocation.

    With ``--baseline`` the evaluated encoder is that baseline (``random-init``: the method
    rebuilt without its weights; ``mfcc``: MFCC statistics), read through the checkpoint's
    modality, so its rows sit beside the checkpoint's on the same data.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        from selfsup.engine.load import load_method, resolve_checkpoint
        from selfsup.eval.results import default_results_path

        self.args = args
        self.baseline: str | None = getattr(args, "baseline", None)
        self.ckpt = resolve_checkpoint(args.checkpoint)
        method, cfg = load_method(self.ckpt, map_location=args.device)
        self.method, self.cfg = method.to(args.device), cfg
        self._encoder, self.embed = self._evaluated(args)
        stem = args.protocol + (f"-{self.baseline}" if self.baseline else "")
        self.out = Path(args.out) if args.out else default_results_path(self.ckpt, stem)
        self._ckpt_hash: str | None = None
        self._cache_dir: tuple[Path, bool] | None = None  # (folder, writable) once checked
        # Checked before any data is read: finding out after the evaluation wastes it.
        problem = unwritable(self.out.parent)
        if problem is not None:
            hint = "pass --out PATH on a writable disk" if not args.out else "choose another --out"
            raise ConfigError(f"cannot write eval results to {self.out.parent} ({problem}); {hint}")

    def _evaluated(self, args: argparse.Namespace) -> tuple[Any, Any]:
        """The encoder module under evaluation and its embedding function."""
        if self.baseline is None:
            return self.method.encoder(), self.method.embed
        from selfsup.cli.eval.baselines import check_baseline, mfcc_encoder, random_init_method

        check_baseline(self.baseline, args.protocol)
        if self.baseline == "mfcc":
            mfcc = mfcc_encoder(self.method.encoder(), args.device)
            return mfcc, mfcc.forward_features
        fresh = random_init_method(self.ckpt, self.cfg, args.device)
        self.method = fresh  # its views, eval input and encoder are the evaluated ones
        return fresh.encoder(), fresh.embed

    def encoder(self) -> Any:
        """The encoder under evaluation (the checkpoint's, or the ``--baseline``)."""
        return self._encoder

    @property
    def collate(self) -> Any:
        """How the checkpoint's modality batches items (audio: NaN-padded clips)."""
        from selfsup.modalities import modality_of

        return modality_of(self.method.encoder()).collate

    def dataset(self, spec: str) -> Any:
        """The dataset named by a ``--train``/``--test``/``--data`` spec, as the encoder's
        modality reads it (images: decoded to ``--size``; text: a labelled .tsv tokenized as
        in pretraining, ``--size`` tokens at most)."""
        from selfsup.modalities import modality_of

        encoder = self.method.encoder()
        return modality_of(encoder).eval_dataset(
            spec, encoder, self.args.size, self.args.val_fraction
        )

    def features(self, spec: str) -> Any:
        """Frozen ``method.embed`` (or ``--baseline``) features of ``spec``, from the cache
        when possible."""
        return self.cached_features(spec, self.embed, "method.embed")

    def cached_features(self, spec: str, encode: Any, transform: str) -> Any:
        """``encode``'s features of ``spec`` (``transform`` names ``encode`` in the cache key,
        which also holds the checkpoint, the data and any ``--baseline``)."""
        from selfsup.eval.features import extract_features, feature_cache_key

        a = self.args
        cache_dir, key = self.feature_cache_dir(), None
        if cache_dir is not None:
            data_id = f"{spec}|size={a.size}|val_fraction={a.val_fraction}"
            if self.baseline:
                transform = f"{transform}|baseline={self.baseline}"
            key = feature_cache_key(self.checkpoint_hash(), data_id, transform)
        return extract_features(
            encode,
            self.dataset(spec),
            batch_size=a.batch_size,
            device=a.device,
            cache_dir=cache_dir,
            cache_key=key,
            progress=True,
            collate_fn=self.collate,
        )

    def feature_cache_dir(self) -> Path | None:
        """Where features are cached, or None (``--no-cache``, or a folder that cannot be
        written: the evaluation then runs uncached, said once)."""
        if self.args.no_cache:
            return None
        if self._cache_dir is None:
            folder = self.out.parent / "features"
            problem = unwritable(folder)
            if problem is not None:
                logger.info("features not cached: %s is not writable (%s)", folder, problem)
            self._cache_dir = (folder, problem is None)
        return self._cache_dir[0] if self._cache_dir[1] else None

    def checkpoint_hash(self) -> str:
        """sha256 of the checkpoint file: the cache follows the weights, not the file name."""
        if self._ckpt_hash is None:
            from selfsup.engine.load import checkpoint_sha256

            self._ckpt_hash = checkpoint_sha256(self.ckpt)
        return self._ckpt_hash


def unwritable(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (created if missing), or None if they can.

    Tries it rather than asking ``os.access``, which a read-only mount or a root user with no
    rights on a network disk can answer wrongly.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        return err.strerror or str(err)
    return None
