"""Carmaker administration: organizations and staff accounts. Every change is audited."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from forecourt.assist import providers
from forecourt.assist.schemas.dispatch import WebhookIn, WebhookOut
from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import Id, Offset
from forecourt.parties import service as parties_service
from forecourt.parties.schemas import (AuditOut, OrganizationIn, OrganizationOut, OrganizationUpdate, StaffUserIn,
                                       StaffUserUpdate, UserOut)
from forecourt.web.deps import Admin, DbSession

router = APIRouter(prefix="/api/admin", tags=["administration"])


@router.get("/organizations", response_model=list[OrganizationOut])
def organizations(admin: Admin, session: DbSession, kind: str | None = None, include_inactive: bool = False):
    return parties_service.list_organizations(session=session, kind=kind, active_only=not include_inactive)


@router.post("/organizations", response_model=OrganizationOut, status_code=status.HTTP_201_CREATED)
def create_organization(body: OrganizationIn, admin: Admin, session: DbSession):
    organization = parties_service.create_organization(session=session, values=body.model_dump())
    parties_service.audit(session=session, actor=admin, action="organization.create",
                          target=f"organization:{organization.id}", details={"code": organization.code})
    return organization


@router.patch("/organizations/{organization_id}", response_model=OrganizationOut)
def update_organization(organization_id: Id, body: OrganizationUpdate, admin: Admin, session: DbSession):
    changes = body.model_dump(exclude_unset=True)
    before = parties_service.snapshot(parties_service.get_organization(session=session,
                                                                       organization_id=organization_id), changes)
    organization = parties_service.update_organization(session=session, organization_id=organization_id,
                                                       changes=changes)
    parties_service.audit(session=session, actor=admin, action="organization.update",
                          before=before, after=parties_service.snapshot(organization, changes),
                          target=f"organization:{organization.id}", details={"fields": sorted(changes)})
    return organization


@router.get("/users", response_model=list[UserOut])
def users(admin: Admin, session: DbSession, organization_id: Id | None = None, q: str | None = None,
          limit: int = Query(default=200, ge=1, le=1000), offset: Offset = 0):
    return parties_service.list_users(session=session, organization_id=organization_id, q=q, limit=limit,
                                      offset=offset)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(body: StaffUserIn, admin: Admin, session: DbSession):
    user = parties_service.create_user(session=session, email=body.email, password=body.password,
                                       display_name=body.display_name, role=body.role,
                                       organization_id=body.organization_id)
    parties_service.audit(session=session, actor=admin, action="user.create", target=f"user:{user.id}",
                          details={"role": user.role, "organization_id": user.organization_id})
    return user


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: Id, body: StaffUserUpdate, admin: Admin, session: DbSession):
    changes = body.model_dump(exclude_unset=True)
    if user_id == admin.user_id and changes.get("is_active") is False:
        raise Invalid(_("You cannot deactivate your own account; ask another administrator."), field="is_active")
    before = parties_service.snapshot(parties_service.get_user(session=session, user_id=user_id), changes)
    user = parties_service.update_user(session=session, user_id=user_id, changes=dict(changes))
    parties_service.audit(session=session, actor=admin, action="user.update", target=f"user:{user.id}",
                          details={"fields": sorted(changes)}, before=before,
                          after=parties_service.snapshot(user, changes))
    return user


@router.get("/audit", response_model=list[AuditOut])
def audit_log(admin: Admin, session: DbSession, limit: int = Query(default=200, ge=1, le=1000), offset: Offset = 0):
    return parties_service.list_audit(session=session, limit=limit, offset=offset)


@router.put("/organizations/{organization_id}/dispatch-webhook", response_model=WebhookOut)
def set_dispatch_webhook(organization_id: Id, body: WebhookIn, admin: Admin, session: DbSession):
    """Dispatch notices to this provider go to ``url``, signed with the new secret returned here (once)."""
    endpoint = providers.set_endpoint(session=session, organization_id=organization_id, url=body.url)
    parties_service.audit(session=session, actor=admin, action="organization.dispatch_webhook",
                          target=f"organization:{organization_id}", details={"url": endpoint.url})
    return endpoint


@router.delete("/organizations/{organization_id}/dispatch-webhook", status_code=status.HTTP_204_NO_CONTENT)
def remove_dispatch_webhook(organization_id: Id, admin: Admin, session: DbSession):
    """Notices to this provider go by e-mail again."""
    providers.remove_endpoint(session=session, organization_id=organization_id)
    parties_service.audit(session=session, actor=admin, action="organization.dispatch_webhook_removed",
                          target=f"organization:{organization_id}", details={})
    return Response(status_code=status.HTTP_204_NO_CONTENT)
