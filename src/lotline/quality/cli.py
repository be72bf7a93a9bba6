"""``lotline quality …``: record inspections, release or reject (part of) a lot — signing at the
prompt — and list a lot's usage decisions."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import typer
from rich.table import Table
from sqlalchemy import select

from lotline.clikit import (
    cli_actor,
    console,
    console_signer,
    open_db,
    reports_errors,
    seal,
    sign_at_console,
    t,
)
from lotline.domain.errors import N_, InvalidInput, NotFound
from lotline.domain.permissions import Permission
from lotline.domain.status import QualityStatus
from lotline.domain.units import plain
from lotline.models.catalog import Location
from lotline.models.lot import Lot
from lotline.quality import decisions, inspections, policies
from lotline.uow import UnitOfWork

app = typer.Typer(help="Quality: inspections and usage decisions (release, reject)", no_args_is_help=True)


def _lot(uow: UnitOfWork, code: str) -> Lot:
    found = list(uow.session.scalars(select(Lot).where(Lot.code == code).limit(2)))
    if len(found) != 1:
        raise NotFound(entity=N_("lot"), key=code, field="lot")
    return found[0]


def _location(uow: UnitOfWork, lot: Lot, code: str) -> int:
    found = uow.session.scalar(
        select(Location.id).where(Location.site_id == lot.site_id, Location.code == code)
    )
    if found is None:
        raise NotFound(entity=N_("location"), key=code, field="location")
    return int(found)


def _results(pairs: list[str]) -> dict[str, str]:
    results: dict[str, str] = {}
    for pair in pairs:
        code, sep, value = pair.partition("=")
        if not sep or not code.strip():
            raise InvalidInput(
                N_("{field} must be CODE=VALUE."), field="result", code="inspection.bad_result_option"
            )
        results[code.strip()] = value.strip()
    return results


@app.command("record")
@reports_errors
def record(
    code: str,
    result: list[str] = typer.Option(..., "--result", help="CODE=VALUE, once per characteristic"),
    passed: bool | None = typer.Option(
        None, "--passed/--failed", help="Only for products without an inspection plan"
    ),
    sampled_by: str | None = typer.Option(None, "--sampled-by"),
    comment: str | None = typer.Option(None, "--comment"),
) -> None:
    """Record an inspection of a lot; pass or fail is computed from the product's plan."""
    db = open_db()
    with db.transaction(actor=cli_actor()) as uow:
        lot = _lot(uow, code)
        made = inspections.record_inspection(
            uow,
            lot_id=lot.id,
            results=_results(result),
            source="cli",
            sampled_by=sampled_by,
            sampled_at=uow.now() if sampled_by else None,
            comment=comment,
            passed=passed,
        ).record
        record_id, verdict = made.id, made.passed
        auto = policies.apply_auto_release(uow, lot)
    seal(db)
    console.print(
        t(
            "inspection {id} of lot {code}: {verdict}",
            id=record_id,
            code=code,
            verdict=t("passed") if verdict else t("failed"),
        )
    )
    if auto is not None:
        console.print(
            t("lot {code} released by auto-release policy {policy}", code=code, policy=auto.policy_id)
        )


def _decide(
    decision: QualityStatus,
    code: str,
    qty: str | None,
    unit: str | None,
    location: str | None,
    sscc: str | None,
    cite: list[int],
    reason: str,
    username: str,
    password: str,
) -> tuple[int, str]:
    db = open_db()
    with db.transaction() as uow:
        lot = _lot(uow, code)
        try:
            quantity = Decimal(qty) if qty is not None else None
        except InvalidOperation:
            raise InvalidInput(
                N_("{field} must be a number."), field="qty", code="decision.quantity"
            ) from None
        part = decisions.Part(
            quantity=quantity,
            unit=unit,
            location_id=_location(uow, lot, location) if location else None,
            sscc=sscc,
        )
        principal = console_signer(uow, username, Permission.QUALITY_DECIDE, lot.site_id)
        secret = sign_at_console(uow, principal, password, decisions.MEANINGS[decision], "lot", lot.id)
        made = decisions.decide_usage(
            uow,
            lot_id=lot.id,
            decision=decision,
            reason=reason,
            principal=principal,
            signing_grant=secret,
            inspection_ids=cite,
            part=part,
        )
        outcome = (made.id, lot.quality_status)
    seal(db)
    return outcome


LOCATION_HELP = "Location code at the lot's site (with --qty)"


@app.command("release")
@reports_errors
def release(
    code: str,
    qty: str | None = typer.Option(None, "--qty", help="Release this quantity only"),
    unit: str | None = typer.Option(None, "--unit"),
    location: str | None = typer.Option(None, "--location", help=LOCATION_HELP),
    sscc: str | None = typer.Option(None, "--sscc", help="Release this SSCC only"),
    cite: list[int] = typer.Option([], "--cite", help="Inspection record id the release rests on"),
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Release a lot, a quantity or an SSCC of it (signed); the signer types their password."""
    decision_id, status = _decide(
        QualityStatus.RELEASED, code, qty, unit, location, sscc, cite, reason, username, password
    )
    console.print(t("decision {id}: lot {code} is {status}", id=decision_id, code=code, status=status))


@app.command("reject")
@reports_errors
def reject(
    code: str,
    qty: str | None = typer.Option(None, "--qty", help="Reject this quantity only"),
    unit: str | None = typer.Option(None, "--unit"),
    location: str | None = typer.Option(None, "--location", help=LOCATION_HELP),
    sscc: str | None = typer.Option(None, "--sscc", help="Reject this SSCC only"),
    cite: list[int] = typer.Option([], "--cite", help="Inspection record id the rejection rests on"),
    reason: str = typer.Option(..., "--reason"),
    username: str = typer.Option(..., "--user", help="Who signs"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Reject a lot, a quantity or an SSCC of it (signed); the signer types their password."""
    decision_id, status = _decide(
        QualityStatus.REJECTED, code, qty, unit, location, sscc, cite, reason, username, password
    )
    console.print(t("decision {id}: lot {code} is {status}", id=decision_id, code=code, status=status))


@app.command("decisions")
@reports_errors
def list_decisions(code: str) -> None:
    """A lot's usage decisions, oldest first."""
    db = open_db()
    table = Table(
        t("id"),
        t("decision"),
        t("quantity"),
        t("SSCC"),
        t("inspections"),
        t("policy"),
        t("decided by"),
        t("decided at"),
        title=t("usage decisions of lot {code}", code=code),
    )
    with db.transaction(read_only=True) as uow:
        lot = _lot(uow, code)
        for row in decisions.decisions_of_lot(uow, lot_id=lot.id):
            table.add_row(
                str(row.id),
                row.decision,
                t("whole lot") if row.base_qty is None else plain(row.base_qty),
                row.sscc or "",
                ", ".join(map(str, row.inspection_ids)),
                str(row.policy_id or ""),
                row.decided_by,
                row.decided_at.isoformat(timespec="minutes"),
            )
    console.print(table)
