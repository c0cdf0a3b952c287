"""``write_report(run_dir)``: one self-contained HTML page (inline CSS, base64 PNGs) for a run."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from selfsup.registry import ConfigError
from selfsup.report.plots import Series, line_plot, png_tag
from selfsup.report.sections_crossmodal import crossmodal_section
from selfsup.report.sections_data import RunData, load_run
from selfsup.report.sections_features import FeaturePictures
from selfsup.report.sections_text import TextSample

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;
  background:#f3f4f6;color:#111827}
header{background:#111827;color:#f9fafb;padding:22px 32px}
header h1{margin:0 0 4px;font-size:26px} header .sub{color:#9ca3af;font-size:14px}
.facts{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.fact{background:#1f2937;border-radius:8px;padding:8px 14px;min-width:110px}
.fact b{display:block;font-size:18px;color:#fff} .fact span{font-size:12px;color:#9ca3af}
main{padding:18px 32px;display:grid;gap:18px;
  grid-template-columns:repeat(auto-fill,minmax(560px,1fr))}
section{background:#fff;border-radius:10px;padding:14px 18px;box-shadow:0 1px 3px #0001}
section.wide{grid-column:1/-1} h2{font-size:17px;margin:0 0 10px}
img{max-width:100%;height:auto;display:block;margin:4px auto}
figure{margin:0 0 10px} figcaption{text-align:center;font-size:13px;color:#4b5563}
.note{color:#6b7280;font-size:13px;font-style:italic}
.warn{background:#fef2f2;border-left:5px solid #dc2626} .ok{border-left:5px solid #059669}
table{border-collapse:collapse;font-size:14px;margin:4px 0 10px}
td,th{padding:4px 12px;border-bottom:1px solid #e5e7eb;text-align:left} td.num{text-align:right}
pre.sample{white-space:pre-wrap;font-size:13px;background:#f9fafb;padding:10px;
  border-radius:6px;max-height:420px;overflow:auto} pre.sample b{color:#2563eb}
.pics{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
"""


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    pictures: FeaturePictures | None = None,
    sample: TextSample | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default ``<run_dir>/report.html``).

    ``pictures`` (t-SNE and neighbour grid, see :func:`feature_pictures`) and a language
    model's ``sample`` are drawn by the caller from a loaded checkpoint; without them those
    sections are left out. ``notes`` say what the caller could not draw.
    """
    run = load_run(run_dir)
    run.notes.extend(notes)
    target = Path(out) if out is not None else run.run_dir / "report.html"
    target.write_text(render_report(run, pictures, sample), encoding="utf-8")
    return target


def render_report(
    run: RunData, pictures: FeaturePictures | None = None, sample: TextSample | None = None
) -> str:
    """The report page as a string; each section is skipped with a note when its data is absent."""
    parts = [_header(run), _collapse(run), _curves(run), _sample(sample)]
    parts += [_monitors(run), _accuracy(run)]
    if pictures is not None:
        pics = pictures
        run.notes.extend(pics.notes)
        src = f" (checkpoint {pics.checkpoint})" if pics.checkpoint else ""
        parts.append(_image_section("tsne", "t-SNE of validation features" + src, pics.tsne))
        parts.append(
            _image_section(
                "neighbours",
                "Nearest neighbours in the training bank",
                pics.neighbours,
                "query, then its 5 nearest neighbours (label · cosine similarity); "
                "green frame = same label",
            )
        )
        if pics.clips is not None:  # audio runs
            parts.append(_image_section("clips", "Validation clips and log-mels", pics.clips))
        parts.append(crossmodal_section(pics.crossmodal, pics.checkpoint))
    parts += [_evals(run), _figures(run), _notes(run)]
    title = html.escape(f"selfsup report — {run.run_dir.name}")
    body = "\n".join(p for p in parts if p)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body>{body}</main></body></html>"
    )


def _section(key: str, title: str, inner: str, cls: str = "") -> str:
    return f'<section id="{key}" class="{cls}"><h2>{html.escape(title)}</h2>{inner}</section>'


def _skipped(key: str, title: str, why: str) -> str:
    return _section(key, title, f'<p class="note">{html.escape(why)}</p>')


def _header(run: RunData) -> str:
    cfg, info, m = run.config, run.info, run.metrics
    name = lambda part: str((cfg.get(part) or {}).get("name", "?"))  # noqa: E731
    steps = max((s for pts in m.values() for s, _ in pts), default=None)
    rate = [v for _, v in m.get("img_s", [])]  # samples/s, whatever the modality
    facts = {
        "method": name("method"),
        "backbone": name("backbone"),
        "data": str((cfg.get("data") or {}).get("source", "?")),
        "steps": f"{steps:,}" if steps is not None else "?",
        "train time": _duration(run),
        f"{throughput_unit(name('backbone'))} / s": (
            f"{sum(rate) / len(rate):,.0f}" if rate else "?"
        ),
        "global batch": str(info.get("global_batch", "?")),
        "samples": f"{info['train_samples']:,}" if "train_samples" in info else "?",
    }
    boxes = "".join(
        f'<div class="fact"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>'
        for k, v in facts.items()
    )
    created = html.escape(str(info.get("created", "unknown date")))
    commit = html.escape(str(info.get("git_commit") or "no git commit")[:10])
    return (
        f'<header id="header"><h1>{html.escape(facts["method"])} · '
        f"{html.escape(facts['backbone'])} · {html.escape(facts['data'])}</h1>"
        f'<div class="sub">{html.escape(str(run.run_dir))} — started {created} — {commit}</div>'
        f'<div class="facts">{boxes}</div></header><main>'
    )


def throughput_unit(backbone: str) -> str:
    """What one throughput sample of a run on ``backbone`` is, in words: its modality's
    ``unit`` (``img`` -> images, ``seq`` -> sequences), or "samples" for an unknown backbone."""
    import selfsup.backbones  # noqa: F401  (registers every backbone, so its modality is known)
    from selfsup.modalities import modality_of_backbone

    try:
        unit = modality_of_backbone(backbone).unit
    except ConfigError:  # a backbone this install does not know (renamed, or from a plugin)
        return "samples"
    return _UNIT_WORDS.get(unit, unit)


_UNIT_WORDS = {"img": "images", "seq": "sequences", "s audio": "seconds of audio"}


def _duration(run: RunData) -> str:
    """From run.json's creation time to the newest log or checkpoint file."""
    try:
        start = datetime.fromisoformat(str(run.info["created"])).timestamp()
    except (KeyError, ValueError):
        return "?"
    files = [*run.run_dir.glob("csv/part-*/metrics.csv"), *run.run_dir.glob("checkpoints/*")]
    if not files:
        return "?"
    secs = max(p.stat().st_mtime for p in files) - start
    if secs < 0 or not math.isfinite(secs):
        return "?"
    return f"{secs / 60:.1f} min" if secs < 3600 else f"{secs / 3600:.2f} h"


def _collapse(run: RunData) -> str:
    flags = run.metrics.get("collapsed", [])
    hit = [s for s, v in flags if v > 0.5]
    if not flags:
        return ""
    if not hit:
        return _section(
            "collapse", "Collapse check", "<p>No embedding collapse detected.</p>", "ok"
        )
    text = (
        f"<p><b>Embedding collapse</b> flagged from step {hit[0]:,} "
        f"({len(hit)} of {len(flags)} logged steps). The embedding std fell far below "
        "1/sqrt(D): the encoder maps inputs to nearly the same vector.</p>"
    )
    return _section("collapse", "Collapse warning", text, "warn wide")


def _plot_or_note(key: str, title: str, series: dict[str, Series], **kw: Any) -> str:
    present = {k: v for k, v in series.items() if v}
    if not present:
        return _skipped(key, title, "not logged in this run")
    return _section(key, title, png_tag(line_plot(present, title, **kw), title))


def _curves(run: RunData) -> str:
    m = run.metrics
    if m.get("val_loss"):  # language models: the held-out loss next to the training loss
        series = {"train loss": m.get("loss", []), "val loss": m["val_loss"]}
        loss = _plot_or_note(
            "loss", "Training and validation loss", series, smooth=5, unsmoothed=("val loss",)
        )
    else:
        loss = _plot_or_note("loss", "Training loss", {"loss": m.get("loss", [])}, smooth=5)
    return loss + _plot_or_note("lr", "Learning rate", {"lr": m.get("lr", [])}) + _curriculum(run)


def _curriculum(run: RunData) -> str:
    """Scheduled method / view keys (a curriculum), one plot each since their scales differ;
    nothing for a run without one."""
    keys = sorted(k for k in run.metrics if k.startswith("curriculum/"))
    return "".join(
        _plot_or_note(
            f"curriculum-{k.split('/', 1)[1]}",
            f"Curriculum: {k.split('/', 1)[1]}",
            {k.split("/", 1)[1]: run.metrics[k]},
        )
        for k in keys
    )


def _sample(sample: TextSample | None) -> str:
    if sample is None:
        return ""
    src = f" (checkpoint {sample.checkpoint})" if sample.checkpoint else ""
    text = f"<b>{html.escape(sample.prompt)}</b>{html.escape(sample.continuation)}"
    cap = f"<figcaption>prompt in blue · {html.escape(sample.settings)}</figcaption>"
    inner = f'<figure><pre class="sample">{text}</pre>{cap}</figure>'
    return _section("sample", "Generated sample" + src, inner)


def _monitors(run: RunData) -> str:
    """Label-free monitors: embedding std, and any rank-style metric the run logged."""
    m = run.metrics
    keys = [k for k in m if k == "embedding_std" or "rank" in k.lower()]
    if not keys:
        return _skipped("monitors", "Label-free monitors", "no embedding_std or rank logged")
    return "".join(_plot_or_note(f"monitor-{k}", k.replace("_", " "), {k: m[k]}) for k in keys)


def _accuracy(run: RunData) -> str:
    m = run.metrics
    keys = [k for k in m if ("knn" in k or "linear" in k) and ("top" in k or "acc" in k)]
    series = {k: m[k] for k in keys}
    return _plot_or_note("accuracy", "Online kNN / linear accuracy", series, percent=True)


def _image_section(key: str, title: str, png: bytes | None, caption: str = "") -> str:
    if png is None:
        return _skipped(key, title, "not available (see notes below)")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return _section(key, title, f"<figure>{png_tag(png, title)}{cap}</figure>")


def _evals(run: RunData) -> str:
    if not run.evals:
        return _skipped("evals", "Evaluation results", "no eval JSON (run `selfsup eval`)")
    tables = []
    for protocol, result in sorted(run.evals.items()):
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td class='num'>{html.escape(_fmt(k, v))}</td></tr>"
            for k, v in _flatten(result).items()
        )
        tables.append(f"<h3>{html.escape(protocol)}</h3><table>{rows}</table>")
    return _section("evals", "Evaluation results", "".join(tables))


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out[f"{prefix}{k}"] = v
    return out


def _fmt(key: str, value: Any) -> str:
    if isinstance(value, float) and ("top" in key or "acc" in key) and 0 <= value <= 1:
        return f"{100 * value:.2f}%"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _figures(run: RunData) -> str:
    if not run.figures:
        return _skipped("figures", "Method figures", "no PNGs in figures/")
    items = "".join(
        f"<figure>{png_tag(p.read_bytes(), p.stem)}"
        f"<figcaption>{html.escape(p.stem.replace('_', ' '))}</figcaption></figure>"
        for p in run.figures
    )
    return _section("figures", "Method figures", f'<div class="pics">{items}</div>', "wide")


def _notes(run: RunData) -> str:
    if not run.notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in run.notes)
    return _section("notes", "Skipped or missing", f'<ul class="note">{items}</ul>', "wide")
