"""The transformation form: repack, relabel, rework, split or merge — inputs by scan, outputs
(the input's product unless another is chosen), losses — in one
:func:`lotline.production.service.transform`.

A rework is a signed quality decision: once the rows read well, the page answers with the
signing dialog (what goes in and what comes out, the reason, the password, meaning ``rework``
on the first input lot, as the service asks), and posts with the grant. A mistake re-renders the
form with every value kept and the message beside the field it concerns; nothing is written.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from lotline.api.deps import get_uow, requires
from lotline.api.problems import STATUS_BY_KIND
from lotline.domain.errors import N_, InvalidInput, LotlineError, NotFound, PermissionDenied
from lotline.domain.expiry import local_today
from lotline.domain.permissions import Permission, Principal
from lotline.domain.signature import Meaning
from lotline.domain.transformation import LossKind, TransformationKind
from lotline.i18n import gettext_for
from lotline.models.catalog import Location
from lotline.models.site import Site
from lotline.production.service import REWORK_PERMISSION, transform
from lotline.production.service import Request as Transform
from lotline.uow import UnitOfWork
from lotline.web.fields import optional_int, readable_sites
from lotline.web.fulfilment.common import text_field
from lotline.web.production.completion import default_output_place
from lotline.web.production.labels import ALL as LABELS
from lotline.web.production.orders import MAX_LINE, MAX_NOTE, active_products
from lotline.web.production.sheet import (
    GROUPS,
    Context,
    Lines,
    Problem,
    Sheet,
    posted_values,
    problem,
    read_lines,
    read_sheet,
    site_places,
)
from lotline.web.routing import WebRoute
from lotline.web.shell import redirect, render
from lotline.web.signing import authorize

router = APIRouter(route_class=WebRoute, include_in_schema=False)

KINDS = tuple(kind for kind in TransformationKind if kind is not TransformationKind.PRODUCTION)
HEADER_FIELDS = ("site_id", "kind", "line", "reason")


def _places(uow: UnitOfWork, sites: list[Site]) -> list[Location]:
    return [place for site in sites for place in site_places(uow, site.id).values()]


def _form_page(
    request: Request,
    uow: UnitOfWork,
    principal: Principal,
    sheet: Sheet,
    *,
    shown: Problem | None = None,
    status_code: int = 200,
) -> Response:
    sites = readable_sites(uow, principal, Permission.PRODUCTION_WRITE)
    places = _places(uow, sites)
    site_id = int(sheet.header["site_id"]) if sheet.header["site_id"].isdigit() else None
    chosen = {place.id: place for place in places if site_id is None or place.site_id == site_id}
    defaults = {
        "outputs": {"location": default_output_place(chosen)},
        "losses": {"kind": LossKind.OTHER.value},
    }
    return render(
        request,
        "production/transform_new.html",
        status_code=status_code,
        active="production",
        header=sheet.header,
        rows=sheet.shown(defaults),
        problem=shown,
        sites=sites,
        site_by_id={site.id: site for site in sites},
        places=places,
        products=active_products(uow),
        kinds=KINDS,
        loss_kinds=list(LossKind),
        **LABELS,
    )


@router.get("/transformations/new")
def transformation_form(
    request: Request,
    kind: str = "",
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    sites = readable_sites(uow, principal, Permission.PRODUCTION_WRITE)
    header = {name: "" for name in HEADER_FIELDS}
    header["site_id"] = str(sites[0].id) if len(sites) == 1 else ""
    header["kind"] = kind if kind in {k.value for k in KINDS} else TransformationKind.REPACK.value
    return _form_page(request, uow, principal, Sheet(header, {group: [] for group in GROUPS}))


def _kind(text: str) -> TransformationKind:
    if text not in {kind.value for kind in KINDS}:
        raise InvalidInput(
            N_("{field} has a value that is not allowed."), field="kind", code="web.bad_choice"
        )
    return TransformationKind(text)


def _site(uow: UnitOfWork, principal: Principal, text: str) -> Site:
    site_id = optional_int(text, "site_id")
    if site_id is None:
        raise InvalidInput(N_("{field} is required."), field="site_id", code="web.required")
    site = uow.session.get(Site, site_id)
    if site is None or not principal.can(Permission.PRODUCTION_WRITE, site_id):
        raise NotFound(entity=N_("site"), key=site_id, field="site_id")
    return site


def _sign_page(
    request: Request,
    uow: UnitOfWork,
    sheet: Sheet,
    site: Site,
    lines: Lines,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The signing dialog of a rework: the lots going in, what comes out, the reason, the password."""
    session = getattr(request.state, "web_session", None)
    products = {p.id: p for p in active_products(uow)}
    places = site_places(uow, site.id)
    return render(
        request,
        "production/sign.html",
        status_code=status_code,
        active="production",
        meaning=Meaning.REWORK.value,
        header=sheet.header,
        hidden=sheet.hidden(),
        site=site,
        inputs=[
            (take, issued, places.get(take.source.location_id))
            for take, issued in zip(lines.inputs, lines.issued, strict=True)
        ],
        outputs=[
            (make, products.get(make.product_id), places.get(make.location_id)) for make in lines.outputs
        ],
        losses=lines.losses,
        codes={issued.lot.id: issued.lot.code for issued in lines.issued},
        needs_username=session is None or session.first_signed_at is None,
        error=error,
        **LABELS,
    )


def _may_sign_rework(principal: Principal, site: Site, lines: Lines) -> None:
    """Before the signing dialog: the signer may take the decision, and there is a lot to sign for."""
    if not principal.can(REWORK_PERMISSION, site.id):
        raise PermissionDenied(permission=REWORK_PERMISSION.value, field="kind")
    if not lines.issued:  # the signature is for the first input lot
        raise InvalidInput(
            N_("A {kind} needs at least {least} lots in {field}."),
            field="inputs",
            code="transformation.lot_count",
            kind=TransformationKind.REWORK.value,
            least=1,
        )


@router.post("/transformations/new")
def transformation_submit(
    request: Request,
    values: dict[str, list[str]] = Depends(posted_values),
    principal: Principal = requires(Permission.PRODUCTION_WRITE),
    uow: UnitOfWork = Depends(get_uow),
) -> Response:
    _ = gettext_for(request.state.language)
    sheet = read_sheet(values, HEADER_FIELDS)
    if sheet.action.startswith("add:"):
        return _form_page(request, uow, principal, sheet.grown())
    signing = bool((values.get("signing") or [""])[0])
    try:
        kind = _kind(sheet.header["kind"])
        site = _site(uow, principal, sheet.header["site_id"])
        context = Context(
            site_id=site.id,
            places=site_places(uow, site.id),
            products={p.id: p for p in active_products(uow)},
            today=local_today(uow.now(), site.time_zone),
        )
        lines = read_lines(uow, sheet, context)
        line = text_field(sheet.header["line"], "line", max_length=MAX_LINE)
        reason = text_field(sheet.header["reason"], "reason", max_length=MAX_NOTE, lines=True)
        if kind is TransformationKind.REWORK:
            _may_sign_rework(principal, site, lines)
    except LotlineError as error:
        uow.rollback()
        return _form_page(
            request,
            uow,
            principal,
            sheet,
            shown=problem(_, error, sheet),
            status_code=STATUS_BY_KIND[error.kind],
        )
    grant = None
    if kind is TransformationKind.REWORK:
        if not signing:
            return _sign_page(request, uow, sheet, site, lines)
        try:
            if reason is None:
                raise InvalidInput(
                    N_("{field} is required."), field="reason", code="transformation.reason_required"
                )
            grant = authorize(
                request,
                uow,
                principal,
                username=(values.get("username") or [""])[0],
                password=(values.get("password") or [""])[0],
                meaning=Meaning.REWORK,
                record_type="lot",
                record_id=lines.issued[0].lot.id,
            )
        except LotlineError as error:
            uow.rollback()  # a refused password was committed (audited) before it got here
            return _sign_page(
                request,
                uow,
                sheet,
                site,
                lines,
                error=error.render(_),
                status_code=STATUS_BY_KIND[error.kind],
            )
    try:
        outcome = transform(
            uow,
            principal=principal,
            request=Transform(
                kind=kind,
                site_id=site.id,
                inputs=lines.inputs,
                outputs=lines.outputs,
                losses=lines.losses,
                line=line,
                reason=reason,
                signing_grant=grant,
            ),
        )
    except LotlineError as error:
        uow.rollback()
        return _form_page(
            request,
            uow,
            principal,
            sheet,
            shown=problem(_, error, sheet),
            status_code=STATUS_BY_KIND[error.kind],
        )
    transformation = outcome.transformation
    done = {"number": transformation.number, "lots": ", ".join(lot.code for lot in outcome.output_lots)}
    return redirect(
        f"/transformations/{transformation.id}",
        flash=_("Transformation %(number)s posted: lot %(lots)s made.") % done,
    )
