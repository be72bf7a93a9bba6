"""Receiving pages: recent receipts, the receiving form with a scan field, one receipt.

The form keeps its draft lines in hidden fields and re-renders on every scan or added line, so a
hand scanner (which types the barcode and presses Enter) works without any script. Posting calls
:func:`lotline.inbound.service.create_receipt`; a line short of its minimum shelf life may be
accepted by a user who may decide quality, signing an override with their password.
"""

from __future__ import annotations

from fastapi import APIRouter

from lotline.web.receiving import form, receipts

router = APIRouter(include_in_schema=False)
# The form first: its /receipts/new must be matched before /receipts/{receipt_id} is tried.
for module in (form, receipts):
    router.include_router(module.router)

__all__ = ["router"]
