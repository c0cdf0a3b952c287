"""The report's cross-modal section of a two-tower run: retrieval both ways against chance,
then a few queries of each side with their top matches of the other, each drawn by its
modality; a match that is the query's true pair is framed green and marked "pair"."""

from __future__ import annotations

import html

from selfsup.report.crossmodal_matches import CrossModalMatches, Direction, Match

TRUE, OTHER = "#059669", "#e5e7eb"


def crossmodal_section(matches: CrossModalMatches | None, checkpoint: str | None = None) -> str:
    """The ``crossmodal`` section's HTML; empty for a run without one."""
    if matches is None:
        return ""
    src = f" (checkpoint {checkpoint})" if checkpoint else ""
    of = f"{matches.pairs:,}" + (f" of {matches.total:,}" if matches.pairs < matches.total else "")
    intro = (
        f'<p class="note">{of} validation pairs, embedded once by both towers; cosine '
        "similarity; a true pair is an item of the query's own pair (for a text side: of any "
        "pair with the same text). Chance: the same galleries ranked at random.</p>"
    )
    body = intro + _metrics(matches.directions)
    body += "".join(_direction(d) for d in matches.directions)
    title = html.escape("Cross-modal matches" + src)
    return f'<section id="crossmodal" class="wide"><h2>{title}</h2>{body}</section>'


def _metrics(directions: list[Direction]) -> str:
    ks = list(directions[0].retrieval.recall) if directions else []
    head = "".join(f"<th>R@{k}</th>" for k in ks) + "<th>median rank</th><th>queries</th>"
    rows = []
    for d in directions:
        for label, r, kind in ((_name(d), d.retrieval, "model"), ("chance", d.chance, "chance")):
            cells = "".join(f"<td class='num'>{100 * r.recall[k]:.1f}%</td>" for k in ks)
            cells += f"<td class='num'>{r.median_rank:.4g}</td><td class='num'>{r.queries}</td>"
            rows.append(f'<tr class="xm-{kind}"><td>{label}</td>{cells}</tr>')
    return f'<table class="xm-metrics"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _name(d: Direction) -> str:
    return html.escape(f"{d.query_side} → {d.gallery_side}")


def _direction(d: Direction) -> str:
    rows = "".join(
        f'<tr class="xm-query"><td class="xm-q" style="border-right:2px solid #111827">'
        f"{q.html}<div class='note'>query</div></td>"
        f"{''.join(_match(i + 1, m) for i, m in enumerate(q.matches))}</tr>"
        for q in d.queries
    )
    caption = (
        f"<h3>{_name(d)}: {len(d.queries)} queries, top {len(d.queries[0].matches)} of "
        f"{d.gallery:,}</h3>"
        if d.queries
        else f"<h3>{_name(d)}</h3>"
    )
    return f'{caption}<table class="xm-direction" data-query="{_name(d)}">{rows}</table>'


def _match(rank: int, m: Match) -> str:
    colour = TRUE if m.true_pair else OTHER
    mark = " · <b>pair</b>" if m.true_pair else ""
    return (
        f'<td class="xm-match{" xm-true" if m.true_pair else ""}" data-rank="{rank}" '
        f'data-sim="{m.similarity:.4f}" style="border:3px solid {colour};text-align:center">'
        f"{m.html}<div class='note'>#{rank} · {m.similarity:.2f}{mark}</div></td>"
    )
