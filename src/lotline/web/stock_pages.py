"""Stock pages: on hand by lot and location, one location, one bucket's actions, transfers.

Every action calls the stock services (which ask the status × transaction matrix and the
storage rule); a refusal is shown with its message and each ``blocked_by`` reason in the
reader's language, and nothing is written. Scrap, return to supplier and a large count
adjustment go through a signing dialog.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.ledger import MovementKind
from lotline.domain.matrix import TransactionNotAllowed
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.status import StockStatus
from lotline.i18n import gettext_for
from lotline.models.catalog import Location, Product
from lotline.models.lot import Lot
from lotline.models.site import Site
from lotline.models.stock import StockMovement, StockOnHand
from lotline.stock import disposal, operations, queries, transfers
from lotline.stock.operations import Amount, Source
from lotline.uow import UnitOfWork
from lotline.web.fields import choice, optional_int, readable_sites
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 200

# Why the matrix refused: each blocked_by code as the reader should see it.
BLOCKED_BY = {
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
}
OPERATIONS = {
    "move": N_("Move / put away"),
    "transfer": N_("Transfer to another site"),
    "sample": N_("QC sample"),
    "retain": N_("Retained sample"),
    "count": N_("Count"),
    "scrap": N_("Scrap"),
    "return": N_("Return to supplier"),
}
SIGNED = {"scrap": Meaning.SCRAP, "return": Meaning.RETURN_TO_SUPPLIER, "count": Meaning.APPROVE}
DONE = {
    "move": N_("Stock moved."),
    "transfer": N_("Transfer sent: the stock is in transit until the other site receives it."),
    "sample": N_("QC sample taken."),
    "retain": N_("Retained sample kept."),
    "count": N_("Count booked."),
    "scrap": N_("Scrapped and signed."),
    "return": N_("Returned to the supplier and signed."),
}
SORTS = ("location", "lot", "product")


@dataclass(frozen=True)
class StockFilters:
    """The stock list's filters as a person sets them in the form."""

    site_id: int | None = None
    location_id: int | None = None
    product_id: int | None = None
    code: str | None = None
    stock_status: str | None = None
    sort: str = "location"


def _readable(principal: Principal) -> frozenset[int] | None:
    sites = principal.site_ids_with(Permission.STOCK_READ)
    return frozenset(sites) if sites is not None else None


def _decimal(text: str | None, field: str, *, required: bool = False) -> Decimal | None:
    if text is None or not text.strip():
        if required:
            raise InvalidInput(N_("{field} is required."), field=field, code="web.required")
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal") from None
    if not value.is_finite():
        raise InvalidInput(N_("{field} must be a number."), field=field, code="web.not_a_decimal")
    return value


def _stock_rows(uow: UnitOfWork, lines: list[queries.StockLine], sort: str) -> list[dict[str, Any]]:
    products = {
        p.id: p
        for p in uow.session.scalars(
            select(Product).where(Product.id.in_({line.product_id for line in lines}))
        )
    }
    key = {
        "lot": lambda line: (line.lot_code, line.location_code),
        "product": lambda line: (line.product_code, line.lot_code, line.location_code),
    }.get(sort, lambda line: (line.site_id, line.location_code, line.lot_code))
    return [{"line": line, "product": products.get(line.product_id)} for line in sorted(lines, key=key)]


@router.get("/stock")
def stock_list(
    request: Request,
    site_id: str | None = None,
    location_id: str | None = None,
    product_id: str | None = None,
    code: str | None = None,
    stock_status: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = _readable(principal)
    wanted = StockFilters(
        site_id=optional_int(site_id, "site_id"),
        location_id=optional_int(location_id, "location_id"),
        product_id=optional_int(product_id, "product_id"),
        code=(code or "").strip().upper() or None,
        stock_status=choice(stock_status, StockStatus, "stock_status"),
        sort=sort if sort in SORTS else "location",
    )
    lot_id = None
    lines: list[queries.StockLine] = []
    next_cursor = None
    if wanted.code:
        lot_id = uow.session.scalar(select(Lot.id).where(Lot.code == wanted.code).limit(1))
    if not wanted.code or lot_id is not None:
        page = queries.on_hand(
            uow,
            criteria=queries.StockFilter(
                site_ids=sites,
                lot_id=lot_id,
                product_id=wanted.product_id,
                site_id=wanted.site_id,
                location_id=wanted.location_id,
                stock_status=StockStatus(wanted.stock_status) if wanted.stock_status else None,
            ),
            cursor=cursor,
            limit=PAGE_SIZE,
        )
        lines, next_cursor = list(page.items), page.next_cursor
    site_rows = readable_sites(uow, principal, Permission.STOCK_READ)
    kept = {k: v for k, v in asdict(wanted).items() if v is not None}
    return render(
        request,
        "stock/list.html",
        active="stock",
        rows=_stock_rows(uow, lines, wanted.sort),
        filters=wanted,
        sites=site_rows,
        site_by_id={s.id: s for s in site_rows},
        locations=_locations(uow, [s.id for s in site_rows]),
        products=list(uow.session.scalars(select(Product).order_by(Product.code))),
        can_move=_movable(principal),
        next_url=f"/stock?{urlencode({**kept, 'cursor': next_cursor})}" if next_cursor else None,
    )


def _locations(uow: UnitOfWork, site_ids: list[int]) -> list[Location]:
    return list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id.in_(site_ids), Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )


def _movable(principal: Principal) -> set[int] | None:
    return principal.site_ids_with(Permission.STOCK_MOVE)


def _visible_location(uow: UnitOfWork, principal: Principal, location_id: int) -> Location:
    place = uow.session.get(Location, location_id)
    if place is None or not principal.can(Permission.STOCK_READ, place.site_id):
        raise NotFound(entity=N_("location"), key=location_id, field="location_id")
    return place


@router.get("/stock/locations/{location_id}")
def location_page(
    request: Request,
    location_id: int,
    cursor: str | None = None,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    place = _visible_location(uow, principal, location_id)
    page = queries.on_hand(
        uow, criteria=queries.StockFilter(location_id=place.id), cursor=cursor, limit=PAGE_SIZE
    )
    site = uow.session.get_one(Site, place.site_id)
    return render(
        request,
        "stock/location.html",
        active="stock",
        place=place,
        site=site,
        site_by_id={site.id: site},
        rows=_stock_rows(uow, list(page.items), "location"),
        can_move=_movable(principal),
        next_url=f"/stock/locations/{place.id}?cursor={page.next_cursor}" if page.next_cursor else None,
    )


# --- one bucket and what can be done with it ----------------------------------------------------


def _bucket(
    uow: UnitOfWork, principal: Principal, lot_id: int, location_id: int, status: str, sscc: str
) -> dict[str, Any]:
    """The bucket acted on, checked against the caller's rights (404 unseen, 403 read-only)."""
    place = _visible_location(uow, principal, location_id)
    if not principal.can(Permission.STOCK_MOVE, place.site_id):
        raise PermissionDenied(permission=Permission.STOCK_MOVE.value)
    lot = uow.session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(entity=N_("lot"), key=lot_id, field="lot_id")
    chosen = StockStatus(choice(status, StockStatus, "status") or StockStatus.AVAILABLE.value)
    row = uow.session.execute(
        select(StockOnHand).where(
            StockOnHand.lot_id == lot.id,
            StockOnHand.location_id == place.id,
            StockOnHand.stock_status == chosen.value,
            StockOnHand.sscc == sscc,
        )
    ).scalar_one_or_none()
    product = uow.session.get_one(Product, lot.product_id)
    here = _locations(uow, [place.site_id])
    elsewhere = list(
        uow.session.scalars(
            select(Location)
            .where(Location.site_id != place.site_id, Location.active.is_(True))
            .order_by(Location.site_id, Location.code)
        )
    )
    site_ids = {loc.site_id for loc in elsewhere} | {place.site_id}
    return {
        "lot": lot,
        "product": product,
        "place": place,
        "status": chosen.value,
        "sscc": sscc,
        "row": row,
        "here": [loc for loc in here if loc.id != place.id],
        "elsewhere": elsewhere,
        "site_by_id": {s.id: s for s in uow.session.scalars(select(Site).where(Site.id.in_(site_ids)))},
    }


def _act_page(
    request: Request,
    bucket: dict[str, Any],
    *,
    status_code: int = 200,
    error: LotlineError | None = None,
    operation: str | None = None,
) -> Response:
    _ = gettext_for(request.state.language)
    blocked: list[str] = []
    if isinstance(error, TransactionNotAllowed):
        codes = error.params.get("blocked_by", ())
        blocked = (
            [_(BLOCKED_BY.get(str(code), str(code))) for code in codes]
            if isinstance(codes, tuple | list)
            else []
        )
    return render(
        request,
        "stock/act.html",
        status_code=status_code,
        active="stock",
        error=error.render(_) if error else None,
        blocked=blocked,
        operation=operation,
        operations=OPERATIONS,
        **bucket,
    )


@router.get("/stock/act")
def act_form(
    request: Request,
    lot_id: int,
    location_id: int,
    status: str = "",
    sscc: str = "",
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    return _act_page(request, _bucket(uow, principal, lot_id, location_id, status, sscc))


def _sign_page(
    request: Request, bucket: dict[str, Any], *, operation: str, fields: dict[str, str], **extra: Any
) -> Response:
    session = getattr(request.state, "web_session", None)
    return render(
        request,
        "stock/sign.html",
        status_code=extra.pop("status_code", 200),
        active="stock",
        meaning=SIGNED[operation].value,
        operation=operation,
        operations=OPERATIONS,
        fields=fields,
        needs_username=session is None or session.first_signed_at is None,
        **bucket,
        **extra,
    )


@router.post("/stock/act/{operation}")
def act(
    request: Request,
    operation: str,
    lot_id: int = Form(...),
    location_id: int = Form(...),
    status: str = Form(default=""),
    sscc: str = Form(default=""),
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    count: str = Form(default=""),
    weight_kg: str = Form(default=""),
    to_location_id: str = Form(default=""),
    putaway: str = Form(default=""),
    reason: str = Form(default=""),
    reference: str = Form(default=""),
    signing: str = Form(default=""),
    username: str = Form(default=""),
    password: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    if operation not in OPERATIONS:
        raise NotFound(entity=N_("operation"), key=operation, field="operation")
    bucket = _bucket(uow, principal, lot_id, location_id, status, sscc)
    lot, place, product = bucket["lot"], bucket["place"], bucket["product"]
    source = Source(place.id, StockStatus(bucket["status"]), sscc)
    fields = {
        "quantity": quantity,
        "unit": unit,
        "count": count,
        "weight_kg": weight_kg,
        "reason": reason,
        "reference": reference,
    }
    try:
        amount = Amount(
            _decimal(quantity, "quantity", required=True) or Decimal(0),
            (unit or product.base_unit).strip().upper(),
            _decimal(count, "count"),
            _decimal(weight_kg, "weight_kg"),
        )
        target = optional_int(to_location_id, "to_location_id")
        if operation in ("move", "transfer", "retain") and target is None:
            raise InvalidInput(N_("{field} is required."), field="to_location_id", code="web.required")
        if operation == "move":
            operations.move(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                putaway=bool(putaway),
                reason=reason,
            )
        elif operation == "transfer":
            transfers.transfer_out(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                reason=reason,
            )
        elif operation == "sample":
            operations.take_sample(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                amount=amount,
                reason=reason,
                reference=reference.strip() or None,
            )
        elif operation == "retain":
            operations.retain_sample(
                uow,
                principal=principal,
                lot_id=lot.id,
                source=source,
                to_location_id=target or 0,
                amount=amount,
                reason=reason,
            )
        else:
            return _signed(
                request, uow, principal, bucket, operation, amount, fields, signing, username, password
            )
    except LotlineError as error:
        uow.rollback()
        return _act_page(
            request, bucket, status_code=STATUS_BY_KIND[error.kind], error=error, operation=operation
        )
    return redirect(f"/stock/locations/{place.id}", flash=_(DONE[operation]))


def _signed(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    bucket: dict[str, Any],
    operation: str,
    amount: Amount,
    fields: dict[str, str],
    signing: str,
    username: str,
    password: str,
) -> Response:
    """Count, scrap, return: a signing dialog first where a signature is due, then the operation."""
    _ = gettext_for(request.state.language)
    lot, place = bucket["lot"], bucket["place"]
    source = Source(place.id, StockStatus(bucket["status"]), bucket["sscc"])
    plan = None
    if operation == "count":
        counted = Amount(amount.qty, amount.unit, amount.count, amount.weight_kg)
        plan = disposal.plan_count(uow, principal=principal, lot_id=lot.id, source=source, counted=counted)
    due = operation != "count" or (plan is not None and plan.needs_signature)
    if due and not signing:
        return _sign_page(request, bucket, operation=operation, fields=fields, plan=plan, error=None)
    grant = None
    if due:
        try:
            if operation != "count" or plan is None or plan.difference != 0:
                operations.stated_reason(fields["reason"], required=True)
            grant = authorize(
                request,
                uow,
                principal,
                username=username,
                password=password,
                meaning=SIGNED[operation],
                record_type="lot",
                record_id=lot.id,
            )
        except LotlineError as error:
            uow.rollback()
            return _sign_page(
                request,
                bucket,
                operation=operation,
                fields=fields,
                plan=plan,
                error=error.render(_),
                status_code=STATUS_BY_KIND[error.kind],
            )
    reference = fields["reference"].strip() or None
    if operation == "count":
        disposal.count(
            uow,
            principal=principal,
            lot_id=lot.id,
            source=source,
            counted=amount,
            reason=fields["reason"],
            signing_grant=grant,
        )
    else:
        dispose = disposal.scrap if operation == "scrap" else disposal.return_to_supplier
        dispose(
            uow,
            principal=principal,
            lot_id=lot.id,
            source=source,
            amount=amount,
            reason=fields["reason"],
            signing_grant=grant,
            reference=reference,
        )
    return redirect(f"/stock/locations/{place.id}", flash=_(DONE[operation]))


# --- transfers in transit -----------------------------------------------------------------------


@router.get("/stock/transfers")
def transfer_list(
    request: Request,
    principal: Principal = requires(Permission.STOCK_READ),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = _readable(principal)
    other = aliased(StockMovement)
    received = exists().where(
        and_(other.txn_id == StockMovement.txn_id, other.kind != MovementKind.TRANSFER_OUT.value)
    )
    query = select(StockMovement).where(StockMovement.kind == MovementKind.TRANSFER_OUT.value, ~received)
    if sites is not None:
        query = query.where(StockMovement.site_id.in_(sorted(sites)))
    sent = list(uow.session.scalars(query.order_by(StockMovement.id.desc()).limit(PAGE_SIZE)))
    lots = {
        lot.id: lot for lot in uow.session.scalars(select(Lot).where(Lot.id.in_({m.lot_id for m in sent})))
    }
    products = {
        p.id: p
        for p in uow.session.scalars(select(Product).where(Product.id.in_({m.product_id for m in sent})))
    }
    place_ids = {m.from_location_id for m in sent} | {m.to_location_id for m in sent}
    places = {p.id: p for p in uow.session.scalars(select(Location).where(Location.id.in_(place_ids)))}
    site_rows = list(uow.session.scalars(select(Site)))
    return render(
        request,
        "stock/transfers.html",
        active="stock",
        rows=[
            {
                "sent": m,
                "lot": lots[m.lot_id],
                "product": products[m.product_id],
                "source": places.get(m.from_location_id or 0),
                "target": places.get(m.to_location_id or 0),
                "can_receive": principal.can(Permission.STOCK_MOVE, m.site_id),
            }
            for m in sent
        ],
        site_by_id={s.id: s for s in site_rows},
    )


@router.post("/stock/transfers/{txn_id}/receive")
def receive(
    request: Request,
    txn_id: str,
    quantity: str = Form(default=""),
    unit: str = Form(default=""),
    reason: str = Form(default=""),
    principal: Principal = requires(Permission.STOCK_MOVE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    try:
        sent = transfers.transfer_sent(uow, txn_id=txn_id[:36])
        if not principal.can(Permission.STOCK_READ, sent.site_id):
            raise NotFound(entity=N_("transfer"), key=txn_id, field="txn_id")
        got = _decimal(quantity, "quantity")
        received = None if got is None else Amount(got, unit.strip().upper() or sent.entered_unit)
        transfers.receive_transfer(
            uow, principal=principal, txn_id=sent.txn_id, received=received, reason=reason
        )
    except LotlineError as error:
        uow.rollback()
        if isinstance(error, NotFound):
            raise
        return redirect("/stock/transfers", flash=error.render(_), kind="error")
    return redirect("/stock/transfers", flash=_("Transfer received."))
