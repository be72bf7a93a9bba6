"""The trace graph's layout and drawing, read back from the SVG with an XML parser: boxes never
overlap (500 lots, and 5,000 folded by product), every lot is a link, upstream stays left of
downstream, crowded layers fold with the right counts, flags show, text is escaped, and the same
input always draws the same bytes."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, replace

import pytest

from lotline.trace.graph import COLLAPSE_OVER, GraphNode, lay_out, render_svg, trace_svg

SVG = "{http://www.w3.org/2000/svg}"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class Drawn:
    """A node as the SVG has it: its element (an <a> or a <g>), its box and its classes."""

    element: ET.Element
    rect: Rect

    @property
    def classes(self) -> set[str]:
        return set((self.element.get("class") or "").split())

    @property
    def key(self) -> str:
        return self.element.get("data-box") or ""

    @property
    def count(self) -> int:
        return int(self.element.get("data-count") or 0)

    @property
    def title(self) -> str:
        found = self.element.find(f"{SVG}title")
        return found.text or "" if found is not None else ""


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def drawn_nodes(root: ET.Element) -> list[Drawn]:
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "nodes"]
    found = []
    for element in group:
        rect = element.find(f"{SVG}rect")
        assert rect is not None
        box = Rect(*(float(rect.get(a) or 0) for a in ("x", "y", "width", "height")))
        found.append(Drawn(element, box))
    return found


def assert_no_overlap(nodes: list[Drawn]) -> None:
    """No two boxes intersect: a sweep over x, comparing only boxes whose x ranges meet."""
    ordered = sorted(nodes, key=lambda n: n.rect.x)
    active: list[Drawn] = []
    for node in ordered:
        active = [a for a in active if a.rect.x + a.rect.w > node.rect.x]
        for other in active:
            assert not node.rect.overlaps(other.rect), (node.key, other.key)
        active.append(node)


def assert_edges_run_right(root: ET.Element, nodes: list[Drawn]) -> None:
    at = {n.key: n.rect for n in nodes}
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]
    for path in paths:
        source, target = at[path.get("data-from") or ""], at[path.get("data-to") or ""]
        assert source.x + source.w < target.x, (path.get("data-from"), path.get("data-to"))
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path.get("d") or "")]
        assert numbers[0] < numbers[-2]  # the path starts left of where it ends
    return None


def assert_within_view(root: ET.Element, nodes: list[Drawn]) -> None:
    _x, _y, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    assert (float(root.get("width") or 0), float(root.get("height") or 0)) == (width, height)
    for node in nodes:
        assert node.rect.x >= 0
        assert node.rect.y >= 0
        assert node.rect.x + node.rect.w <= width
        assert node.rect.y + node.rect.h <= height


def lot(lot_id: int, product: int = 1, **flags: bool) -> GraphNode:
    return GraphNode(
        lot_id=lot_id,
        lot_code=f"L{lot_id:06d}",
        product_id=product,
        product_code=f"P{product}",
        product_name=f"产品{product}",
        href=f"/lots/{lot_id}",
        **flags,
    )


def layered_dag(
    seed: int, lots: int, width: int, products: int = 7
) -> tuple[list[GraphNode], list[tuple[int, int]]]:
    """``lots`` lots in layers of ``width``, each lot made from one to three of the layer before."""
    rng = random.Random(seed)
    nodes = [lot(i + 1, product=1 + i % products) for i in range(lots)]
    edges = []
    for i in range(width, lots):
        start = (i // width - 1) * width
        for parent in rng.sample(range(start, start + width), k=rng.randint(1, 3)):
            edges.append((parent + 1, i + 1))
    return nodes, edges


def test_500_lots_in_narrow_layers_are_500_linked_boxes_that_never_overlap() -> None:
    nodes, edges = layered_dag(seed=5, lots=500, width=10)
    focus = 255
    nodes = [replace(n, focus=n.lot_id == focus) for n in nodes]
    root = parse(trace_svg(nodes, edges))
    drawn = drawn_nodes(root)
    assert len(drawn) == 500
    assert_no_overlap(drawn)
    assert_within_view(root, drawn)
    assert_edges_run_right(root, drawn)
    links = {a.get("data-lot-id"): a.get("href") for a in root.iter(f"{SVG}a")}
    assert links == {str(n.lot_id): f"/lots/{n.lot_id}" for n in nodes}
    for node in drawn:
        assert node.element.tag == f"{SVG}a"
        assert node.title.startswith(f"L{int(node.element.get('data-lot-id') or 0):06d}")
    (marked,) = [n for n in drawn if "focus" in n.classes]
    assert marked.element.get("data-lot-id") == str(focus)
    band = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "focus-layer"]
    assert len(band) == 1
    assert float(band[0].get("x") or 0) <= marked.rect.x
    assert marked.rect.x + marked.rect.w <= float(band[0].get("x") or 0) + float(band[0].get("width") or 0)


def test_500_lots_in_a_few_wide_layers_never_overlap_unfolded() -> None:
    nodes, edges = layered_dag(seed=6, lots=500, width=100)
    root = parse(trace_svg(nodes, edges, collapse_over=None))
    drawn = drawn_nodes(root)
    assert len(drawn) == 500
    assert all(n.count == 1 for n in drawn)
    assert_no_overlap(drawn)
    assert_within_view(root, drawn)
    assert_edges_run_right(root, drawn)


def test_5000_lots_fold_into_one_box_per_product_and_layer_with_the_right_counts() -> None:
    nodes, edges = layered_dag(seed=7, lots=5000, width=500, products=6)
    root = parse(trace_svg(nodes, edges, group_href=lambda product: f"/lots?product_id={product}"))
    drawn = drawn_nodes(root)
    assert sum(n.count for n in drawn) == 5000
    assert len(drawn) == 10 * 6  # ten layers of six products
    assert_no_overlap(drawn)
    assert_within_view(root, drawn)
    assert_edges_run_right(root, drawn)
    expected = Counter((i // 500, 1 + i % 6) for i in range(5000))
    for node in drawn:
        assert "group" in node.classes
        layer, product = re.fullmatch(r"g(\d+)-(\d+)", node.key).groups()  # type: ignore[union-attr]
        assert node.count == expected[int(layer), int(product)]
        assert node.element.get("href") == f"/lots?product_id={product}"
        assert f"P{product} × {node.count}" in "".join(t.text or "" for t in node.element.iter(f"{SVG}text"))


def test_a_layer_folds_only_over_the_threshold_and_never_folds_the_focus_lot_away() -> None:
    source = lot(1, product=9)
    # Layer 1: exactly the threshold; layer 2: one more, the focus lot and a product of one lot among them.
    full = [lot(10 + i, product=1 + i % 3) for i in range(COLLAPSE_OVER)]
    crowded = [lot(100 + i, product=1 + i % 3) for i in range(COLLAPSE_OVER - 1)]
    crowded += [lot(200, product=1, focus=True), lot(300, product=8)]
    edges = [(1, n.lot_id) for n in full] + [(full[0].lot_id, n.lot_id) for n in crowded]
    layout = lay_out([source, *full, *crowded], edges)
    by_layer: dict[int, list[int]] = {}
    for box in layout.boxes:
        by_layer.setdefault(box.layer, []).append(len(box.lots))
    assert sorted(by_layer[1]) == [1] * COLLAPSE_OVER  # not over the threshold: every lot its own box
    assert sorted(by_layer[2]) == sorted([4, 4, 3, 1, 1])  # products 1, 2, 3 folded; focus and P8 alone
    folded = {box.lots[0].product_id: len(box.lots) for box in layout.boxes if box.collapsed}
    assert folded == {1: 4, 2: 4, 3: 3}
    (focus,) = [box for box in layout.boxes if "focus" in box.flags]
    assert [n.lot_id for n in focus.lots] == [200]
    root = parse(render_svg(layout))  # no group_href: folded boxes are not links
    groups = [n for n in drawn_nodes(root) if "group" in n.classes]
    assert {n.element.tag for n in groups} == {f"{SVG}g"}


def test_held_recalled_and_expired_lots_are_marked_and_the_legend_says_what_marks_mean() -> None:
    nodes = [
        lot(1, held=True),
        lot(2, recalled=True),
        lot(3, expired=True),
        lot(4),
        lot(5, held=True, expired=True),
    ]
    words = {"On hold": "冻结中", "Recall hold": "召回冻结", "Expired": "已过期"}
    root = parse(trace_svg(nodes, [(1, 4), (2, 4), (3, 4), (4, 5)], translate=lambda m: words.get(m, m)))
    classes = {n.element.get("data-lot-id"): n.classes for n in drawn_nodes(root)}
    assert "held" in classes["1"]
    assert "recalled" in classes["2"]
    assert "expired" in classes["3"]
    assert not classes["4"] & {"held", "recalled", "expired"}
    assert {"held", "expired"} <= classes["5"]
    marks = {
        n.element.get("data-lot-id"): {m.get("class") for m in n.element if "mark" in (m.get("class") or "")}
        for n in drawn_nodes(root)
    }
    assert marks["1"] == {"mark held"}
    assert marks["2"] == {"mark recalled"}
    assert marks["5"] == {"mark held", "mark expired"}
    (legend,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend"]
    legend_text = [t.text for t in legend.iter(f"{SVG}text")]
    assert {"冻结中", "召回冻结", "已过期"} <= set(legend_text)
    assert {m.get("class") for m in legend if "mark" in (m.get("class") or "")} == {
        "mark held",
        "mark recalled",
        "mark expired",
    }
    titles = {n.element.get("data-lot-id"): n.title for n in drawn_nodes(root)}
    assert "冻结中" in titles["1"]
    assert "已过期" in titles["5"]


def test_chinese_names_and_markup_in_codes_are_escaped_and_read_back_unchanged() -> None:
    name = "猪肉 <特级> & \"精选\" 'A'"
    nodes = [
        GraphNode(1, "A&B<1>", 1, "PORK", name, href="/lots/1?x=1&y=2"),
        GraphNode(2, "批次二", 2, "饺子", "水饺\x01", href="/lots/2"),
    ]
    svg = trace_svg(nodes, [(1, 2)])
    assert "<特级>" not in svg
    root = parse(svg)  # well-formed XML despite it all
    by_id = {n.element.get("data-lot-id"): n for n in drawn_nodes(root)}
    assert by_id["1"].element.get("href") == "/lots/1?x=1&y=2"
    assert by_id["1"].title == f"A&B<1> — PORK {name}"
    texts = ["".join(t.text or "" for t in n.element.iter(f"{SVG}text")) for n in by_id.values()]
    assert any("A&B<1>" in t for t in texts)
    assert any("批次二" in t for t in texts)
    assert "水饺" in by_id["2"].title  # the control character is dropped, the name kept


def test_long_names_are_cut_to_fit_their_box_and_kept_whole_in_the_title() -> None:
    name = "超长的产品名称" * 10
    root = parse(trace_svg([GraphNode(1, "L1", 1, "P", name, href="/lots/1")], []))
    (node,) = drawn_nodes(root)
    texts = [t.text or "" for t in node.element.iter(f"{SVG}text")]
    assert texts[1].endswith("…")
    assert len(texts[1]) < len(name)
    assert name in node.title


def test_the_same_lots_draw_the_same_bytes_whatever_order_they_come_in() -> None:
    nodes, edges = layered_dag(seed=8, lots=300, width=20)
    first = trace_svg(nodes, edges)
    shuffled_nodes, shuffled_edges = list(nodes), list(edges)
    random.Random(1).shuffle(shuffled_nodes)
    random.Random(2).shuffle(shuffled_edges)
    assert trace_svg(shuffled_nodes, shuffled_edges) == first
    assert trace_svg(nodes, edges) == first


def test_sweeps_reduce_crossings_against_the_unordered_layout() -> None:
    nodes, edges = layered_dag(seed=9, lots=200, width=10)
    assert lay_out(nodes, edges, sweeps=4).crossings < lay_out(nodes, edges, sweeps=0).crossings


def test_upstream_is_left_of_downstream_and_a_raw_material_sits_just_before_its_first_use() -> None:
    # pork → filling → dumpling ← flour: flour goes into the second step only.
    nodes = [lot(1, 1), lot(2, 2), lot(3, 3), lot(4, 4)]
    layout = lay_out(nodes, [(1, 2), (2, 3), (4, 3)])
    layer = {box.lots[0].lot_id: box.layer for box in layout.boxes}
    assert layer == {1: 0, 2: 1, 3: 2, 4: 1}
    x = {box.lots[0].lot_id: box.x for box in layout.boxes}
    assert x[1] < x[2] < x[3]
    assert x[4] < x[3]


@pytest.mark.parametrize(
    "edges",
    [
        [(1, 2), (2, 3), (3, 1)],  # a cycle, which genealogy should never hold
        [(1, 99), (98, 2), (1, 1)],  # lots not in the graph, and a loop
    ],
)
def test_edges_that_are_not_a_dag_among_the_lots_still_draw(edges: list[tuple[int, int]]) -> None:
    root = parse(trace_svg([lot(1), lot(2), lot(3)], edges))
    assert len(drawn_nodes(root)) == 3


def test_a_lone_lot_is_a_picture_wide_enough_for_the_legend() -> None:
    root = parse(trace_svg([lot(1, focus=True)], []))
    (node,) = drawn_nodes(root)
    assert node.element.get("href") == "/lots/1"
    assert float(root.get("width") or 0) > 400  # the legend's width, not just one box
    assert_within_view(root, [node])
