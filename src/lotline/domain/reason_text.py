"""Every reason code a refusal or an allocation gives, as a reader should see it (msgids).

The matrix's ``blocked_by`` codes and the allocation's pass-over reasons share this one table,
so the web pages and the console say the same thing in both languages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from lotline.domain.errors import N_

REASON_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "quality.quarantine": N_("the lot is in quarantine (not released by QA)"),
        "quality.rejected": N_("the lot is rejected"),
        "stock.quarantine": N_("this stock is in quarantine: it may only go to a QA area"),
        "stock.rejected": N_("this stock is rejected"),
        "stock.in_transit": N_("this stock is in transit"),
        "stock.retained_sample": N_("this is a retained sample"),
        "hold.qa": N_("a QA hold is on it"),
        "hold.excursion": N_("a temperature-excursion hold is on it"),
        "hold.deviation": N_("a deviation hold is on it"),
        "hold.recall": N_("a recall hold is on it"),
        "hold.expiry": N_("an expiry hold is on it"),
        "expired": N_("the lot is expired"),
        "requires.rejected": N_("only rejected stock may be reworked"),
        "requires.in_transit": N_("nothing of it is in transit"),
        # Allocation (domain.allocation.PassReason)
        "expires_before_delivery": N_("it expires before the delivery date"),
        "short_of_customer_minimum": N_("too little shelf life left at delivery for this customer"),
        "short_of_product_minimum": N_("too little shelf life left at shipment for this product"),
        "fully_allocated": N_("all of it is allocated to other orders"),
    }
)

# What was refused, as the refusal's sentence names it ("picking is not allowed: …").
TRANSACTION_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "putaway": N_("putaway"),
        "move": N_("moving"),
        "move_to_qa": N_("moving into a QA area"),
        "allocate": N_("allocation"),
        "pick": N_("picking"),
        "ship": N_("shipping"),
        "consume": N_("consumption"),
        "sample": N_("taking a QC sample"),
        "retain_sample": N_("keeping a retained sample"),
        "return_to_supplier": N_("return to the supplier"),
        "scrap": N_("scrapping"),
        "rework": N_("rework"),
        "adjust": N_("a count adjustment"),
        "transfer_out": N_("a transfer to another site"),
        "receive_transfer": N_("receiving a transfer"),
    }
)


def reasons_text(translate: Callable[[str], str], codes: Iterable[object]) -> str:
    """Reason codes as one phrase in the reader's language ("a QA hold is on it; the lot is expired")."""
    return "; ".join(translate(REASON_TEXT.get(str(code), str(code))) for code in codes)


def transaction_text(translate: Callable[[str], str], code: object) -> str:
    return translate(TRANSACTION_TEXT.get(str(code), str(code)))
