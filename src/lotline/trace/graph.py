"""The trace graph: lots laid out as a layered DAG, left to right, and drawn as one SVG string.

Pure layout and drawing — no database, no framework. Upstream (raw materials) is on the left,
downstream on the right: a lot's layer is its longest path from a lot with no parents (such a
lot then moves up to just before its first use), so every edge runs rightwards. The order within
a layer comes from a few barycenter sweeps, keeping the sweep with the fewest crossings. A layer
of more than ``collapse_over`` lots shows one box per product ("PORK × 37") instead, so 5,000
lots stay a picture; the focus lot is never folded away. Boxes are stacked with a fixed pitch,
so no two overlap whatever the size; the same input always gives the same bytes. Styling is by
class (the page's stylesheet: no inline CSS, which the content security policy forbids), with
presentation attributes so that the file reads alone too.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape

from lotline.domain.errors import N_

COLLAPSE_OVER = 12  # a layer with more lots than this is shown as one box per product
SWEEPS = 4  # down-and-up barycenter passes
BOX_W, BOX_H = 188, 46
GAP_X, GAP_Y = 64, 12
MARGIN = 16
LEGEND_H = 34
FONT = 12

LEGEND = (
    ("focus", N_("This lot")),
    ("held", N_("On hold")),
    ("recalled", N_("Recall hold")),
    ("expired", N_("Expired")),
    ("group", N_("Lots of one product, grouped")),
)
TITLE = N_("Trace graph: made from on the left, used in on the right")
# What a box's flags look like without the stylesheet (the stylesheet says the same by class).
STROKE = {"recalled": "#a4262c", "held": "#6b3fa0", "focus": "#0b6e6e"}
FILL = {"expired": "#fdecec"}
MARK = {"held": "#6b3fa0", "recalled": "#a4262c", "expired": "#1d2530"}


@dataclass(frozen=True)
class GraphNode:
    """One lot to draw; ``href`` is where its box links to (None: not a link)."""

    lot_id: int
    lot_code: str
    product_id: int
    product_code: str
    product_name: str
    href: str | None = None
    held: bool = False
    recalled: bool = False
    expired: bool = False
    focus: bool = False


@dataclass(frozen=True)
class Box:
    """A drawn box: one lot, or (collapsed) several lots of one product in one layer."""

    key: str
    layer: int
    x: int
    y: int
    lots: tuple[GraphNode, ...]

    @property
    def collapsed(self) -> bool:
        return len(self.lots) > 1

    @property
    def flags(self) -> tuple[str, ...]:
        """focus, held, recalled, expired: those that hold for any of the box's lots."""
        return tuple(
            f for f in ("focus", "held", "recalled", "expired") if any(getattr(n, f) for n in self.lots)
        )


@dataclass(frozen=True)
class Link:
    """Lots of box ``source`` went into lots of box ``target`` (``count`` lot-to-lot edges)."""

    source: str
    target: str
    count: int


@dataclass(frozen=True)
class Layout:
    boxes: tuple[Box, ...]
    links: tuple[Link, ...]
    layers: int
    width: int
    height: int
    focus_layer: int | None
    crossings: int


def _layers(ids: list[int], parents: dict[int, list[int]], children: dict[int, list[int]]) -> dict[int, int]:
    """Longest path from a lot without parents (Kahn's order, smallest id first); a cycle, which
    genealogy should never have, is broken at its smallest lot so every lot still gets a layer."""
    waiting = {i: len(parents[i]) for i in ids}
    ready = [i for i in ids if waiting[i] == 0]
    heapq.heapify(ready)
    layer: dict[int, int] = {}
    while len(layer) < len(ids):
        if not ready:
            heapq.heappush(ready, min(i for i in ids if i not in layer))
        lot = heapq.heappop(ready)
        if lot in layer:
            continue
        layer[lot] = max((layer[p] + 1 for p in parents[lot] if p in layer), default=0)
        for child in children[lot]:
            waiting[child] -= 1
            if waiting[child] == 0 and child not in layer:
                heapq.heappush(ready, child)
    return layer


def _boxes_of(
    nodes: dict[int, GraphNode], layer: dict[int, int], collapse_over: int | None
) -> tuple[dict[str, list[GraphNode]], dict[str, int], dict[int, str]]:
    """Box key → lots, box key → layer, lot → box key; crowded layers folded by product."""
    by_layer: dict[int, list[int]] = defaultdict(list)
    for lot in sorted(nodes):
        by_layer[layer[lot]].append(lot)
    members: dict[str, list[GraphNode]] = {}
    box_layer: dict[str, int] = {}
    box_of: dict[int, str] = {}
    for number, lots in sorted(by_layer.items()):
        crowded = collapse_over is not None and len(lots) > collapse_over
        per_product: dict[int, list[int]] = defaultdict(list)
        for lot in lots:
            if crowded and not nodes[lot].focus:
                per_product[nodes[lot].product_id].append(lot)
            else:
                per_product[-lot - 1].append(lot)  # a box of its own
        for product, group in per_product.items():
            key = f"g{number}-{product}" if len(group) > 1 else f"n{group[0]}"
            members[key] = [nodes[lot] for lot in group]
            box_layer[key] = number
            for lot in group:
                box_of[lot] = key
    return members, box_layer, box_of


def _inversions(values: list[int]) -> int:
    """Pairs out of order (merge sort): the crossings between two layers, edges sorted by source."""
    if len(values) < 2:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    j = 0
    for value in left:
        while j < len(right) and right[j] < value:
            j += 1
        count += j
    return count


def _crossings(order: list[list[str]], links: Sequence[Link], box_layer: dict[str, int]) -> int:
    """Crossings between adjacent layers (links spanning several layers are not counted)."""
    position = {key: i for keys in order for i, key in enumerate(keys)}
    per_gap: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for link in links:
        if box_layer[link.target] == box_layer[link.source] + 1:
            per_gap[box_layer[link.source]].append((position[link.source], position[link.target]))
    return sum(_inversions([t for _s, t in sorted(pairs)]) for pairs in per_gap.values())


def _order(
    order: list[list[str]], links: Sequence[Link], box_layer: dict[str, int], sweeps: int
) -> tuple[list[list[str]], int]:
    """Barycenter sweeps (down, then up), keeping the order with the fewest crossings."""
    ups: dict[str, list[str]] = defaultdict(list)
    downs: dict[str, list[str]] = defaultdict(list)
    for link in links:
        downs[link.source].append(link.target)
        ups[link.target].append(link.source)

    def place(keys: list[str], neighbours: dict[str, list[str]], where: dict[str, float]) -> list[str]:
        def weight(item: tuple[int, str]) -> tuple[float, int]:
            index, key = item
            seen = [where[k] for k in neighbours[key] if k in where]
            return (sum(seen) / len(seen) if seen else (index + 0.5) / len(keys), index)

        return [key for _i, key in sorted(enumerate(keys), key=weight)]

    def relative(keys: list[str]) -> dict[str, float]:
        return {key: (i + 0.5) / len(keys) for i, key in enumerate(keys)}

    best, fewest = [list(keys) for keys in order], _crossings(order, links, box_layer)
    current = [list(keys) for keys in order]
    for _sweep in range(sweeps):
        if fewest == 0:
            break
        for downward in (True, False):
            steps = list(range(len(current))) if downward else list(range(len(current) - 1, -1, -1))
            # Every layer already passed in this sweep, at its new order: links may skip layers.
            where: dict[str, float] = relative(current[steps[0]]) if steps else {}
            for number in steps[1:]:
                current[number] = place(current[number], ups if downward else downs, where)
                where.update(relative(current[number]))
            count = _crossings(current, links, box_layer)
            if count < fewest:
                best, fewest = [list(keys) for keys in current], count
    return best, fewest


def lay_out(
    nodes: Iterable[GraphNode],
    edges: Iterable[tuple[int, int]],
    *,
    collapse_over: int | None = COLLAPSE_OVER,
    sweeps: int = SWEEPS,
) -> Layout:
    """Layers, collapsed boxes, order and coordinates for ``nodes`` and their (parent, child)
    ``edges``; edges naming a lot not in ``nodes``, and loops, are left out."""
    by_id = {node.lot_id: node for node in nodes}
    ids = sorted(by_id)
    pairs = sorted({(p, c) for p, c in edges if p in by_id and c in by_id and p != c})
    parents: dict[int, list[int]] = defaultdict(list)
    children: dict[int, list[int]] = defaultdict(list)
    for parent, child in pairs:
        parents[child].append(parent)
        children[parent].append(child)
    layer = _layers(ids, parents, children)
    # A raw material that only goes into a late step (flour into the dumplings) sits just before
    # that step rather than in the first layer: its edge then spans one gap, not several boxes.
    for lot in ids:
        if not parents[lot] and children[lot]:
            layer[lot] = max(layer[lot], min(layer[c] for c in children[lot]) - 1)
    members, box_layer, box_of = _boxes_of(by_id, layer, collapse_over)
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for parent, child in pairs:
        counted[box_of[parent], box_of[child]] += 1
    links = [Link(s, t, n) for (s, t), n in sorted(counted.items())]
    layers = max(box_layer.values(), default=-1) + 1
    start: list[list[str]] = [[] for _ in range(layers)]

    def initial(key: str) -> tuple[str, str, str]:
        first = members[key][0]
        return (first.product_code, first.lot_code if len(members[key]) == 1 else "", key)

    for key in sorted(members, key=initial):
        start[box_layer[key]].append(key)
    order, crossings = _order(start, links, box_layer, sweeps)
    tallest = max((len(keys) for keys in order), default=0)
    pitch = BOX_H + GAP_Y
    top = MARGIN + LEGEND_H
    boxes = []
    for number, keys in enumerate(order):
        shift = (tallest - len(keys)) * pitch // 2
        for index, key in enumerate(keys):
            x, y = MARGIN + number * (BOX_W + GAP_X), top + shift + index * pitch
            boxes.append(Box(key, number, x, y, tuple(members[key])))
    focus = next((box.layer for box in boxes if "focus" in box.flags), None)
    width = 2 * MARGIN + layers * BOX_W + max(layers - 1, 0) * GAP_X
    height = top + max(tallest * pitch - GAP_Y, 0) + MARGIN
    return Layout(tuple(boxes), tuple(links), layers, width, height, focus, crossings)


# --- drawing --------------------------------------------------------------------------------------

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    """Text and attribute values, escaped for XML (characters XML cannot carry are dropped)."""
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def _width_of(value: str, size: float = FONT) -> float:
    """A text's width estimate: CJK and other wide characters a full em, others about 0.6."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in value)


def _fit(value: str, room: float, size: float = FONT) -> str:
    if _width_of(value, size) <= room:
        return value
    kept = ""
    for ch in value:
        if _width_of(kept + ch + "…", size) > room:
            break
        kept += ch
    return kept + "…"


def _legend(translate: Callable[[str], str]) -> tuple[list[str], int]:
    """The legend's elements, and where it ends on the right."""
    parts = ['<g class="legend">']
    x = MARGIN
    y = MARGIN
    for flag, label in LEGEND:
        text = translate(label)
        if flag == "group":
            parts.append(
                f'<rect class="box group" x="{x}" y="{y}" width="14" height="14" rx="2" '
                f'fill="#eef2f7" stroke="#5b6675"/>'
            )
        elif flag == "focus":
            parts.append(
                f'<rect class="box focus" x="{x}" y="{y}" width="14" height="14" rx="2" '
                f'fill="#ffffff" stroke="{STROKE["focus"]}" stroke-width="3"/>'
            )
        else:
            parts.append(_mark(flag, x + 7, y + 7))
        parts.append(f'<text x="{x + 20}" y="{y + 11}" font-size="{FONT}">{_text(text)}</text>')
        x += 20 + math.ceil(_width_of(text)) + 18
    parts.append("</g>")
    return parts, x


def _mark(flag: str, cx: int, cy: int) -> str:
    """A flag's sign, the same in a box and in the legend: held a disc, recalled a triangle,
    expired a square — shapes as well as colours, for readers who cannot tell the colours apart."""
    colour = MARK[flag]
    if flag == "held":
        return f'<circle class="mark held" cx="{cx}" cy="{cy}" r="5" fill="{colour}"/>'
    if flag == "recalled":
        return f'<path class="mark recalled" d="M{cx} {cy - 6}L{cx + 6} {cy + 5}H{cx - 6}Z" fill="{colour}"/>'
    return f'<rect class="mark expired" x="{cx - 5}" y="{cy - 5}" width="10" height="10" fill="{colour}"/>'


def _title(box: Box, translate: Callable[[str], str]) -> str:
    words = dict(LEGEND)
    first = box.lots[0]
    if box.collapsed:
        head = f"{first.product_code} {first.product_name} × {len(box.lots)}"
        codes = [lot.lot_code for lot in box.lots[:20]]
        body = ", ".join(codes) + (" …" if len(box.lots) > 20 else "")
        tally = [
            f"{translate(words[f])}: {sum(getattr(lot, f) for lot in box.lots)}"
            for f in ("held", "recalled", "expired")
            if f in box.flags
        ]
        return "\n".join([head, body, *tally])
    flags = [translate(words[f]) for f in box.flags]
    return "\n".join([f"{first.lot_code} — {first.product_code} {first.product_name}", *flags])


def _box(box: Box, translate: Callable[[str], str], group_href: Callable[[int], str | None] | None) -> str:
    first = box.lots[0]
    flags = box.flags
    kind = "group" if box.collapsed else "lot"
    classes = " ".join(["node", kind, *flags])
    href = (group_href(first.product_id) if group_href else None) if box.collapsed else first.href
    stroke = next((STROKE[f] for f in ("recalled", "held", "focus") if f in flags), "#5b6675")
    fill = FILL["expired"] if "expired" in flags else ("#eef2f7" if box.collapsed else "#ffffff")
    width = 3 if "focus" in flags else (2 if stroke != "#5b6675" else 1)
    dashes = ' stroke-dasharray="6 3"' if "recalled" in flags else ""
    room = BOX_W - 16 - 14 * sum(f in flags for f in MARK)
    if box.collapsed:
        line1 = _fit(f"{first.product_code} × {len(box.lots)}", room)
        line2 = _fit(first.product_name, BOX_W - 16)
    else:
        line1 = _fit(first.lot_code, room)
        line2 = _fit(f"{first.product_code} · {first.product_name}", BOX_W - 16)
    inner = [
        f"<title>{_text(_title(box, translate))}</title>",
        f'<rect class="box" x="{box.x}" y="{box.y}" width="{BOX_W}" height="{BOX_H}" rx="4" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dashes}/>',
        f'<text class="code" x="{box.x + 8}" y="{box.y + 18}" font-size="{FONT + 1}" font-weight="600">'
        f"{_text(line1)}</text>",
        f'<text class="product" x="{box.x + 8}" y="{box.y + 36}" font-size="{FONT - 1}" fill="#5b6675">'
        f"{_text(line2)}</text>",
    ]
    right = box.x + BOX_W - 10
    for flag in ("expired", "recalled", "held"):
        if flag in flags:
            inner.append(_mark(flag, right, box.y + 11))
            right -= 14
    data = f'data-box="{_text(box.key)}" data-count="{len(box.lots)}"'
    if not box.collapsed:
        data += f' data-lot-id="{first.lot_id}"'
    if href:
        return f'<a class="{classes}" href="{_text(href)}" {data}>' + "".join(inner) + "</a>"
    return f'<g class="{classes}" {data}>' + "".join(inner) + "</g>"


def render_svg(
    layout: Layout,
    *,
    translate: Callable[[str], str] = str,
    group_href: Callable[[int], str | None] | None = None,
) -> str:
    """The layout as a standalone SVG document (also fit to be inlined in an HTML page).

    ``translate`` turns the legend's msgids into the reader's language; ``group_href`` gives a
    collapsed box's link from its product id (None: the box is not a link)."""
    at = {box.key: box for box in layout.boxes}
    title = translate(TITLE)
    legend, legend_end = _legend(translate)
    width, height = max(layout.width, legend_end + MARGIN), layout.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trace-graph" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_text(title)}" '
        'font-family="system-ui, sans-serif">',
        f"<title>{_text(title)}</title>",
        *legend,
    ]
    if layout.focus_layer is not None:
        x = MARGIN + layout.focus_layer * (BOX_W + GAP_X) - GAP_X // 4
        top = MARGIN + LEGEND_H - GAP_Y // 2
        parts.append(
            f'<rect class="focus-layer" x="{x}" y="{top}" width="{BOX_W + GAP_X // 2}" '
            f'height="{layout.height - top - MARGIN // 2}" rx="6" fill="#e7f3f3"/>'
        )
    parts.append('<g class="edges" fill="none" stroke="#8a96a3">')
    for link in layout.links:
        source, target = at[link.source], at[link.target]
        x1, y1 = source.x + BOX_W, source.y + BOX_H // 2
        x2, y2 = target.x, target.y + BOX_H // 2
        bend = max((x2 - x1) // 2, GAP_X // 2)
        weight = 1 + min(int(math.log2(link.count)), 3)
        parts.append(
            f'<path class="edge" d="M{x1} {y1}C{x1 + bend} {y1} {x2 - bend} {y2} {x2} {y2}" '
            f'stroke-width="{weight}" data-from="{_text(link.source)}" data-to="{_text(link.target)}"/>'
        )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    parts.extend(_box(box, translate, group_href) for box in layout.boxes)
    parts.append("</g></svg>")
    return "".join(parts)


def trace_svg(
    nodes: Iterable[GraphNode],
    edges: Iterable[tuple[int, int]],
    *,
    collapse_over: int | None = COLLAPSE_OVER,
    translate: Callable[[str], str] = str,
    group_href: Callable[[int], str | None] | None = None,
) -> str:
    """Lay out and draw in one call."""
    layout = lay_out(nodes, edges, collapse_over=collapse_over)
    return render_svg(layout, translate=translate, group_href=group_href)


__all__ = ["COLLAPSE_OVER", "Box", "GraphNode", "Layout", "Link", "lay_out", "render_svg", "trace_svg"]
