"""The packing list (装箱单) of a shipment as a PDF, in Chinese or English.

Rendering only: the shipping service gathers the document. Chinese text uses reportlab's
built-in CID font STSong-Light (no font file to ship, TRAPS.md); English uses Helvetica.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lotline.domain.errors import N_
from lotline.i18n import gettext_for, normalize

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"


@dataclass(frozen=True)
class DocumentLine:
    line_no: int
    product_code: str
    product_name: str
    lot_code: str
    expiry_date: date
    sscc: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class Document:
    number: str
    order: str
    customer_ref: str | None
    customer: str
    carrier: str | None
    vehicle: str | None
    shipped_at: datetime
    zone: str
    lines: list[DocumentLine]
    # (seq, origin, destination, vehicle, departed, arrived)
    legs: list[tuple[int, str | None, str | None, str | None, datetime | None, datetime | None]] = field(
        default_factory=list
    )


def _cjk() -> str:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def _needs_cjk(text: str) -> bool:
    return any(ord(character) > 0xFF for character in text)


def _local(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment else ""


def render(document: Document, language: str, *, compress: bool = True) -> bytes:
    """The PDF bytes; ``compress=False`` leaves page streams readable (tests look for the codes)."""
    _ = gettext_for(language)
    font = _cjk() if normalize(language) == "zh_CN" else LATIN_FONT
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    # A Chinese name or plate in an English list (沪A 12345) still needs the CJK font.
    wide = ParagraphStyle("wide", parent=text, fontName=_cjk())
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)

    def cell(value: object) -> Paragraph:
        shown = "" if value is None else str(value)
        return Paragraph(_escape(shown), wide if _needs_cjk(shown) else text)

    facts = [
        (_(N_("Shipment")), document.number),
        (
            _(N_("Sales order")),
            document.order + (f" ({document.customer_ref})" if document.customer_ref else ""),
        ),
        (_(N_("Customer")), document.customer),
        (_(N_("Carrier")), document.carrier or ""),
        (_(N_("Vehicle")), document.vehicle or ""),
        (_(N_("Shipped at")), _local(document.shipped_at, document.zone)),
    ]
    header = [_(N_("Product")), _(N_("Lot")), _(N_("Expiry date")), _(N_("SSCC")), _(N_("Quantity"))]
    rows = [[cell(h) for h in header]]
    totals: dict[str, Decimal] = {}
    for line in document.lines:
        rows.append(
            [
                cell(f"{line.line_no}. {line.product_code} {line.product_name}"),
                cell(line.lot_code),
                cell(line.expiry_date.isoformat()),
                cell(line.sscc),
                cell(f"{line.quantity.normalize():f} {line.unit}"),
            ]
        )
        totals[line.unit] = totals.get(line.unit, Decimal(0)) + line.quantity
    rows.append(
        [
            cell(_(N_("Total"))),
            cell(""),
            cell(""),
            cell(""),
            cell(", ".join(f"{q.normalize():f} {u}" for u, q in totals.items())),
        ]
    )
    story: list[object] = [
        Paragraph(_escape(_(N_("Packing list"))), title),
        _grid([[cell(k), cell(v)] for k, v in facts], [35 * mm, 140 * mm], lines=False),
        Spacer(1, 4 * mm),
        _grid(rows, [55 * mm, 30 * mm, 22 * mm, 43 * mm, 30 * mm]),
    ]
    if document.legs:
        legs = [
            [
                cell(h)
                for h in (
                    "#",
                    _(N_("From")),
                    _(N_("To")),
                    _(N_("Vehicle")),
                    _(N_("Departed")),
                    _(N_("Arrived")),
                )
            ]
        ]
        legs += [
            [
                cell(seq),
                cell(origin),
                cell(to),
                cell(vehicle),
                cell(_local(gone, document.zone)),
                cell(_local(came, document.zone)),
            ]
            for seq, origin, to, vehicle, gone, came in document.legs
        ]
        story += [
            Paragraph(_escape(_(N_("Transport legs"))), heading),
            _grid(legs, [10 * mm, 40 * mm, 40 * mm, 25 * mm, 32 * mm, 32 * mm]),
        ]
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{_(N_('Packing list'))} {document.number}",
        pageCompression=1 if compress else 0,
    )
    pdf.build(story)
    return buffer.getvalue()


def _grid(rows: list[list[Paragraph]], widths: list[float], *, lines: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if lines else 0)
    style: list[tuple[object, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
    if lines:
        style += [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]
    table.setStyle(TableStyle(style))
    return table


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
