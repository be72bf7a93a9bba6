"""The lot page as the one view of a lot: quality records with their signatures, the trace graph
drawn inline, transport legs, the temperature section and one timeline — in Chinese and English."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from lotline.uow import Database
from tests.api.test_lot_view_api import Story, build_story
from tests.app_fixtures import People
from tests.conftest import FakeClock
from tests.web.webkit import sign_in

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def story(db: Database, clock: FakeClock, people: People) -> Story:
    return build_story(db, clock, people)


def inline_svg(page: str) -> ET.Element:
    """The trace graph as the page carries it: an <svg> element in the HTML, parsed as XML."""
    match = re.search(r"<svg\b.*?</svg>", page, re.S)
    assert match, "the page carries no inline SVG"
    return ET.fromstring(match.group(0))


def section(page: str, heading_id: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', page, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            {"quality": "Quality", "trace": "Trace graph", "timeline": "Timeline", "legs": "Transport legs"},
        ),
        ("zh_CN", {"quality": "质量", "legs": "运输段"}),
    ],
)
def test_the_lot_page_shows_every_section_with_the_graph_inline_and_a_timeline(
    client: TestClient, people: People, story: Story, language: str, words: dict[str, str]
) -> None:
    sign_in(client, "qa_manager", language=language)
    response = client.get(f"/lots/{story.lot}")
    assert response.status_code == 200
    page = response.text
    for heading in ("quality", "trace", "transport", "temperature", "timeline", "stock", "holds", "hist"):
        section(page, heading)
    for word in words.values():
        assert word in page
    assert "<img" not in section(page, "trace")

    graph = inline_svg(page)
    links = {a.get("data-lot-id"): a.get("href") for a in graph.iter(f"{SVG}a")}
    assert links[str(story.lot)] == f"/lots/{story.lot}"
    assert links[str(story.repacked)] == f"/lots/{story.repacked}"
    focus = [a for a in graph.iter(f"{SVG}a") if "focus" in (a.get("class") or "").split()]
    assert [a.get("data-lot-id") for a in focus] == [str(story.lot)]
    assert "recalled" in (focus[0].get("class") or "").split()  # the recall hold stands
    product_names = "".join(t.text or "" for t in graph.iter(f"{SVG}text"))
    assert ("牛奶六连包" if language == "zh_CN" else "Milk six-pack") in product_names

    quality = section(page, "quality")
    assert "two cases dented" in quality
    assert "Admin User" in quality  # the decision's signer
    assert "看过了" in quality  # the inspection's comment

    legs = section(page, "transport")
    assert "Hub &lt;North&gt;" in legs  # escaped, never markup
    assert "沪A·12345" in legs
    assert "TRUCKS" in legs

    timeline = section(page, "timeline")
    events = re.findall(r'<li class="t-([a-z_]+)"', timeline)
    for kind in (
        "created",
        "inspection",
        "decision",
        "hold_placed",
        "hold_lifted",
        "consumed_in",
        "shipment",
    ):
        assert kind in events, (kind, events)
    assert events.index("created") < events.index("shipment") < events.index("customer_return")
    instants = re.findall(r'<time datetime="([^"]+)"', timeline)
    assert instants == sorted(instants)
    if language == "zh_CN":
        assert "召回" in timeline  # the recall hold's type, in Chinese


def test_the_trace_graph_of_a_lot_with_nothing_up_or_down_is_the_lot_alone(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "qa")
    page = client.get(f"/lots/{stock['a']}").text
    graph = inline_svg(page)
    (only,) = list(graph.iter(f"{SVG}a"))
    assert only.get("href") == f"/lots/{stock['a']}"
    assert "focus" in (only.get("class") or "").split()
    assert "No shipment has carried this lot." in section(page, "transport")


def test_another_sites_lot_page_is_not_found(
    client: TestClient, people: People, stock: dict[str, int]
) -> None:
    sign_in(client, "qa")  # qa at site A only
    assert client.get(f"/lots/{stock['b']}").status_code == 404
