"""A recall case's files, as every interface hands them out: the report (PDF, XLSX), the customer
list for notices (CSV), one customer's notice (PDF), and the scope's EPCIS 2.0 document."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lotline.models.recall import RecallCase
from lotline.recall import documents, queries, service
from lotline.trace import epcis
from lotline.uow import UnitOfWork

PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class File:
    content: bytes
    media_type: str
    name: str


class Report(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"


def report(uow: UnitOfWork, case: RecallCase, kind: Report, language: str) -> File:
    view = queries.case_view(uow, case, now=uow.now())
    if kind is Report.XLSX:
        return File(
            documents.report_xlsx(view, language, issued_at=uow.now()), XLSX, f"{case.number}-report.xlsx"
        )
    return File(documents.report_pdf(view, language, issued_at=uow.now()), PDF, f"{case.number}-report.pdf")


def customer_list(uow: UnitOfWork, case: RecallCase) -> File:
    view = queries.case_view(uow, case, now=uow.now())
    return File(documents.notices_csv(view), CSV, f"{case.number}-customers.csv")


def notice(uow: UnitOfWork, case: RecallCase, customer_id: int, language: str) -> File:
    """One customer's notice; a customer the case does not reach is not found."""
    view = queries.case_view(uow, case, now=uow.now())
    content = documents.notice_pdf(view, customer_id, language, issued_at=uow.now())
    return File(content, PDF, f"{case.number}-notice-{customer_id}.pdf")


def events(uow: UnitOfWork, case: RecallCase) -> File:
    document = epcis.build_document(uow, lot_ids=service.scope_lot_ids(uow, case.id), created_at=uow.now())
    return File(epcis.dumps(document).encode(), epcis.MEDIA_TYPE, f"{case.number}-epcis.jsonld")
