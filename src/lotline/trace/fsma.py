"""FDA FSMA 204: the electronic sortable spreadsheet of traceability records (21 CFR 1.1455(c)).

One row per critical tracking event line, with the key data elements (KDEs) of §§ 1.1340-1.1350:

- **Shipping**: one row per shipment line. Ship-from is the site, ship-to the customer (the order
  line's ship-to text where it has one).
- **Receiving**: one row per receipt line. Ship-from is the supplier (the immediate previous
  source), ship-to the receiving site.
- **Transformation**: one row per input lot and output lot of a transformation (a genealogy
  edge): the new lot in the main columns, the lot used in the ``Input …`` columns; all rows of
  one transformation share its reference document number.

A traceability lot code (TLC) is assigned only where the food is packed or transformed. For a
lot lotline *produced* the TLC is its lot code and the TLC source the producing site; for a
*received* lot it is the supplier's lot code and source (the receipt line's ``tlc_source``, else
the supplier's name and address) — lotline's internal lot code of a receipt is not a TLC and is
shown only in ``Internal Lot Code``.

Rows come from three set-based queries (shipping, receiving, transformation lines), each
streamed in time order and filtered in SQL (food, dates in each site's time zone, lot codes or
an explicit lot-id set such as a recall scope, the caller's sites); sites, partners and products
are master data, read once. The default order — event date (site-local), TLC, event type
(receiving, transformation, shipping), then time — is made by merging the three streams and
re-sorting only the rows of dates still open, so memory holds about one day of rows, never the
export. ``Row`` numbers that order; the "Missing KDEs" list refers to rows by it.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, case, func, or_, select, type_coerce, union
from sqlalchemy.orm import aliased

from lotline.db import is_one_of
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.models.catalog import Partner, Product
from lotline.models.inbound import Receipt, ReceiptLine
from lotline.models.lot import Lot
from lotline.models.outbound import SalesOrder, SalesOrderLine, Shipment, ShipmentLine
from lotline.models.production import GenealogyEdge, ProductionOrder, Transformation
from lotline.models.site import Site
from lotline.models.stock import StockMovement
from lotline.uow import UnitOfWork

SHIPPING, RECEIVING, TRANSFORMATION = "Shipping", "Receiving", "Transformation"
_EVENT_RANK: Final = {RECEIVING: 0, TRANSFORMATION: 1, SHIPPING: 2}
PRODUCED = "PRODUCTION"  # Lot.source of the lots lotline made (the others came from suppliers)

HEADERS: Final = (
    "Row", "Event Type", "Event Date", "Event Time", "Traceability Lot Code",
    "Traceability Lot Code Source", "Product Description", "Product Code", "GTIN", "Quantity",
    "Unit of Measure", "Ship-From Name", "Ship-From Address", "Ship-From GLN", "Ship-To Name",
    "Ship-To Address", "Ship-To GLN", "Transformation Location Name", "Transformation Location Address",
    "Transformation Location GLN", "Input Traceability Lot Code", "Input Product Description",
    "Input Quantity", "Input Unit of Measure", "Reference Document Type", "Reference Document Number",
    "Other References", "Internal Lot Code", "Input Internal Lot Code",
)  # fmt: skip
(
    ROW, EVENT, DATE, TIME, TLC, TLC_SOURCE, PRODUCT, PRODUCT_CODE, GTIN, QTY, UNIT,
    FROM_NAME, FROM_ADDRESS, FROM_GLN, TO_NAME, TO_ADDRESS, TO_GLN,
    AT_NAME, AT_ADDRESS, AT_GLN,
    IN_TLC, IN_PRODUCT, IN_QTY, IN_UNIT,
    DOC_TYPE, DOC_NUMBER, OTHER_REFS, LOT_CODE, IN_LOT_CODE,
) = range(len(HEADERS))  # fmt: skip
NUMBERS: Final = frozenset({QTY, IN_QTY})
MISSING_HEADERS: Final = (
    "Row", "Event Type", "Traceability Lot Code", "Reference Document Number", "Missing KDEs",
)  # fmt: skip

# The KDEs each event must carry (21 CFR 1.1340, 1.1345, 1.1350); a location description is a
# name and an address. GLNs, codes and internal references help but are not required.
_MOVED: Final = (TLC, TLC_SOURCE, PRODUCT, QTY, UNIT, FROM_NAME, FROM_ADDRESS, TO_NAME, TO_ADDRESS, DATE)
REQUIRED: Final[Mapping[str, tuple[int, ...]]] = {
    SHIPPING: (*_MOVED, DOC_TYPE, DOC_NUMBER),
    RECEIVING: (*_MOVED, DOC_TYPE, DOC_NUMBER),
    TRANSFORMATION: (
        *(IN_TLC, IN_PRODUCT, IN_QTY, IN_UNIT),
        *(TLC, TLC_SOURCE, AT_NAME, AT_ADDRESS, DATE, PRODUCT, QTY, UNIT, DOC_TYPE, DOC_NUMBER),
    ),
}

_REQUIRED_VALUES: Final = {event: itemgetter(*columns) for event, columns in REQUIRED.items()}

Row = list[Any]  # one value per HEADERS column: str, Decimal (quantities), date, int (Row) or None


def missing_kdes(row: Sequence[Any]) -> list[str]:
    """The headers of the KDEs this row's event requires and the row leaves empty."""
    values = _REQUIRED_VALUES.get(row[EVENT])
    if values is None or all(values(row)):  # the usual case, quickly (a zero quantity looks further)
        return []
    return [HEADERS[i] for i in REQUIRED[row[EVENT]] if row[i] is None or row[i] == ""]


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the spreadsheet covers; every filter given must hold (None: no filter)."""

    product_ids: frozenset[int] | None = None
    start: date | None = None  # inclusive, in each event's site's time zone
    end: date | None = None  # inclusive
    lot_ids: frozenset[int] | None = None  # events touching these lots (a recall scope, lot codes)
    site_ids: frozenset[int] | None = None  # events at these sites (the caller's)


def resolve_filters(
    uow: UnitOfWork,
    *,
    product_codes: Sequence[str] = (),
    product_ids: Sequence[int] = (),
    start: date | None = None,
    end: date | None = None,
    lot_codes: Sequence[str] = (),
    lot_ids: Iterable[int] | None = None,
    site_ids: Iterable[int] | None = None,
) -> Filters:
    """Filters from what a user typed: product codes and lot codes (lotline's or a TLC) become ids."""
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            N_("{field}: the first date {start} is after the last date {end}."),
            field="from",
            code="fsma.date_range",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    products: set[int] | None = None
    if product_codes or product_ids:
        products = set(product_ids)
        codes = sorted(set(product_codes))
        if codes:
            found = dict(
                uow.session.execute(select(Product.code, Product.id).where(Product.code.in_(codes)))
                .tuples()
                .all()
            )
            for code in codes:
                if code not in found:
                    raise NotFound(entity=N_("product"), key=code, field="product")
            products.update(found.values())
    scope = set(lot_ids) if lot_ids is not None else None
    if lot_codes:
        codes = sorted(set(lot_codes))
        named: dict[str, set[int]] = {code: set() for code in codes}
        for lot_id, code, supplier_code in uow.session.execute(
            select(Lot.id, Lot.code, Lot.supplier_lot_code).where(
                or_(Lot.code.in_(codes), Lot.supplier_lot_code.in_(codes))
            )
        ).tuples():
            for name in (code, supplier_code):
                if name in named:
                    named[name].add(lot_id)
        for code, ids in named.items():
            if not ids:
                raise NotFound(entity=N_("lot"), key=code, field="lot")
        coded = set().union(*named.values())
        scope = coded if scope is None else scope & coded
    return Filters(
        product_ids=frozenset(products) if products is not None else None,
        start=start,
        end=end,
        lot_ids=frozenset(scope) if scope is not None else None,
        site_ids=frozenset(site_ids) if site_ids is not None else None,
    )


# --- master data ------------------------------------------------------------------------------


class Place(NamedTuple):
    name: str
    address: str  # "" when it says nothing that locates the place (no street, no city)
    gln: str | None
    described: str  # name and address; "" when either is unknown (a location description needs both)


def place(name: str, address: str, gln: str | None) -> Place:
    return Place(name, address, gln, f"{name}, {address}" if name and address else "")


class Item(NamedTuple):
    description: str
    code: str
    gtin: str | None
    unit: str


def address_text(address: Mapping[str, Any] | None, phone: str | None = None) -> str:
    """An address on one line: street, city province postcode, country (and phone)."""
    address = address or {}

    def part(name: str) -> str:
        return str(address.get(name) or "").strip()

    if not (part("street") or part("city")):
        return ""
    locality = " ".join(p for p in (part("city"), part("province"), part("postcode")) if p)
    parts = [p for p in (part("street"), locality, part("country")) if p]
    if phone:
        parts.append(f"Tel {phone}")
    return ", ".join(parts)


def _phone(contacts: Any) -> str | None:
    for contact in contacts if isinstance(contacts, list) else ():
        if isinstance(contact, dict) and contact.get("phone"):
            return str(contact["phone"])
    return None


@dataclass
class _Master:
    sites: dict[int, Place]
    zones: dict[int, ZoneInfo]
    partners: dict[int, Place]
    products: dict[int, Item]

    @classmethod
    def load(cls, uow: UnitOfWork) -> _Master:
        run = uow.session.execute
        sites: dict[int, Place] = {}
        zones: dict[int, ZoneInfo] = {}
        for site_id, name, address, gln, zone in run(
            select(Site.id, Site.name_en, Site.address, Site.gln, Site.time_zone)
        ).tuples():
            sites[site_id] = place(name, address_text(address), gln)
            zones[site_id] = ZoneInfo(zone)
        partners = {
            partner_id: place(name, address_text(address, _phone(contacts)), gln)
            for partner_id, name, address, gln, contacts in run(
                select(
                    Partner.id, Partner.name_en, Partner.address, Partner.gln, Partner.contacts
                ).execution_options(yield_per=2000)
            ).tuples()
        }
        products = {
            product_id: Item(name, code, gtin, unit)
            for product_id, name, code, gtin, unit in run(
                select(
                    Product.id, Product.name_en, Product.code, Product.gtin, Product.base_unit
                ).execution_options(yield_per=2000)
            ).tuples()
        }
        return cls(sites, zones, partners, products)

    def tlc(
        self,
        source: str,
        code: str,
        supplier_lot_code: str | None,
        site_id: int,
        supplier_id: int | None,
        tlc_source: str | None,
    ) -> tuple[str | None, str]:
        """A lot's (TLC, TLC source): lotline's for lots it produced, the supplier's for the others."""
        if source == PRODUCED:
            return code, self.sites[site_id].described
        if tlc_source:
            return supplier_lot_code, tlc_source
        supplier = self.partners.get(supplier_id) if supplier_id is not None else None
        return supplier_lot_code, supplier.described if supplier else ""


_NOWHERE = place("", "", None)
_UNKNOWN = Item("", "", None, "")


# --- the three event queries ------------------------------------------------------------------

LOTS, PRODUCTS, SITES = "fsma_lots", "fsma_products", "fsma_sites"
STREAM: Final = {"yield_per": 2000, "stream_results": True}


def _midnight(day: date, zone: ZoneInfo, *, days: int = 0) -> datetime | None:
    """The instant ``days`` after ``day`` begins in ``zone``; None past the ends of the calendar
    (no bound there)."""
    try:
        return datetime.combine(day + timedelta(days=days), time(0), zone).astimezone(UTC)
    except OverflowError:
        return None


def _when(filters: Filters, zones: Mapping[int, ZoneInfo], site_column: Any, at: Any) -> Any:
    """``at`` within the date range, in the time zone of the event's site (one term per zone)."""
    by_zone: dict[str, list[int]] = {}
    for site_id, zone in zones.items():
        if filters.site_ids is None or site_id in filters.site_ids:
            by_zone.setdefault(zone.key, []).append(site_id)
    terms = []
    for key, site_ids in sorted(by_zone.items()):
        zone = ZoneInfo(key)
        term = [site_column.in_(sorted(site_ids))]
        if filters.start is not None and (first := _midnight(filters.start, zone)) is not None:
            term.append(at >= first)
        if filters.end is not None and (after := _midnight(filters.end, zone, days=1)) is not None:
            term.append(at < after)
        terms.append(and_(*term))
    return or_(*terms) if terms else site_column.is_(None)  # no site: nothing matches


def _filtered(
    query: Select[Any],
    filters: Filters,
    zones: Mapping[int, ZoneInfo],
    *,
    site: Any,
    at: Any,
    lots: Any,
    products: Any,
) -> Select[Any]:
    if filters.site_ids is not None:
        query = query.where(is_one_of(site, SITES))
    if filters.start is not None or filters.end is not None:
        query = query.where(_when(filters, zones, site, at))
    if filters.lot_ids is not None:
        query = query.where(lots)
    if filters.product_ids is not None:
        query = query.where(products)
    return query


def _raw(instant: Any) -> Any:
    """An instant as the driver hands it (SQLite: its text; psycopg: an aware datetime), without
    the per-row conversion of ``UTCDateTime``: the builder converts each distinct instant once."""
    return type_coerce(instant, String())


def _received_source() -> Any:
    """The TLC source a received lot came with (its receipt lines'); produced lots need none."""
    given = select(func.max(ReceiptLine.tlc_source)).where(ReceiptLine.lot_id == Lot.id).correlate(Lot)
    return case((Lot.source != PRODUCED, given.scalar_subquery()), else_=None)


def _shipping(filters: Filters, zones: Mapping[int, ZoneInfo]) -> Select[Any]:
    columns = (
        _raw(Shipment.shipped_at), ShipmentLine.id, Shipment.number, Shipment.site_id, Shipment.customer_id,
        SalesOrder.number, SalesOrderLine.ship_to, ShipmentLine.qty_base, Lot.code, Lot.product_id,
        Lot.source, Lot.site_id, Lot.supplier_id, Lot.supplier_lot_code, _received_source(),
    )  # fmt: skip
    query = (
        select(*columns)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(SalesOrderLine, SalesOrderLine.id == ShipmentLine.order_line_id)
        .join(SalesOrder, SalesOrder.id == Shipment.order_id)
        .join(Lot, Lot.id == ShipmentLine.lot_id)
        .order_by(Shipment.shipped_at, ShipmentLine.id)
    )
    return _filtered(
        query, filters, zones, site=Shipment.site_id, at=Shipment.shipped_at,
        lots=is_one_of(ShipmentLine.lot_id, LOTS), products=is_one_of(Lot.product_id, PRODUCTS),
    )  # fmt: skip


def _receiving(filters: Filters, zones: Mapping[int, ZoneInfo]) -> Select[Any]:
    columns = (
        _raw(Receipt.received_at), ReceiptLine.id, Receipt.number, Receipt.site_id, Receipt.supplier_id,
        Receipt.purchase_order, Receipt.delivery_note, ReceiptLine.supplier_lot_code,
        ReceiptLine.tlc_source, ReceiptLine.base_qty, ReceiptLine.product_id, Lot.code,
    )  # fmt: skip
    query = (
        select(*columns)
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .join(Lot, Lot.id == ReceiptLine.lot_id)
        .order_by(Receipt.received_at, ReceiptLine.id)
    )
    return _filtered(
        query, filters, zones, site=Receipt.site_id, at=Receipt.received_at,
        lots=is_one_of(ReceiptLine.lot_id, LOTS), products=is_one_of(ReceiptLine.product_id, PRODUCTS),
    )  # fmt: skip


def _transformation(filters: Filters, zones: Mapping[int, ZoneInfo]) -> Select[Any]:
    edge, made, used, m = GenealogyEdge, aliased(Lot), aliased(Lot), StockMovement
    produced = (
        select(func.sum(m.base_qty))
        .where(m.txn_id == Transformation.txn_id, m.lot_id == made.id, m.kind == "produce")
        .correlate(Transformation, made)
        .scalar_subquery()
    )
    columns = (
        _raw(Transformation.occurred_at), edge.id, Transformation.number, Transformation.site_id,
        Transformation.kind, ProductionOrder.number, made.code, made.product_id, produced, used.code,
        used.product_id, used.source, used.supplier_lot_code, edge.qty, edge.unit,
    )  # fmt: skip
    query = (
        select(*columns)
        .join(Transformation, Transformation.id == edge.transformation_id)
        .join(made, made.id == edge.child_lot_id)
        .join(used, used.id == edge.parent_lot_id)
        .outerjoin(ProductionOrder, ProductionOrder.id == Transformation.production_order_id)
        .order_by(Transformation.occurred_at, edge.id)
    )
    # A lot's transformations: those it went into, and the one that made it (all its inputs).
    touching = union(
        select(edge.id).where(is_one_of(edge.parent_lot_id, LOTS)),
        select(edge.id).where(is_one_of(edge.child_lot_id, LOTS)),
    )
    return _filtered(
        query, filters, zones, site=Transformation.site_id, at=Transformation.occurred_at,
        lots=edge.id.in_(touching),
        products=or_(is_one_of(made.product_id, PRODUCTS), is_one_of(used.product_id, PRODUCTS)),
    )  # fmt: skip


def _params(filters: Filters) -> dict[str, object]:
    params: dict[str, object] = {}
    if filters.lot_ids is not None:
        params[LOTS] = sorted(filters.lot_ids)
    if filters.product_ids is not None:
        params[PRODUCTS] = sorted(filters.product_ids)
    if filters.site_ids is not None:
        params[SITES] = sorted(filters.site_ids)
    return params


def count_rows(uow: UnitOfWork, filters: Filters) -> int:
    """How many rows the spreadsheet will have (three counting queries), for a progress bar."""
    zones = {
        site_id: ZoneInfo(zone) for site_id, zone in uow.session.execute(select(Site.id, Site.time_zone))
    }
    total = 0
    for build in (_shipping, _receiving, _transformation):
        query = build(filters, zones).order_by(None)
        total += int(
            uow.session.execute(
                select(func.count()).select_from(query.subquery()), _params(filters)
            ).scalar_one()
        )
    return total


# --- rows -------------------------------------------------------------------------------------

_Keyed = tuple[tuple[Any, ...], Row]


class _Builder:
    """Turns the three queries' rows into spreadsheet rows with their sort keys."""

    def __init__(self, master: _Master) -> None:
        self.master = master
        # Lines of one shipment, edges of one transformation share their instant: each instant is
        # read and turned into a local date and time once.
        self._local: dict[tuple[int, Any], tuple[datetime, date, str]] = {}

    def _start(self, event: str, site_id: int, raw: Any) -> tuple[Row, datetime]:
        """A new row of ``event`` at ``raw`` (see ``_raw``), and the instant as an aware datetime."""
        row: Row = [None] * len(HEADERS)
        local = self._local.get((site_id, raw))
        if local is None:
            if len(self._local) > 4096:
                self._local.clear()
            at = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            moment = at.astimezone(self.master.zones[site_id])
            local = self._local[site_id, raw] = (at, moment.date(), moment.isoformat(timespec="seconds"))
        row[EVENT], row[DATE], row[TIME] = event, local[1], local[2]
        return row, local[0]

    def _item(self, row: Row, product_id: int) -> None:
        item = self.master.products.get(product_id, _UNKNOWN)
        row[PRODUCT], row[PRODUCT_CODE], row[GTIN], row[UNIT] = (
            item.description,
            item.code,
            item.gtin,
            item.unit,
        )

    @staticmethod
    def _key(row: Row, at: datetime, line_id: int) -> tuple[Any, ...]:
        return (row[DATE], row[TLC] or "", _EVENT_RANK[row[EVENT]], at, line_id)

    def shipping(self, found: Any) -> _Keyed:
        (at, line_id, number, site_id, customer_id, order_number, ship_to, qty,
         code, product_id, source, lot_site, supplier_id, supplier_code, tlc_source) = found  # fmt: skip
        master = self.master
        row, at = self._start(SHIPPING, site_id, at)
        row[TLC], row[TLC_SOURCE] = master.tlc(source, code, supplier_code, lot_site, supplier_id, tlc_source)
        self._item(row, product_id)
        site = master.sites.get(site_id, _NOWHERE)
        customer = master.partners.get(customer_id, _NOWHERE)
        row[QTY], row[FROM_NAME], row[FROM_ADDRESS], row[FROM_GLN] = qty, site.name, site.address, site.gln
        row[TO_NAME], row[TO_ADDRESS], row[TO_GLN] = customer.name, ship_to or customer.address, customer.gln
        row[DOC_TYPE], row[DOC_NUMBER], row[OTHER_REFS] = "Shipment", number, f"Sales order {order_number}"
        row[LOT_CODE] = code
        return self._key(row, at, line_id), row

    def receiving(self, found: Any) -> _Keyed:
        (at, line_id, number, site_id, supplier_id, purchase_order, delivery_note, supplier_code,
         tlc_source, qty, product_id, code) = found  # fmt: skip
        master = self.master
        row, at = self._start(RECEIVING, site_id, at)
        supplier = master.partners.get(supplier_id, _NOWHERE)
        site = master.sites.get(site_id, _NOWHERE)
        row[TLC], row[TLC_SOURCE] = supplier_code, tlc_source or supplier.described
        self._item(row, product_id)
        row[QTY], row[FROM_NAME], row[FROM_ADDRESS], row[FROM_GLN] = (
            qty,
            supplier.name,
            supplier.address,
            supplier.gln,
        )
        row[TO_NAME], row[TO_ADDRESS], row[TO_GLN] = site.name, site.address, site.gln
        row[DOC_TYPE], row[DOC_NUMBER] = "Receipt", number
        others = [f"Purchase order {purchase_order}" if purchase_order else "",
                  f"Delivery note {delivery_note}" if delivery_note else ""]  # fmt: skip
        row[OTHER_REFS] = "; ".join(o for o in others if o) or None
        row[LOT_CODE] = code
        return self._key(row, at, line_id), row

    def transformation(self, found: Any) -> _Keyed:
        (at, edge_id, number, site_id, kind, order_number, code, product_id, qty,
         used_code, used_product, used_source, used_supplier_code, used_qty, used_unit) = found  # fmt: skip
        master = self.master
        row, at = self._start(TRANSFORMATION, site_id, at)
        site = master.sites.get(site_id, _NOWHERE)
        # The new lot's TLC is assigned here: the place of the transformation is its source.
        row[TLC], row[TLC_SOURCE] = code, site.described
        self._item(row, product_id)
        row[QTY], row[AT_NAME], row[AT_ADDRESS], row[AT_GLN] = qty, site.name, site.address, site.gln
        used_item = master.products.get(used_product, _UNKNOWN)
        row[IN_TLC] = used_code if used_source == PRODUCED else used_supplier_code
        row[IN_PRODUCT], row[IN_QTY], row[IN_UNIT] = used_item.description, used_qty, used_unit
        row[DOC_TYPE], row[DOC_NUMBER] = "Transformation record", number
        row[OTHER_REFS] = f"{kind}; production order {order_number}" if order_number else kind
        row[LOT_CODE], row[IN_LOT_CODE] = code, used_code
        return self._key(row, at, edge_id), row


def _stream(
    uow: UnitOfWork, query: Select[Any], params: dict[str, object], build: Callable[[Any], _Keyed]
) -> Iterator[tuple[Any, _Keyed]]:
    # Core rows straight from the session's connection: the ORM's row processing cost a third more.
    for found in uow.session.connection().execute(query.execution_options(**STREAM), params):
        yield found[0], build(found)


def _settled_before(zones: Iterable[ZoneInfo], year: int) -> timedelta:
    """The smallest UTC offset of these zones (either season), less an hour to spare: an event at
    instant t falls on local date (t + this).date() or later, whatever its site."""
    offsets = [
        datetime(year, month, 1, 12, tzinfo=zone).utcoffset() or timedelta(0)
        for zone in zones
        for month in (1, 7)
    ]
    return min(offsets, default=timedelta(0)) - timedelta(hours=1)


def spreadsheet_rows(uow: UnitOfWork, filters: Filters) -> Iterator[Row]:
    """The spreadsheet's rows in the default order, numbered; streamed, never all in memory."""
    master = _Master.load(uow)
    build = _Builder(master)
    params = _params(filters)
    streams = [
        _stream(uow, _shipping(filters, master.zones), params, build.shipping),
        _stream(uow, _receiving(filters, master.zones), params, build.receiving),
        _stream(uow, _transformation(filters, master.zones), params, build.transformation),
    ]
    lag = _settled_before(master.zones.values(), uow.now().year)
    pending: dict[date, list[_Keyed]] = {}  # rows of the local dates that may still get rows
    oldest: date | None = None
    number = 0
    for _raw_at, keyed in heapq.merge(*streams, key=itemgetter(0)):
        at = keyed[0][3]
        if oldest is not None and oldest < (at + lag).date():
            settled = (at + lag).date()
            for day in sorted(day for day in pending if day < settled):
                for _key, row in sorted(pending.pop(day), key=itemgetter(0)):
                    number += 1
                    row[ROW] = number
                    yield row
            oldest = min(pending, default=None)
        day = keyed[0][0]
        pending.setdefault(day, []).append(keyed)
        if oldest is None or day < oldest:
            oldest = day
    for day in sorted(pending):
        for _key, row in sorted(pending[day], key=itemgetter(0)):
            number += 1
            row[ROW] = number
            yield row


# --- writers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    rows: int
    rows_missing_kdes: int


Progress = Callable[[int], None]  # called with the rows written so far, every PROGRESS_EVERY rows
PROGRESS_EVERY = 1000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel opens a CSV file without a byte-order mark in the machine's ANSI code page (GBK on a
# Chinese Windows, cp1252 on an American one) and garbles Chinese names and addresses; with the
# UTF-8 BOM it reads UTF-8. Python reads it back with encoding="utf-8-sig".
BOM = "\ufeff"


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f") if value.is_finite() else str(value)


def _cells(row: Row) -> Row:
    """The row as CSV cells: dates in ISO 8601, quantities in plain digits (None is written empty)."""
    cells = row.copy()
    if cells[DATE] is not None:
        cells[DATE] = cells[DATE].isoformat()
    for column in (QTY, IN_QTY):
        if cells[column] is not None:
            cells[column] = _number(cells[column])
    return cells


def _missing_row(row: Row, missing: list[str]) -> list[Any]:
    return [row[ROW], row[EVENT], row[TLC] or "", row[DOC_NUMBER] or "", ", ".join(missing)]


def write_csv(
    rows: Iterable[Row],
    spreadsheet: IO[str] | None,
    missing: IO[str] | None = None,
    *,
    progress: Progress | None = None,
) -> Written:
    """The spreadsheet as CSV (RFC 4180, UTF-8 with a BOM) and, to ``missing``, its companion list of
    the rows missing KDEs; streams opened as text with ``newline=""``."""
    sheet = csv.writer(spreadsheet) if spreadsheet is not None else None
    gaps = csv.writer(missing) if missing is not None else None
    for stream, writer, headers in ((spreadsheet, sheet, HEADERS), (missing, gaps, MISSING_HEADERS)):
        if stream is not None and writer is not None:
            stream.write(BOM)
            writer.writerow(headers)
    count = short = 0
    for row in rows:
        count += 1
        if sheet is not None:
            sheet.writerow(_cells(row))
        lacking = missing_kdes(row)
        if lacking:
            short += 1
            if gaps is not None:
                gaps.writerow(_missing_row(row, lacking))
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return Written(count, short)


_WIDTHS: Final = {
    ROW: 7, EVENT: 14, DATE: 11, TIME: 25, DOC_TYPE: 20, QTY: 10, UNIT: 8, IN_QTY: 10, IN_UNIT: 8,
}  # fmt: skip


def write_xlsx(
    rows: Iterable[Row], target: str | Path | IO[bytes], *, progress: Progress | None = None
) -> Written:
    """The spreadsheet as an XLSX workbook: sheet 1 the rows (header frozen, autofilter), sheet 2
    "Missing KDEs". Written in xlsxwriter's constant-memory mode (a row at a time per sheet)."""
    import xlsxwriter  # only an XLSX export needs it
    from xlsxwriter.exceptions import FileCreateError

    book = xlsxwriter.Workbook(str(target) if isinstance(target, Path) else target, {"constant_memory": True})
    try:
        bold = book.add_format({"bold": True})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet = book.add_worksheet("FSMA 204")
        gaps = book.add_worksheet("Missing KDEs")
        for column in range(len(HEADERS)):
            sheet.set_column(column, column, _WIDTHS.get(column, 24))
        sheet.write_row(0, 0, HEADERS, bold)
        gaps.set_column(0, 1, 14)
        gaps.set_column(2, 4, 30)
        gaps.write_row(0, 0, MISSING_HEADERS, bold)
        sheet.freeze_panes(1, 0)
        gaps.freeze_panes(1, 0)
        write_string, write_number, write_date = sheet.write_string, sheet.write_number, sheet.write_datetime
        count = short = 0
        for row in rows:
            count += 1
            for column, value in enumerate(row):
                if value is None or value == "":
                    continue
                if column in NUMBERS:
                    write_number(count, column, float(value))
                elif column == DATE:
                    write_date(count, column, value, day)
                elif column == ROW:
                    write_number(count, column, value)
                else:
                    write_string(count, column, value)
            lacking = missing_kdes(row)
            if lacking:
                short += 1
                gaps.write_row(short, 0, _missing_row(row, lacking))
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
        sheet.autofilter(0, 0, count, len(HEADERS) - 1)
        gaps.autofilter(0, 0, short, len(MISSING_HEADERS) - 1)
    finally:
        try:
            book.close()
        except FileCreateError as error:  # the OSError it wraps, as every other writer raises
            cause = error.args[0] if error.args and isinstance(error.args[0], OSError) else None
            raise (cause or OSError(str(error))) from error
    if progress is not None:
        progress(count)
    return Written(count, short)


__all__ = [
    "HEADERS", "MISSING_HEADERS", "RECEIVING", "REQUIRED", "SHIPPING", "TRANSFORMATION",
    "XLSX_MEDIA_TYPE", "Filters", "Row", "Written", "count_rows", "missing_kdes", "resolve_filters",
    "spreadsheet_rows", "write_csv", "write_xlsx",
]  # fmt: skip
