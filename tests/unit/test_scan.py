"""A scan as receipt-line fields: the three GS1 forms say the same; day 00 is the month's end."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from lotline.domain.errors import InvalidInput
from lotline.inbound.scan import line_from_scan

TODAY = date(2026, 3, 1)
GTIN = "06901234500011"
SSCC = "069012340000000016"
FORMS = (
    f"]C101{GTIN}10JH-1\x1d1126022717260300{'30'}24\x1d3103012500\x1d00{SSCC}",
    f"]d201{GTIN}112602271726030010JH-1\x1d3024\x1d3103012500\x1d00{SSCC}",
    f"https://id.gs1.org/01/{GTIN}/10/JH-1?11=260227&17=260300&30=24&3103=012500&00={SSCC}",
)


@pytest.mark.parametrize("text", FORMS)
def test_each_gs1_form_fills_the_same_line(text: str) -> None:
    line = line_from_scan(text, today=TODAY)
    assert line.as_fields() == {
        "gtin": GTIN,
        "supplier_lot_code": "JH-1",
        "production_date": date(2026, 2, 27),
        "supplier_expiry": date(2026, 3, 31),
        "count": Decimal(24),
        "net_weight_kg": Decimal("12.500"),
        "sscc": SSCC,
    }


def test_a_best_before_date_stands_in_for_a_missing_expiry() -> None:
    line = line_from_scan(f"01{GTIN}15270200", today=TODAY)
    assert line.supplier_expiry == date(2027, 2, 28)
    assert line.supplier_lot_code is None


def test_a_wrong_gtin_check_digit_names_the_ai() -> None:
    with pytest.raises(InvalidInput) as caught:
        line_from_scan(FORMS[0].replace(GTIN, GTIN[:-1] + "9"), today=TODAY)
    assert caught.value.field == "scan"
    assert caught.value.params["ai"] == "01"
