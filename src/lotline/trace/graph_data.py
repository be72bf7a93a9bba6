"""What the trace graph of one lot draws, read in a fixed number of queries.

The lot's backward and forward closures (two recursive walks), the genealogy edges among the
lots they reach (one query), and those lots with their products, active holds — a recall hold
told apart from the others — and quality status (one query): four queries, whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Exists, and_, exists, select

from lotline.db import is_one_of
from lotline.domain.status import HoldType
from lotline.models.catalog import Product
from lotline.models.lot import Hold, Lot
from lotline.models.production import GenealogyEdge
from lotline.trace.engine import Direction, closure
from lotline.trace.graph import GraphNode
from lotline.uow import UnitOfWork

LOTS = "graph_lots"  # the bound id list of the graph's lots


@dataclass(frozen=True)
class GraphLot:
    lot_id: int
    code: str
    product_id: int
    product_code: str
    product_name_zh: str
    product_name_en: str
    site_id: int
    quality_status: str
    expiry_date: date
    held: bool  # an active hold other than a recall hold
    recalled: bool  # an active recall hold
    expired: bool  # past its last day of use at ``today``


@dataclass(frozen=True)
class LotGraph:
    """A lot, every lot it was made from and every lot made from it, at any depth."""

    focus: int
    lots: tuple[GraphLot, ...]  # by id
    edges: tuple[tuple[int, int], ...]  # (parent, child), sorted
    upstream: frozenset[int]  # made from (the focus lot not included)
    downstream: frozenset[int]  # used in (likewise)

    def nodes(
        self, *, href: Callable[[GraphLot], str | None], name: Callable[[GraphLot], str]
    ) -> list[GraphNode]:
        """The lots as the drawing takes them, linked by ``href`` and named by ``name``."""
        return [
            GraphNode(
                lot_id=lot.lot_id,
                lot_code=lot.code,
                product_id=lot.product_id,
                product_code=lot.product_code,
                product_name=name(lot),
                href=href(lot),
                held=lot.held,
                recalled=lot.recalled,
                expired=lot.expired,
                focus=lot.lot_id == self.focus,
            )
            for lot in self.lots
        ]


def _active(recall: bool) -> Exists:
    kind = Hold.hold_type == HoldType.RECALL.value if recall else Hold.hold_type != HoldType.RECALL.value
    return exists().where(and_(Hold.lot_id == Lot.id, Hold.lifted_at.is_(None), kind))


def lot_graph(uow: UnitOfWork, *, lot_id: int, today: date) -> LotGraph:
    """The trace graph of ``lot_id``; a lot is expired when its expiry date is before ``today``."""
    upstream = closure(uow, lot_ids=[lot_id], direction=Direction.BACKWARD)
    downstream = closure(uow, lot_ids=[lot_id], direction=Direction.FORWARD)
    reached = sorted(upstream | downstream | {lot_id})
    params = {LOTS: reached}
    edge = GenealogyEdge
    edges = uow.session.execute(
        select(edge.parent_lot_id, edge.child_lot_id)
        .where(is_one_of(edge.parent_lot_id, LOTS), is_one_of(edge.child_lot_id, LOTS))
        .distinct()
        .order_by(edge.parent_lot_id, edge.child_lot_id),
        params,
    ).tuples()
    rows = uow.session.execute(
        select(
            Lot.id,
            Lot.code,
            Lot.product_id,
            Product.code,
            Product.name_zh,
            Product.name_en,
            Lot.site_id,
            Lot.quality_status,
            Lot.expiry_date,
            _active(recall=False),
            _active(recall=True),
        )
        .join(Product, Product.id == Lot.product_id)
        .where(is_one_of(Lot.id, LOTS))
        .order_by(Lot.id),
        params,
    ).tuples()
    lots = tuple(
        GraphLot(
            i, code, product, p_code, zh, en, site, status, expiry, bool(held), bool(recalled), expiry < today
        )
        for i, code, product, p_code, zh, en, site, status, expiry, held, recalled in rows
    )
    return LotGraph(
        focus=lot_id,
        lots=lots,
        edges=tuple((int(p), int(c)) for p, c in edges),
        upstream=frozenset(upstream - {lot_id}),
        downstream=frozenset(downstream - {lot_id}),
    )


__all__ = ["GraphLot", "LotGraph", "lot_graph"]
