"""Who may do what with change requests through the API: role x action x object, one table, every cell tested.

Objects: a submitted request by someone else on an item inside the approver's scope (UNSPSC segment 42),
one outside it (segment 53), and the caller's own request on the in-scope item. Each cell is the status code
and what must be true of the answer: which layer refused (the view's permission sentence or the service's:
four eyes, scope, requester only, service account), whether the request is in the caller's ``awaiting=me``
queue, what ``can_approve`` says. Removing any one check turns at least one cell red; refused calls must
also leave the request as it was.
"""

import pytest
from django.contrib.auth.models import Group, Permission, User
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from items.services import item_create
from mdm import roles
from mdm.models import ApprovalScope, ChangeComment, ChangeRequest
from mdm.services.changes import change_request_create
from uom.services import unit_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/change-requests/"
DRF_DENIED = "You do not have permission to perform this action."

# The callers: name -> (groups, approval scope, a permission of those groups the caller lacks). "service approver"
# is a service account someone also put in the approver group with every scope: only the service's own rule keeps
# it from approving. The two "approver 42 -..." callers have every approver permission but one, so the checks
# behind the view's (the permission-filtered queryset; the service's propose check, which also wants the view
# permission on the record) are tested too.
ROLES = {
    "anonymous": None,
    "outsider": ((), None, None),
    "viewer": ((roles.VIEWER,), None, None),
    "steward": ((roles.STEWARD,), None, None),
    "integration": ((roles.INTEGRATION,), None, None),
    "approver 42": ((roles.APPROVER,), "42", None),
    "approver 42 -view_changerequest": ((roles.APPROVER,), "42", "mdm.view_changerequest"),
    "approver 42 -view_item": ((roles.APPROVER,), "42", "items.view_item"),
    "service approver": ((roles.INTEGRATION, roles.APPROVER), "", None),
}

# Cell values: (status, check). None: the cell does not exist (a viewer has no own request; export has no object).
ANON = (401, "login")
NO = (403, "no_perm")
ROLE = (403, "approver_role")
LISTED, HIDDEN = (200, "listed"), (200, "hidden")
MAY, MAY_NOT = (200, "may"), (200, "may_not")
DONE, CREATED = (200, "done"), (201, "done")
NOT_YOURS = (403, "requester")
UNSEEN = (404, "not_found")

# fmt: off
MATRIX = [
    # role                              action      in scope          out of scope      own request
    ("anonymous",                       "list",     ANON,             ANON,             None),
    ("anonymous",                       "retrieve", ANON,             ANON,             None),
    ("anonymous",                       "create",   ANON,             ANON,             None),
    ("anonymous",                       "approve",  ANON,             ANON,             None),
    ("anonymous",                       "reject",   ANON,             ANON,             None),
    ("anonymous",                       "withdraw", ANON,             ANON,             None),
    ("anonymous",                       "comment",  ANON,             ANON,             None),
    ("anonymous",                       "export",   ANON,             None,             None),
    ("outsider",                        "list",     NO,               NO,               None),
    ("outsider",                        "retrieve", NO,               NO,               None),
    ("outsider",                        "create",   NO,               NO,               None),
    ("outsider",                        "approve",  ROLE,             ROLE,             None),
    ("outsider",                        "reject",   ROLE,             ROLE,             None),
    ("outsider",                        "withdraw", NO,               NO,               None),
    ("outsider",                        "comment",  NO,               NO,               None),
    ("outsider",                        "export",   NO,               None,             None),
    ("viewer",                          "list",     HIDDEN,           HIDDEN,           None),
    ("viewer",                          "retrieve", MAY_NOT,          MAY_NOT,          None),
    ("viewer",                          "create",   NO,               NO,               None),
    ("viewer",                          "approve",  ROLE,             ROLE,             None),
    ("viewer",                          "reject",   ROLE,             ROLE,             None),
    ("viewer",                          "withdraw", NO,               NO,               None),
    ("viewer",                          "comment",  NO,               NO,               None),
    ("viewer",                          "export",   (200, "csv"),     None,             None),
    ("steward",                         "list",     HIDDEN,           HIDDEN,           HIDDEN),
    ("steward",                         "retrieve", MAY_NOT,          MAY_NOT,          MAY_NOT),
    ("steward",                         "create",   CREATED,          CREATED,          None),
    ("steward",                         "approve",  ROLE,             ROLE,             ROLE),
    ("steward",                         "reject",   ROLE,             ROLE,             ROLE),
    ("steward",                         "withdraw", NOT_YOURS,        NOT_YOURS,        DONE),
    ("steward",                         "comment",  CREATED,          CREATED,          CREATED),
    ("steward",                         "export",   (200, "csv"),     None,             None),
    ("integration",                     "list",     HIDDEN,           HIDDEN,           HIDDEN),
    ("integration",                     "retrieve", MAY_NOT,          MAY_NOT,          MAY_NOT),
    ("integration",                     "create",   CREATED,          CREATED,          None),
    ("integration",                     "approve",  ROLE,             ROLE,             ROLE),
    ("integration",                     "reject",   ROLE,             ROLE,             ROLE),
    ("integration",                     "withdraw", NOT_YOURS,        NOT_YOURS,        DONE),
    ("integration",                     "comment",  CREATED,          CREATED,          CREATED),
    ("integration",                     "export",   (200, "csv"),     None,             None),
    ("approver 42",                     "list",     LISTED,           HIDDEN,           HIDDEN),
    ("approver 42",                     "retrieve", MAY,              MAY_NOT,          MAY_NOT),
    ("approver 42",                     "create",   CREATED,          CREATED,          None),
    ("approver 42",                     "approve",  DONE,             (403, "scope"),   (403, "four_eyes")),
    ("approver 42",                     "reject",   DONE,             (403, "scope"),   (403, "four_eyes")),
    ("approver 42",                     "withdraw", NOT_YOURS,        NOT_YOURS,        DONE),
    ("approver 42",                     "comment",  CREATED,          CREATED,          CREATED),
    ("approver 42",                     "export",   (200, "csv"),     None,             None),
    ("approver 42 -view_changerequest", "list",     NO,               NO,               NO),
    ("approver 42 -view_changerequest", "retrieve", NO,               NO,               NO),
    ("approver 42 -view_changerequest", "create",   CREATED,          CREATED,          None),
    ("approver 42 -view_changerequest", "approve",  UNSEEN,           UNSEEN,           UNSEEN),
    ("approver 42 -view_changerequest", "reject",   UNSEEN,           UNSEEN,           UNSEEN),
    ("approver 42 -view_changerequest", "withdraw", UNSEEN,           UNSEEN,           UNSEEN),
    ("approver 42 -view_changerequest", "comment",  UNSEEN,           UNSEEN,           UNSEEN),
    ("approver 42 -view_changerequest", "export",   (200, "csv"),     None,             None),
    ("approver 42 -view_item",          "create",   (403, "propose"), (403, "propose"), None),
    ("service approver",                "list",     HIDDEN,           HIDDEN,           HIDDEN),
    ("service approver",                "retrieve", MAY_NOT,          MAY_NOT,          MAY_NOT),
    ("service approver",                "approve",  (403, "service"), (403, "service"), (403, "four_eyes")),
    ("service approver",                "reject",   (403, "service"), (403, "service"), (403, "four_eyes")),
]
# fmt: on

SCOPES = ("in scope", "out of scope", "own request")
CASES = [
    pytest.param(role, action, scope, cell, id=f"{role}-{action}-{scope}")
    for role, action, *cells in MATRIX
    for scope, cell in zip(SCOPES, cells, strict=True)
    if cell is not None
]


def _body(response) -> dict:
    return response.json() if response.get("Content-Type", "").startswith("application/json") else {}


CHECKS = {
    "login": lambda r, cr: _body(r)["code"] == "not_authenticated",
    "no_perm": lambda r, cr: _body(r)["detail"] == DRF_DENIED,
    "approver_role": lambda r, cr: "needs the approver role" in _body(r)["detail"],
    "four_eyes": lambda r, cr: "four-eyes" in _body(r)["detail"],
    "scope": lambda r, cr: _body(r)["detail"] == "This change (UNSPSC 53102800) is outside your approval scopes.",
    "requester": lambda r, cr: _body(r)["detail"] == "Only the requester can withdraw a change request.",
    "propose": lambda r, cr: _body(r)["detail"] == "You may not propose changes to these records.",
    "not_found": lambda r, cr: _body(r) == {"detail": "Not found.", "code": "not_found"},
    "service": lambda r, cr: _body(r)["detail"].startswith("Service accounts may submit change requests but never"),
    "listed": lambda r, cr: cr.pk in [row["id"] for row in _body(r)["results"]],
    "hidden": lambda r, cr: cr.pk not in [row["id"] for row in _body(r)["results"]],
    "may": lambda r, cr: _body(r)["can_approve"] == {"allowed": True, "reason": ""},
    "may_not": lambda r, cr: _body(r)["can_approve"]["allowed"] is False and _body(r)["can_approve"]["reason"],
    "csv": lambda r, cr: b"".join(r.streaming_content).startswith(b"when,action,entity_type"),
    "done": lambda r, cr: True,
}

ACTIONS = {
    "list": lambda client, cr: client.get(URL, {"awaiting": "me"}),
    "retrieve": lambda client, cr: client.get(f"{URL}{cr.pk}/"),
    "create": lambda client, cr: client.post(
        URL,
        {
            "entity_type": "item",
            "kind": "update",
            "object_id": cr.object_id,
            "changes": {"description": "Blom tracheostomy tube"},
            "reason": "IFU wording",
        },
        format="json",
    ),
    "approve": lambda client, cr: client.post(f"{URL}{cr.pk}/approve/", {"reason": "ok"}, format="json"),
    "reject": lambda client, cr: client.post(f"{URL}{cr.pk}/reject/", {"reason": "not so"}, format="json"),
    "withdraw": lambda client, cr: client.post(f"{URL}{cr.pk}/withdraw/", {"reason": "mistake"}, format="json"),
    "comment": lambda client, cr: client.post(f"{URL}{cr.pk}/comment/", {"text": "source?"}, format="json"),
    "export": lambda client, cr: client.get("/api/v1/decisions/export/"),
}

# What a successful call leaves behind; a refused one leaves the request submitted, undecided and without comments.
EFFECT = {"approve": "applied", "reject": "rejected", "withdraw": "withdrawn"}


def _caller(role: str):
    if ROLES[role] is None:
        return None
    groups, scope, without = ROLES[role]
    user = User.objects.create_user(username=role.replace(" ", ".").replace("-", ""))
    if without is None:
        user.groups.add(*Group.objects.filter(name__in=groups))
    else:
        app_label, codename = without.split(".")
        perms = Permission.objects.filter(group__name__in=groups).exclude(
            content_type__app_label=app_label, codename=codename
        )
        user.user_permissions.set(perms)
        assert not user.has_perm(without) and user.has_perm("mdm.approve_changerequest")
    if scope is not None:
        approval_scope = ApprovalScope.objects.create(
            name=f"scope of {role}", entity_type="item" if scope else "", unspsc_prefix=scope
        )
        assign_perm("mdm.approve_in_scope", user, approval_scope)
    return user


@pytest.fixture
def world(db):
    """Two items (UNSPSC 42 and 53) and a submitted request on each by another steward."""
    proposer = User.objects.create_user(username="pat.proposer")
    proposer.groups.add(Group.objects.get(name=roles.STEWARD))
    for code, name in (("EA", "Each"), ("BX", "Box")):
        unit_create(code=code, name=name, dimension="count", actor=proposer, reason="test")
    items = {}
    for scope, (unspsc, description) in {
        "in scope": ("42271706", "Blom trach tube"),
        "out of scope": ("53102800", "Exam glove"),
    }.items():
        items[scope] = item_create(
            data={
                "description": description,
                "manufacturer_name": "PULMODYNE INC",
                "manufacturer_part_number": unspsc,
                "item_type": "med_surg",
                "unspsc": unspsc,
                "base_unit": "EA",
                "packaging": [{"unit": "EA", "quantity": 1, "gtin": ""}],
            },
            actor=proposer,
            reason="test",
        )
    return proposer, items


def _propose(actor, item) -> ChangeRequest:
    return change_request_create(
        entity_type="item",
        kind="update",
        object_id=item.pk,
        changes={"short_name": f"by {actor.username}"},
        actor=actor,
        reason="catalog fix",
    )


@pytest.mark.parametrize(("role", "action", "scope", "expected"), CASES)
def test_permission_matrix(world, role, action, scope, expected):
    proposer, items = world
    user = _caller(role)
    target = _propose(
        user if scope == "own request" else proposer, items["in scope" if scope == "own request" else scope]
    )
    before = ChangeRequest.objects.count()
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)

    response = ACTIONS[action](client, target)

    status, check = expected
    assert response.status_code == status, _body(response) or response
    assert CHECKS[check](response, target), _body(response)
    target.refresh_from_db()
    succeeded = 200 <= response.status_code < 300
    assert target.status == (EFFECT[action] if succeeded and action in EFFECT else "submitted")
    if not (succeeded and action in ("approve", "reject")):
        assert not target.approvals.exists()
    commented = succeeded and action in ("comment", "withdraw")  # a withdrawal's reason becomes a comment
    assert ChangeComment.objects.filter(change_request=target).exists() == commented
    assert ChangeRequest.objects.count() == before + (1 if succeeded and action == "create" else 0)


def test_the_matrix_covers_every_role_action_and_object():
    """A new role or action must get its row: a missing cell would silently go untested."""
    actions = set(ACTIONS)
    for role in ROLES:
        rows = {action for r, action, *_ in MATRIX if r == role}
        partial = {"service approver": {"list", "retrieve", "approve", "reject"}, "approver 42 -view_item": {"create"}}
        assert rows == partial.get(role, actions), role
    own = {(role, action) for role, action, _, _, cell in MATRIX if cell is not None}
    proposers = {"steward", "integration", "approver 42", "approver 42 -view_changerequest", "service approver"}
    assert {role for role, _ in own} == proposers  # everyone who can propose has own-request cells
