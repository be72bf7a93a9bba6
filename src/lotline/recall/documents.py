"""The documents of a recall case, rendered from its :class:`CaseView` (no database access): the
customer notice (召回通知) and the recall report (召回报告) as PDF in Chinese or English, the
notice list as CSV, and the report as an XLSX workbook.

Fonts follow the packing list: reportlab's built-in CID font STSong-Light for Chinese (no font
file to ship, TRAPS.md), Helvetica for English, and STSong-Light for any cell of an English
document that holds Chinese (a customer's name). Times are shown in the site's zone. A document
dated "now" takes ``issued_at`` from the caller (``uow.now()``); without it the wall clock is read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import xlsxwriter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from lotline.domain.errors import N_, NotFound, Translate
from lotline.domain.recall import DeadlineState
from lotline.domain.units import plain
from lotline.i18n import gettext_for, normalize
from lotline.outbound.packing_list import CJK_FONT, LATIN_FONT
from lotline.recall.queries import AffectedLine, CaseView, Customer, ProductTotal, ScopeLot

# The recall pages' labels (web/recall.py), so the documents and the pages say the same; "active"
# is "In progress" here because the catalog's "Active" means an enabled record (启用).
LEVELS = {
    "cn-1": N_("China level 1 (serious harm)"),
    "cn-2": N_("China level 2"),
    "cn-3": N_("China level 3 (labelling)"),
    "us-I": N_("US FDA class I"),
    "us-II": N_("US FDA class II"),
    "us-III": N_("US FDA class III"),
}
KINDS = {"recall": N_("Recall"), "drill": N_("Mock-recall drill")}
STATUSES = {
    "draft": N_("Draft: not started"),
    "active": N_("In progress"),
    "closed": N_("Closed"),
    "completed": N_("Completed"),
}
DEADLINE_STATES = {
    "met": N_("met"),
    "on_track": N_("on track"),
    "due_soon": N_("due soon"),
    "overdue": N_("overdue"),
    "missed": N_("missed"),
    "none": N_("no deadline"),
}
CHANNELS = {
    "phone": N_("Phone"),
    "email": N_("E-mail"),
    "letter": N_("Letter"),
    "visit": N_("Visit"),
    "edi": N_("EDI message"),
}
# Quality statuses of lots and statuses of stock (the msgids of web/labels.py).
STOCK_STATES = {
    "AVAILABLE": N_("Available"),
    "QUARANTINE": N_("Quarantine"),
    "RELEASED": N_("Released"),
    "REJECTED": N_("Rejected"),
    "IN_TRANSIT": N_("In transit"),
    "RETAINED_SAMPLE": N_("Retained sample"),
}
DRILL_NOTE = N_("Drill: this is an exercise, not a real recall.")
NOTICE_STEPS = (
    N_("Stop selling, distributing and using the products and lots listed below at once."),
    N_("Quarantine all remaining stock of these lots: label it and keep it apart from other goods."),
    N_(
        "Return the stock to us or destroy it as we instruct, and report to us the quantities you "
        "still hold, returned and destroyed."
    ),
    N_("If you passed any of these lots on to others, forward this notice to them at once."),
    N_("Confirm that you received this notice, and direct any questions to the contact below."),
)
CSV_HEADER = (
    "Customer code",
    "Customer name (zh)",
    "Customer name (en)",
    "Contact names",
    "Contact phones",
    "Contact emails",
    "Address",
    "Product code",
    "Product name (zh)",
    "Product name (en)",
    "Lots",
    "Shipments",
    "Qty shipped",
    "Unit",
    "Returned",
    "Destroyed",
    "Recovered",
    "Effectiveness %",
    "Notified at",
    "Notified by",
    "Channel",
)
_ADDRESS_ORDER = {
    "zh_CN": (("country", "province", "city", "street", "postcode"), " "),
    "en": (("street", "city", "province", "postcode", "country"), ", "),
}


class CustomerNotInCase(NotFound, KeyError):
    """The customer got nothing of the case's lots: a NotFound (a 404 problem through the one
    error handler) that is also a KeyError."""

    code = "recall.customer_not_in_case"
    __str__ = Exception.__str__  # KeyError's would quote the message


# --- values shared by the documents ------------------------------------------------------------


def _customer(view: CaseView, customer_id: int) -> Customer:
    for customer in view.customers:
        if customer.customer_id == customer_id:
            return customer
    raise CustomerNotInCase(entity=N_("customer"), key=customer_id, field="customer_id")


def _lines_by_product(view: CaseView) -> dict[tuple[int, str], list[AffectedLine]]:
    grouped: dict[tuple[int, str], list[AffectedLine]] = {}
    for line in view.lines:
        grouped.setdefault((line.customer_id, line.product_code), []).append(line)
    return grouped


def _customer_products(
    view: CaseView,
) -> Iterator[tuple[Customer, ProductTotal, list[AffectedLine]]]:
    """Each customer × product, with the shipment lines behind it (customers as the view orders them)."""
    grouped = _lines_by_product(view)
    for customer in view.customers:
        for code in sorted(customer.products):
            yield customer, customer.products[code], grouped.get((customer.customer_id, code), [])


def _shipments(lines: Iterable[AffectedLine]) -> list[str]:
    return sorted({line.shipment_number for line in lines})


def _name(zh: str, en: str, language: str) -> str:
    return (zh or en) if language == "zh_CN" else (en or zh)


def _address(address: dict[str, Any], language: str) -> str:
    keys, separator = _ADDRESS_ORDER[language]
    return separator.join(str(address[key]) for key in keys if address.get(key))


def _contacts(customer: Customer, key: str) -> str:
    return "; ".join(str(contact[key]) for contact in customer.contacts if contact.get(key))


def _local(moment: datetime | None, zone: str) -> datetime | None:
    return moment.astimezone(ZoneInfo(zone)) if moment is not None else None


def _when(moment: datetime | None, zone: str) -> str:
    local = _local(moment, zone)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def _percent(share: Decimal | None) -> str:
    """0.8333 → "83.33"; no share (nothing shipped) → ""."""
    return "" if share is None else plain((share * 100).quantize(Decimal("0.01")))


def _shown_percent(share: Decimal | None) -> str:
    return f"{_percent(share)} %" if share is not None else "—"


def _label(table: dict[str, str], code: str | None, _: Translate) -> str:
    return _(table[code]) if code in table else (code or "")


def _trigger(trigger: dict[str, Any], _: Translate) -> str:
    kind = trigger.get("kind")
    if kind == "supplier_lot":
        return _(N_("Supplier {supplier}, supplier lot {lot}")).format(
            supplier=trigger.get("supplier_code", ""), lot=trigger.get("supplier_lot_code", "")
        )
    if kind == "product_range":
        return _(N_("Product {product}, made from {start} to {end}")).format(
            product=trigger.get("product_code", ""),
            start=trigger.get("date_from", ""),
            end=trigger.get("date_to", ""),
        )
    text = _(N_("Lots {lots}")).format(lots=", ".join(trigger.get("lot_codes", [])))
    if trigger.get("product_code"):
        text += f" ({trigger['product_code']})"
    return text


def _scope_lots(view: CaseView) -> dict[int, ScopeLot]:
    return {lot.lot_id: lot for lot in view.lots}


def _language(language: str) -> str:
    return "zh_CN" if normalize(language) == "zh_CN" else "en"


def _issued(issued_at: datetime | None) -> datetime:
    return issued_at or datetime.now(UTC)


# --- CSV ----------------------------------------------------------------------------------------


def _inert(text: str) -> str:
    """Text Excel would read as a formula (=, +, -, @ first: a name, or a phone as "+86 …") gets a
    leading apostrophe, which Excel hides (OWASP's advice against CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def notices_csv(view: CaseView) -> bytes:
    """One row per customer × product for a mail merge or a call list; UTF-8 with BOM for Excel.
    Times are ISO 8601 in the site's zone, with its offset; text that would start a formula in
    Excel is prefixed with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for customer, product, lines in _customer_products(view):
        notified = _local(customer.notified_at, view.site_zone)
        text = (
            customer.code,
            customer.name_zh,
            customer.name_en,
            _contacts(customer, "name"),
            _contacts(customer, "phone"),
            _contacts(customer, "email"),
            _address(customer.address, "en"),
            product.product_code,
            product.product_name_zh,
            product.product_name_en,
            "; ".join(sorted(product.lots)),
            "; ".join(_shipments(lines)),
        )
        numbers = (
            plain(product.shipped),
            product.base_unit,
            plain(product.returned),
            plain(product.destroyed),
            plain(product.recovered),
            _percent(product.effectiveness),
            notified.isoformat(timespec="seconds") if notified else "",
            _inert(customer.notified_by or ""),
            customer.channel or "",
        )
        writer.writerow([*map(_inert, text), *numbers])
    return buffer.getvalue().encode("utf-8-sig")


# --- PDF ----------------------------------------------------------------------------------------


def _cjk() -> str:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Pdf:
    """One PDF in one language: its styles, its story, and the cells and tables it is made of."""

    WIDTH = 180 * mm  # A4 less 15 mm margins

    def __init__(self, language: str) -> None:
        self.language = _language(language)
        self._ = gettext_for(self.language)
        self.font = _cjk() if self.language == "zh_CN" else LATIN_FONT
        self.text = ParagraphStyle("text", fontName=self.font, fontSize=8.5, leading=11)
        # A Chinese name in an English document still needs the CJK font.
        self.wide = ParagraphStyle("wide", parent=self.text, fontName=_cjk())
        self.title_style = ParagraphStyle("title", fontName=self.font, fontSize=16, leading=20, spaceAfter=6)
        self.heading_style = ParagraphStyle(
            "heading",
            fontName=self.font,
            fontSize=11,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
        )
        self.story: list[Any] = []

    def cell(self, value: object) -> Paragraph:
        shown = "" if value is None else str(value)
        style = self.wide if any(ord(c) > 0xFF for c in shown) else self.text
        return Paragraph(_escape(shown).replace("\n", "<br/>"), style)

    def title(self, text: str) -> None:
        self.story.append(Paragraph(_escape(text), self.title_style))

    def heading(self, msgid: str) -> None:
        self.story.append(Paragraph(_escape(self._(msgid)), self.heading_style))

    def para(self, text: str) -> None:
        self.story += [self.cell(text), Spacer(1, 1.5 * mm)]

    def facts(self, pairs: Sequence[tuple[str, object]]) -> None:
        rows = [[self.cell(self._(label)), self.cell(value)] for label, value in pairs]
        self._table(rows, [45 * mm, self.WIDTH - 45 * mm], lines=False)

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[float]) -> None:
        """A table that breaks across pages, its header repeated on each."""
        body = [[self.cell(self._(h)) for h in header]]
        body += [[self.cell(value) for value in row] for row in rows]
        if len(body) == 1:
            body.append([self.cell(self._(N_("None")))] + [self.cell("") for _h in header[1:]])
        scale = self.WIDTH / sum(widths)
        self._table(body, [w * scale for w in widths], lines=True)

    def _table(self, rows: list[list[Paragraph]], widths: list[float], *, lines: bool) -> None:
        table = LongTable(rows, colWidths=widths, repeatRows=1 if lines else 0)
        style: list[tuple[object, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
        if lines:
            style += [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ]
        table.setStyle(TableStyle(style))
        self.story += [table, Spacer(1, 2 * mm)]

    def render(self, document_title: str, number: str) -> bytes:
        buffer = io.BytesIO()
        page_label = self._(N_("Page {page}"))

        def footer(canvas: Any, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(self.font, 7)
            canvas.drawString(15 * mm, 8 * mm, f"{number} | {document_title}")
            canvas.drawRightString(195 * mm, 8 * mm, page_label.format(page=doc.page))
            canvas.restoreState()

        pdf = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=15 * mm,
            bottomMargin=15 * mm,
            title=f"{document_title} {number}",
        )
        pdf.build(self.story, onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue()


def _qty(value: Decimal, unit: str) -> str:
    return f"{plain(value)} {unit}"


def notice_pdf(
    view: CaseView, customer_id: int, language: str, *, issued_at: datetime | None = None
) -> bytes:
    """The recall notice to one customer of the case. Raises :class:`CustomerNotInCase` (a
    ``NotFound`` and a ``KeyError``) for a customer the case's lots never reached."""
    customer = _customer(view, customer_id)
    pdf = _Pdf(language)
    _, case, zone = pdf._, view.case, view.site_zone
    title = _(N_("Product recall notice"))
    pdf.title(title)
    if case.kind == "drill":
        pdf.para(_(DRILL_NOTE))
    issued = _local(_issued(issued_at), zone)
    pdf.facts(
        [
            (N_("Recall number"), case.number),
            (N_("Recall level"), _label(LEVELS, case.level, _)),
            (N_("Issued by"), _(N_("QA department, site {site}")).format(site=view.site_code)),
            (N_("Date issued"), issued.date().isoformat() if issued else ""),
            (
                N_("Addressed to"),
                f"{_name(customer.name_zh, customer.name_en, pdf.language)} ({customer.code})",
            ),
            (N_("Address"), _address(customer.address, pdf.language)),
        ]
    )
    pdf.heading(N_("Reason for the recall"))
    pdf.para(case.reason)
    pdf.heading(N_("What you must do"))
    for number, step in enumerate(NOTICE_STEPS, start=1):
        pdf.para(f"{number}. {_(step)}")
    pdf.heading(N_("Affected products and lots"))
    lots = _scope_lots(view)
    rows: list[list[object]] = []
    totals: dict[str, Decimal] = {}
    for line in view.lines:
        if line.customer_id != customer.customer_id:
            continue
        product = customer.products.get(line.product_code)
        name = _name(product.product_name_zh, product.product_name_en, pdf.language) if product else ""
        lot = lots.get(line.lot_id)
        rows.append(
            [
                f"{line.product_code} {name}",
                line.lot_code,
                lot.expiry_date.isoformat() if lot else "",
                line.shipment_number,
                _when(line.shipped_at, zone),
                _qty(line.qty_base, line.base_unit),
            ]
        )
        totals[line.base_unit] = totals.get(line.base_unit, Decimal(0)) + line.qty_base
    rows.append([_(N_("Total")), "", "", "", "", ", ".join(_qty(q, u) for u, q in totals.items())])
    pdf.table(
        (N_("Product"), N_("Lot"), N_("Expiry date"), N_("Shipment"), N_("Shipped at"), N_("Quantity")),
        rows,
        [50, 28, 22, 28, 28, 24],
    )
    pdf.heading(N_("Contact"))
    pdf.para(_(N_("QA department, site {site}")).format(site=view.site_code))
    pdf.para(_(N_("Please quote recall number {number}.")).format(number=case.number))
    pdf.para(_(N_("Times are in {zone}.")).format(zone=zone))
    return pdf.render(title, case.number)


def report_pdf(view: CaseView, language: str, *, issued_at: datetime | None = None) -> bytes:
    """The recall report: the case, its timeline and deadlines, scope, customers and recovery,
    stock and holds, and for a drill the mass balance."""
    pdf = _Pdf(language)
    _, case, zone, lang = pdf._, view.case, view.site_zone, pdf.language
    title = _(N_("Mock recall report") if case.kind == "drill" else N_("Recall report"))
    pdf.title(title)
    if case.kind == "drill":
        pdf.para(_(DRILL_NOTE))
    pdf.facts(
        [
            (N_("Recall number"), case.number),
            (N_("Kind"), _label(KINDS, case.kind, _)),
            (N_("Recall level"), _label(LEVELS, case.level, _)),
            (N_("Status"), _label(STATUSES, case.status, _)),
            (N_("Reason"), case.reason),
            (N_("Trigger"), _trigger(case.trigger, _)),
            (N_("Site"), view.site_code),
            (N_("Generated at"), _when(_issued(issued_at), zone)),
            (N_("Time zone"), zone),
        ]
    )
    pdf.heading(N_("Timeline"))
    pdf.table((N_("Event"), N_("Time"), N_("By"), N_("Note")), _timeline(view, _), [35, 30, 40, 75])
    pdf.heading(N_("Deadlines"))
    pdf.table(
        (N_("Deadline"), N_("Due"), N_("Done"), N_("Status")),
        [
            (_(label), _when(due, zone), _when(done, zone), _label(DEADLINE_STATES, state.value, _))
            for label, _status, due, done, state in _deadlines(view)
        ],
        [45, 45, 45, 45],
    )
    pdf.heading(N_("Scope"))
    pdf.facts(
        [
            (N_("Lots in scope"), len(view.lots)),
            (N_("Time to trace (ms)"), case.scope_ms),
        ]
    )
    pdf.table(
        (N_("Lot"), N_("Product"), N_("Expiry date"), N_("Quality status"), N_("On hand"), N_("Trigger lot")),
        [
            (
                lot.code,
                f"{lot.product_code} {_name(lot.product_name_zh, lot.product_name_en, lang)}",
                lot.expiry_date.isoformat(),
                _label(STOCK_STATES, lot.quality_status, _),
                _qty(lot.on_hand_base, lot.base_unit),
                _(N_("yes")) if lot.is_trigger else "",
            )
            for lot in view.lots
        ],
        [30, 50, 22, 25, 30, 18],
    )
    pdf.heading(N_("Customers"))
    pdf.table(
        (N_("Customer"), N_("Product"), N_("Lots"), N_("Shipped"), N_("Recovered"), N_("Effectiveness")),
        [
            (
                f"{customer.code} {_name(customer.name_zh, customer.name_en, lang)}",
                f"{product.product_code} {_name(product.product_name_zh, product.product_name_en, lang)}",
                ", ".join(sorted(product.lots)),
                _qty(product.shipped, product.base_unit),
                _qty(product.recovered, product.base_unit),
                _shown_percent(product.effectiveness),
            )
            for customer, product, _lines in _customer_products(view)
        ],
        [38, 38, 30, 25, 25, 24],
    )
    pdf.heading(N_("Notices"))
    pdf.table(
        (N_("Customer"), N_("Notified at"), N_("Notified by"), N_("Channel")),
        [
            (
                f"{customer.code} {_name(customer.name_zh, customer.name_en, lang)}",
                _when(customer.notified_at, zone) or _(N_("not notified")),
                customer.notified_by or "",
                _label(CHANNELS, customer.channel, _),
            )
            for customer in view.customers
        ],
        [60, 40, 45, 35],
    )
    check = view.check_level
    pdf.facts(
        [
            (N_("Customers notified"), f"{view.notified} / {len(view.customers)}"),
            (N_("FDA effectiveness check level"), check.value if check else ""),
            (N_("Overall effectiveness"), _shown_percent(view.effectiveness)),
        ]
    )
    pdf.heading(N_("Shipments"))
    names = {customer.customer_id: customer.code for customer in view.customers}
    pdf.table(
        (N_("Shipment"), N_("Shipped at"), N_("Customer"), N_("Lot"), N_("Quantity"), N_("Returned")),
        [
            (
                line.shipment_number,
                _when(line.shipped_at, zone),
                names.get(line.customer_id, str(line.customer_id)),
                line.lot_code,
                _qty(line.qty_base, line.base_unit),
                _qty(line.returned_base, line.base_unit),
            )
            for line in view.lines
        ],
        [30, 30, 30, 30, 30, 30],
    )
    _report_stock(pdf, view)
    if case.kind == "drill":
        _report_balance(pdf, view)
    return pdf.render(title, case.number)


def _timeline(view: CaseView, _: Translate) -> list[tuple[str, str, str, str]]:
    case, zone = view.case, view.site_zone
    closed = N_("Completed") if case.kind == "drill" else N_("Closed (signed)")
    return [
        (_(N_("Discovered")), _when(case.discovered_at, zone), "", ""),
        (_(N_("Opened")), _when(case.opened_at, zone), case.opened_by, ""),
        (_(N_("Started (signed)")), _when(case.started_at, zone), case.started_by or "", ""),
        (_(closed), _when(case.closed_at, zone), case.closed_by or "", case.close_note or ""),
    ]


def _deadlines(view: CaseView) -> list[tuple[str, str, datetime | None, datetime | None, DeadlineState]]:
    """(label, its status's label, due, done, state) of the start and completion deadlines."""
    case = view.case
    return [
        (
            N_("Start deadline"),
            N_("Start deadline status"),
            case.start_due_at,
            case.started_at,
            view.start_state,
        ),
        (
            N_("Completion deadline"),
            N_("Completion deadline status"),
            case.complete_due_at,
            case.closed_at,
            view.complete_state,
        ),
    ]


def _report_stock(pdf: _Pdf, view: CaseView) -> None:
    _, zone, units = pdf._, view.site_zone, _scope_lots(view)
    pdf.heading(N_("Stock in scope now"))
    pdf.table(
        (N_("Lot"), N_("Location"), N_("Site"), N_("Stock status"), N_("Quantity"), N_("Held")),
        [
            (
                row.lot_code,
                row.location_code,
                row.site_code,
                _label(STOCK_STATES, row.stock_status, _),
                _qty(row.qty_base, units[row.lot_id].base_unit if row.lot_id in units else ""),
                _(N_("yes")) if row.held else _(N_("no")),
            )
            for row in view.stock
        ],
        [30, 35, 20, 30, 35, 15],
    )
    if view.case.kind != "drill":
        pdf.facts([(N_("Stock rows not held by this recall"), len(view.unheld_stock))])
    pdf.heading(N_("Holds placed"))
    pdf.table(
        (N_("Lot"), N_("Placed at"), N_("Placed by"), N_("Lifted")),
        [
            (hold.lot_code, _when(hold.placed_at, zone), hold.placed_by, _when(hold.lifted_at, zone))
            for hold in view.holds
        ],
        [40, 45, 50, 45],
    )


def _balance(view: CaseView) -> tuple[dict[str, Any], list[tuple[str, Decimal, str]]]:
    """The drill's result and its unbalanced lots as (lot, difference, unit)."""
    result = view.case.drill_result or {}
    units = _scope_lots(view)
    unbalanced = [
        (
            str(item.get("lot", item.get("lot_id", ""))),
            Decimal(str(item.get("difference", "0"))),
            units[item["lot_id"]].base_unit if item.get("lot_id") in units else "",
        )
        for item in result.get("unbalanced", [])
    ]
    return result, unbalanced


def _report_balance(pdf: _Pdf, view: CaseView) -> None:
    result, unbalanced = _balance(view)
    pdf.heading(N_("Mass balance"))
    pdf.facts(
        [
            (N_("Lots balanced"), f"{result.get('balanced', '')} / {result.get('lots', '')}"),
            (N_("Time to trace (ms)"), result.get("time_to_trace_ms", "")),
            (N_("Balance check time (ms)"), result.get("balance_ms", "")),
        ]
    )
    pdf.table(
        (N_("Unbalanced lot"), N_("Difference")),
        [(lot, _qty(difference, unit)) for lot, difference, unit in unbalanced],
        [90, 90],
    )


# --- XLSX ---------------------------------------------------------------------------------------


class _Percent(NamedTuple):
    """A share (0–1) written as a percentage."""

    share: Decimal | None


class _Book:
    """An xlsxwriter workbook in memory: bold frozen header rows, autofilters, and cells typed by
    their values (Decimal → number, datetime → the site's local time, date, text)."""

    def __init__(self, zone: str, _: Translate) -> None:
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True})
        self.zone, self._ = zone, _
        self.formats = {
            "header": self.book.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1}),
            "number": self.book.add_format({"num_format": "0.######"}),
            "percent": self.book.add_format({"num_format": "0.00%"}),
            "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "date": self.book.add_format({"num_format": "yyyy-mm-dd"}),
        }

    def write(self, sheet: Any, row: int, col: int, value: object) -> None:
        number_format = self.formats["number"]
        if isinstance(value, _Percent):
            value, number_format = value.share, self.formats["percent"]
        if value is None or value == "":
            sheet.write_blank(row, col, None)
        elif isinstance(value, datetime):
            local = value.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
            sheet.write_datetime(row, col, local, self.formats["datetime"])
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime.combine(value, datetime.min.time()), self.formats["date"])
        elif isinstance(value, bool):
            sheet.write_string(row, col, self._(N_("yes")) if value else self._(N_("no")))
        elif isinstance(value, Decimal | int | float):
            sheet.write_number(row, col, float(value), number_format)
        else:
            sheet.write_string(row, col, str(value))

    def sheet(self, name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        sheet = self.book.add_worksheet(_sheet_name(self._(name)))
        for col, msgid in enumerate(header):
            label = self._(msgid)
            sheet.write_string(0, col, label, self.formats["header"])
            sheet.set_column(col, col, max(12, min(40, len(label) * 2)))
        last = 0
        for last, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                self.write(sheet, last, col, value)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(last, 1), len(header) - 1)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _sheet_name(name: str) -> str:
    """Excel refuses []:*?/\\ in sheet names and more than 31 characters."""
    return "".join(" " if c in "[]:*?/\\" else c for c in name)[:31]


def report_xlsx(view: CaseView, language: str, *, issued_at: datetime | None = None) -> bytes:
    """The recall report as a workbook: Summary, Customers, Shipments, Lots in scope, Stock, Holds
    and, for a drill, Mass balance; sheet names and headers in the reader's language."""
    lang = _language(language)
    _ = gettext_for(lang)
    book = _Book(view.site_zone, _)
    summary = _summary(view, _, _issued(issued_at))
    book.sheet(N_("Summary"), (N_("Item"), N_("Value")), [(_(label), value) for label, value in summary])
    book.sheet(
        N_("Customers"),
        (
            N_("Customer code"),
            N_("Customer"),
            N_("Product code"),
            N_("Product"),
            N_("Lots"),
            N_("Shipments"),
            N_("Shipped"),
            N_("Unit"),
            N_("Returned"),
            N_("Destroyed"),
            N_("Recovered"),
            N_("Effectiveness"),
            N_("Notified at"),
            N_("Notified by"),
            N_("Channel"),
            N_("Contact"),
        ),
        [
            (
                customer.code,
                _name(customer.name_zh, customer.name_en, lang),
                product.product_code,
                _name(product.product_name_zh, product.product_name_en, lang),
                ", ".join(sorted(product.lots)),
                ", ".join(_shipments(lines)),
                product.shipped,
                product.base_unit,
                product.returned,
                product.destroyed,
                product.recovered,
                _Percent(product.effectiveness),
                customer.notified_at,
                customer.notified_by,
                _label(CHANNELS, customer.channel, _),
                "; ".join(" ".join(str(v) for v in contact.values() if v) for contact in customer.contacts),
            )
            for customer, product, lines in _customer_products(view)
        ],
    )
    names = {c.customer_id: (c.code, _name(c.name_zh, c.name_en, lang)) for c in view.customers}
    book.sheet(
        N_("Shipments"),
        (
            N_("Shipment"),
            N_("Shipped at"),
            N_("Customer code"),
            N_("Customer"),
            N_("Lot"),
            N_("Product code"),
            N_("Quantity"),
            N_("Unit"),
            N_("Returned"),
        ),
        [
            (
                line.shipment_number,
                line.shipped_at,
                *names.get(line.customer_id, (str(line.customer_id), "")),
                line.lot_code,
                line.product_code,
                line.qty_base,
                line.base_unit,
                line.returned_base,
            )
            for line in view.lines
        ],
    )
    _xlsx_scope(book, view, lang)
    if view.case.kind == "drill":
        book.sheet(
            N_("Mass balance"), (N_("Unbalanced lot"), N_("Difference"), N_("Unit")), _balance(view)[1]
        )
    return book.close()


def _summary(view: CaseView, _: Translate, issued: datetime) -> list[tuple[str, object]]:
    case = view.case
    check = view.check_level
    rows: list[tuple[str, object]] = [
        (N_("Recall number"), case.number),
        (N_("Kind"), _label(KINDS, case.kind, _)),
        (N_("Recall level"), _label(LEVELS, case.level, _)),
        (N_("Status"), _label(STATUSES, case.status, _)),
        (N_("Reason"), case.reason),
        (N_("Trigger"), _trigger(case.trigger, _)),
        (N_("Site"), view.site_code),
        (N_("Time zone"), view.site_zone),
        (N_("Discovered"), case.discovered_at),
        (N_("Opened"), case.opened_at),
        (N_("Opened by"), case.opened_by),
        (N_("Started (signed)"), case.started_at),
        (N_("Started by"), case.started_by),
        (N_("Closed (signed)"), case.closed_at),
        (N_("Closed by"), case.closed_by),
        (N_("Note"), case.close_note),
    ]
    for label, status, due, _done, state in _deadlines(view):
        rows += [(label, due), (status, _label(DEADLINE_STATES, state.value, _))]
    rows += [
        (N_("Lots in scope"), len(view.lots)),
        (N_("Time to trace (ms)"), case.scope_ms),
        (N_("Customers"), len(view.customers)),
        (N_("Customers notified"), view.notified),
        (N_("FDA effectiveness check level"), check.value if check else None),
        (N_("Overall effectiveness"), _Percent(view.effectiveness)),
        (N_("Stock rows not held by this recall"), len(view.unheld_stock)),
    ]
    if case.kind == "drill":
        result = case.drill_result or {}
        rows += [
            (N_("Lots balanced"), result.get("balanced")),
            (N_("Balance check time (ms)"), result.get("balance_ms")),
        ]
    rows.append((N_("Generated at"), issued))
    return rows


def _xlsx_scope(book: _Book, view: CaseView, lang: str) -> None:
    _, units = book._, _scope_lots(view)
    book.sheet(
        N_("Lots in scope"),
        (
            N_("Lot"),
            N_("Product code"),
            N_("Product"),
            N_("Expiry date"),
            N_("Quality status"),
            N_("On hand"),
            N_("Unit"),
            N_("Trigger lot"),
        ),
        [
            (
                lot.code,
                lot.product_code,
                _name(lot.product_name_zh, lot.product_name_en, lang),
                lot.expiry_date,
                _label(STOCK_STATES, lot.quality_status, _),
                lot.on_hand_base,
                lot.base_unit,
                lot.is_trigger,
            )
            for lot in view.lots
        ],
    )
    book.sheet(
        N_("Stock"),
        (N_("Lot"), N_("Location"), N_("Site"), N_("Stock status"), N_("Quantity"), N_("Unit"), N_("Held")),
        [
            (
                row.lot_code,
                row.location_code,
                row.site_code,
                _label(STOCK_STATES, row.stock_status, _),
                row.qty_base,
                units[row.lot_id].base_unit if row.lot_id in units else None,
                row.held,
            )
            for row in view.stock
        ],
    )
    book.sheet(
        N_("Holds"),
        (N_("Lot"), N_("Placed at"), N_("Placed by"), N_("Lifted")),
        [(hold.lot_code, hold.placed_at, hold.placed_by, hold.lifted_at) for hold in view.holds],
    )
