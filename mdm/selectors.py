"""Permission-filtered reads shared by the steward UI and the API (one place decides who sees what)."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from mdm.access import limit_references
from mdm.models import ChangeApproval, ChangeRequest, GoldenLineage, MatchCandidate
from mdm.services.changes import approval_scope_q, is_service_account


def change_requests_for(user):
    """Change requests ``user`` may read: everyone with ``mdm.view_changerequest``; nobody else."""
    if not (user and user.is_authenticated and user.has_perm("mdm.view_changerequest")):
        return ChangeRequest.objects.none()
    # A correlated count, not a JOIN + GROUP BY: the database then counts approvals only for the rows on the page.
    given = (
        ChangeApproval.objects.filter(change_request=OuterRef("pk"), decision="approve", void=False)
        .order_by()
        .values("change_request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    readable = ChangeRequest.objects.select_related("requested_by").annotate(
        approvals_given=Coalesce(Subquery(given, output_field=IntegerField()), 0)
    )
    # Requests about records outside the user's access limits are not there for them (mdm.access).
    return limit_references(user, readable)


def change_requests_awaiting(user):
    """Submitted requests ``user`` can decide now: not their own, in their approval scopes, not yet approved by them.

    The scope test is a filter on two indexed columns of the request (UNSPSC code, supplier id) built from the
    user's few ``ApprovalScope`` rows, so the list costs the same with 10 or 10,000 requests per scope.
    """
    if not (user and user.is_authenticated and user.has_perm("mdm.approve_changerequest")) or is_service_account(user):
        return ChangeRequest.objects.none()
    qs = change_requests_for(user).filter(status=ChangeRequest.Status.SUBMITTED).exclude(requested_by=user)
    scope = approval_scope_q(user)
    if scope is not None:
        qs = qs.filter(scope)
    mine = ChangeApproval.objects.filter(change_request=OuterRef("pk"), actor=user, void=False)
    return qs.filter(~Exists(mine))


def change_requests_breaching_sla(qs=None):
    """Submitted requests waiting longer than MDM_CHANGE_SLA_HOURS."""
    qs = ChangeRequest.objects.all() if qs is None else qs
    limit = timezone.now() - timedelta(hours=settings.MDM_CHANGE_SLA_HOURS)
    return qs.filter(status=ChangeRequest.Status.SUBMITTED, submitted_at__lt=limit)


def match_reviews_breaching_sla():
    """Open match proposals older than MDM_REVIEW_SLA_DAYS."""
    limit = timezone.now() - timedelta(days=settings.MDM_REVIEW_SLA_DAYS)
    return MatchCandidate.objects.filter(status=MatchCandidate.Status.OPEN, created_at__lt=limit)


def golden_lineage(entity_type: str, object_id: int) -> dict:
    """Field -> where its current value came from ({source, system, rule, at, change_request...}); {} if unknown."""
    row = GoldenLineage.objects.filter(entity_type=entity_type, object_id=object_id).only("fields").first()
    return dict(row.fields) if row is not None else {}
