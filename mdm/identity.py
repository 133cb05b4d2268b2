"""People logging in: the lockout page and its audit row (django-axes), and the second factor (django-otp).

Lockout: django-axes counts failed logins per username and address (settings, "Identity") and answers a locked-out login
with ``lockout_response``: the lockout page, HTTP 429, saying when to retry and whom to ask. The first refused
login of a lockout writes one ``login.locked`` audit row (not one per further attempt).

Second factor: a session whose person has a confirmed TOTP device must enter a code (``/account/otp/verify/``)
before it reaches any page or session API call; a member of a role in ``MDM_OTP_REQUIRED_ROLES`` without a device
is sent to enrolment (``/account/otp/``) first. Approving a change request therefore needs a verified session for
those roles, in the UI and through the API with a session. Requests with an API token are not asked: a token
belongs to a service account, has no person at a keyboard, and is limited by its scopes instead.

What a session still owes is worked out at login and kept in the session (``SESSION_KEY``), so ordinary pages
cost no extra query; a role newly requiring a second factor therefore applies at the next login, except that
writes (an approval) check the role again at once.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models import Max
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import user_has_device

from mdm import audit
from mdm.models import AuditEvent

SESSION_KEY = "mdm_second_factor"
VERIFY, ENROL, NONE = "verify", "enrol", "none"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


# --- lockout --------------------------------------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the lockout page with when to retry and whom to contact."""
    from axes.helpers import get_client_username, get_cool_off
    from axes.models import AccessAttempt

    username = get_client_username(request, credentials) or ""
    cool_off = get_cool_off(request) or datetime.timedelta(0)
    attempts = AccessAttempt.objects.filter(username=username)
    if getattr(request, "axes_ip_address", None):
        attempts = attempts.filter(ip_address=request.axes_ip_address)
    last = attempts.aggregate(last=Max("attempt_time"))["last"]
    retry_at = (last or timezone.now()) + cool_off
    context = {
        "username": username,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": round(cool_off.total_seconds() / 60),
        "retry_at": retry_at,
        "support_contact": settings.MDM_SUPPORT_CONTACT,
    }
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)


def on_user_locked_out(sender, request, username, ip_address, **kwargs):
    """One audit row per lockout: axes signals every refused attempt; only the one that locked counts the failures."""
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    audit.record(
        AuditEvent.Action.LOGIN_LOCKED,
        request=request,
        actor=None,
        obj=user,
        object_type="" if user else "auth.user",
        object_repr="" if user else username,
        via="login",
        detail={
            "username": username,
            "ip": ip_address,
            "failures": request.axes_failures_since_start,
            "path": request.path,
            "minutes": round(settings.AXES_COOLOFF_TIME * 60) if settings.AXES_COOLOFF_TIME else None,
        },
    )


# --- second factor --------------------------------------------------------------------------------------------


def otp_required(user) -> bool:
    """Whether the user's role obliges a second factor (``MDM_OTP_REQUIRED_ROLES``)."""
    roles = settings.MDM_OTP_REQUIRED_ROLES
    return bool(roles) and user.is_authenticated and user.groups.filter(name__in=roles).exists()


def second_factor_state(user) -> str:
    """``verify`` (has a confirmed device), ``enrol`` (must get one) or ``none``."""
    if user_has_device(user, confirmed=True):
        return VERIFY
    return ENROL if otp_required(user) else NONE


def remember_state(request, user=None) -> str:
    state = second_factor_state(user or request.user)
    request.session[SESSION_KEY] = state
    return state


def on_user_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        remember_state(request, user)


def _open_paths() -> tuple[str, ...]:
    return (
        reverse("logout"),
        reverse("login"),
        settings.STATIC_URL if settings.STATIC_URL.startswith("/") else f"/{settings.STATIC_URL}",
        "/healthz",
        "/readyz",
        "/metrics",
    )


class SecondFactorMiddleware:
    """Holds a session at the code prompt (or at enrolment) until its second factor is verified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._check(request)
        return response if response is not None else self.get_response(request)

    def _check(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(request, "session"):
            return None
        if request.path.startswith("/api/") and request.headers.get("Authorization"):
            return None  # an API token (or a refused one): service credentials, no second factor
        state = request.session.get(SESSION_KEY)
        if state is None or (state == NONE and request.method not in SAFE_METHODS and settings.MDM_OTP_REQUIRED_ROLES):
            state = remember_state(request)
        if state == NONE or user.is_verified():
            return None
        target = reverse("otp-verify") if state == VERIFY else reverse("otp-setup")
        if request.path == target or request.path.startswith(_open_paths()):
            return None
        if request.path.startswith("/api/"):
            what = "enter the code of your authenticator app" if state == VERIFY else "set up a second factor"
            return JsonResponse(
                {
                    "detail": f"This session needs a second factor first: {what} at {target}. "
                    "(API tokens are not asked for one.)",
                    "code": "second_factor_required",
                },
                status=403,
            )
        next_url = request.get_full_path() if request.method in SAFE_METHODS else "/"
        return redirect(f"{target}?{urlencode({'next': next_url})}")


def connect() -> None:
    """Wire the receivers (called from ``MdmConfig.ready()``)."""
    from axes.signals import user_locked_out

    user_locked_out.connect(on_user_locked_out, dispatch_uid="mdm.identity.locked_out")
    user_logged_in.connect(on_user_logged_in, dispatch_uid="mdm.identity.logged_in")
