"""``GET /api/v1/fsma204``: the FDA FSMA 204 electronic sortable spreadsheet, as CSV or XLSX.

What FDA may ask for within 24 hours (21 CFR 1.1455(c)): the shipping, receiving and
transformation records of a food, a date range or lot codes, at the sites where the caller holds
TRACE_READ. Bad filters are refused as problem+json before anything is written. The file is built
while the request's transaction is open (into a temporary file that stays in memory while small
and spills to disk when large) and then streamed; headers say how many rows it has and how many
of them miss a required KDE. CSV has a companion list of those rows (``part=missing_kdes``);
XLSX carries it as its second sheet.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, date
from enum import StrEnum
from typing import IO

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from lotline.api.deps import get_uow, requires
from lotline.api.routing import LotlineRoute
from lotline.api.schemas import PROBLEM_RESPONSES, IdField
from lotline.domain.permissions import Permission, Principal
from lotline.trace import fsma
from lotline.uow import UnitOfWork

router = APIRouter(tags=["trace"], route_class=LotlineRoute, responses=PROBLEM_RESPONSES)

IN_MEMORY_BYTES = 8 * 1024 * 1024  # larger exports spill to a temporary file
CHUNK_BYTES = 256 * 1024
ROWS_HEADER = "X-FSMA-Rows"
MISSING_HEADER = "X-FSMA-Rows-Missing-KDEs"


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Part(StrEnum):
    SPREADSHEET = "spreadsheet"
    MISSING_KDES = "missing_kdes"


def _chunks(spooled: IO[bytes]) -> Iterator[bytes]:
    try:
        spooled.seek(0)
        while chunk := spooled.read(CHUNK_BYTES):
            yield chunk
    finally:
        spooled.close()


def _write(
    uow: UnitOfWork, filters: fsma.Filters, form: ExportFormat, part: Part, spooled: IO[bytes]
) -> fsma.Written:
    rows = fsma.spreadsheet_rows(uow, filters)
    if form is ExportFormat.XLSX:
        return fsma.write_xlsx(rows, spooled)
    text = io.TextIOWrapper(spooled, encoding="utf-8", newline="")
    try:
        if part is Part.MISSING_KDES:
            return fsma.write_csv(rows, None, text)
        return fsma.write_csv(rows, text)
    finally:
        text.flush()
        text.detach()  # the bytes stay in ``spooled``, which the response streams


@router.get(
    "/fsma204",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, fsma.XLSX_MEDIA_TYPE: {}}}},
)
def export_fsma204(
    export_format: ExportFormat = Query(default=ExportFormat.CSV, alias="format"),
    part: Part = Query(
        default=Part.SPREADSHEET,
        description="CSV only: the spreadsheet, or its companion list of the rows missing KDEs "
        "(an XLSX workbook holds both)",
    ),
    product: list[str] = Query(default=[], description="Product codes (repeatable)"),
    product_id: list[IdField] = Query(default=[], description="Product ids (repeatable)"),
    start: date | None = Query(default=None, alias="from", description="First event date, site-local"),
    end: date | None = Query(default=None, alias="to", description="Last event date, site-local"),
    lot: list[str] = Query(
        default=[], description="Lot codes (repeatable): traceability lot codes or lotline's own"
    ),
    principal: Principal = requires(Permission.TRACE_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> StreamingResponse:
    """The FSMA 204 sortable spreadsheet of the shipping, receiving and transformation events at the
    caller's sites, filtered by food, date range (inclusive, each site's local dates) and lot codes."""
    sites = principal.site_ids_with(Permission.TRACE_READ)
    filters = fsma.resolve_filters(
        uow,
        product_codes=product,
        product_ids=product_id,
        start=start,
        end=end,
        lot_codes=lot,
        site_ids=sites,
    )
    spooled = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - the response closes it
    try:
        written = _write(uow, filters, export_format, part, spooled)
    except BaseException:
        spooled.close()
        raise
    stamp = uow.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if export_format is ExportFormat.XLSX:
        name, media_type = f"fsma204-{stamp}.xlsx", fsma.XLSX_MEDIA_TYPE
    else:
        suffix = "-missing-kdes" if part is Part.MISSING_KDES else ""
        name, media_type = f"fsma204-{stamp}{suffix}.csv", "text/csv; charset=utf-8"
    return StreamingResponse(
        _chunks(spooled),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            ROWS_HEADER: str(written.rows),
            MISSING_HEADER: str(written.rows_missing_kdes),
        },
    )
