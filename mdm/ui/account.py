"""The signed-in person's own account pages: API tokens (``/account/tokens/``) and the second factor
(``/account/otp/``, ``/account/otp/verify/``).

Tokens: people whose role may hold tokens (``mdm.add_apitoken``: integration and operations) list, create and
revoke their own, never anyone else's. A new token's secret is shown once, in the response to the create form,
and stored nowhere (not in the session, not in a flash message): the page says to copy it now.

Second factor: enrolment shows a TOTP key as a QR code (inline SVG, no script) and as text; the device counts
once a code from it is confirmed. ``mdm.identity.SecondFactorMiddleware`` sends sessions here that owe a code.
"""

from __future__ import annotations

import base64
import datetime

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from mdm import audit, identity, tokens
from mdm.models import ApiToken, AuditEvent

DEVICE_NAME = "Authenticator app"


# --- API tokens -----------------------------------------------------------------------------------------------


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. 'Odoo production connector'.", strip=True
    )
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=())
    expires_on = forms.DateField(
        label="Expires on", widget=forms.DateInput(attrs={"type": "date"}), help_text="The token stops working then."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ApiToken.Scope.choices)
        self.fields["scopes"].choices = [(scope, labels[scope]) for scope in tokens.scopes_for_user(user)]
        self.fields["scopes"].help_text = "Only what your role can use; the role is checked on every request too."
        today = timezone.localdate()
        self.max_date = today + datetime.timedelta(days=settings.MDM_TOKEN_MAX_DAYS)
        self.fields["expires_on"].initial = today + datetime.timedelta(days=settings.MDM_TOKEN_DEFAULT_DAYS)
        self.fields["expires_on"].widget.attrs.update(
            {"min": (today + datetime.timedelta(days=1)).isoformat(), "max": self.max_date.isoformat()}
        )

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        if value <= timezone.localdate():
            raise ValidationError("Choose a date after today.")
        if value > self.max_date:
            raise ValidationError(
                f"At most {settings.MDM_TOKEN_MAX_DAYS} days ahead ({self.max_date:%Y-%m-%d}); create a new token then."
            )
        return value

    def expires_at(self) -> datetime.datetime:
        """The end of the chosen day, in the hub's time zone."""
        day = self.cleaned_data["expires_on"]
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


def _token_rows(user):
    rows = []
    for token in ApiToken.objects.filter(user=user).order_by("-created_at"):
        status = "revoked" if token.revoked_at else "expired" if token.is_expired else "active"
        rows.append({"token": token, "status": status})
    return rows


@never_cache
@login_required
@permission_required("mdm.add_apitoken", raise_exception=True)
def token_list(request):
    """The person's tokens; POST creates one and shows its secret in this one response."""
    form = TokenCreateForm(request.POST or None, user=request.user)
    issued = secret = None
    if request.method == "POST" and form.is_valid():
        try:
            issued, secret = tokens.issue_token(
                request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                created_by=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = TokenCreateForm(user=request.user)
    return render(
        request,
        "mdm/account/tokens.html",
        {
            "form": form,
            "rows": _token_rows(request.user),
            "issued": issued,
            "secret": secret,
            "max_days": settings.MDM_TOKEN_MAX_DAYS,
        },
        status=201 if issued else (400 if request.method == "POST" else 200),
    )


@require_POST
@login_required
@permission_required("mdm.add_apitoken", raise_exception=True)
def token_revoke(request, pk: int):
    """Revoke one of the person's own tokens (another person's token is not found)."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if token.revoked_at is not None:
        messages.info(request, f"Token {token.prefix} was already revoked.")
    else:
        reason = (request.POST.get("reason") or "").strip() or "revoked by its owner"
        tokens.revoke_token(token, by=request.user, reason=reason, request=request)
        messages.success(request, f"Token “{token.name}” ({token.prefix}) is revoked; it no longer works.")
    return redirect("account-tokens")


# --- second factor --------------------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "pattern": "[0-9 ]*"}
        ),
    )

    def clean_code(self):
        return self.cleaned_data["code"].replace(" ", "")


def _next_url(request, default="/") -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def _key_text(device: TOTPDevice) -> str:
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def _verify(device, code: str) -> str | None:
    """None if the code is right, else what to tell the person."""
    allowed, data = device.verify_is_allowed()
    if not allowed:
        return "Too many wrong codes: wait a few seconds, then try the newest code."
    if device.verify_token(code):
        return None
    return (
        "That code is not right. Codes change every 30 seconds: enter the one shown now (and check the phone's clock)."
    )


@never_cache
@login_required
def otp_setup(request):
    """Enrol an authenticator app, or (with one) see it and remove it."""
    user = request.user
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    required = identity.otp_required(user)
    context = {"required": required, "support_contact": settings.MDM_SUPPORT_CONTACT, "next": _next_url(request, "")}
    if device is not None:
        return render(request, "mdm/account/otp.html", {**context, "device": device, "form": CodeForm()})
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if pending is None:
        pending = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = _verify(pending, form.cleaned_data["code"])
        if error is None:
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            django_otp.login(request, pending)
            identity.remember_state(request)
            audit.record(
                AuditEvent.Action.OTP_CHANGE,
                request=request,
                obj=user,
                detail={"change": "enrolled", "device": pending.name, "device_id": pending.pk},
            )
            messages.success(request, "Second factor set up: after each password login you will be asked for a code.")
            return redirect(_next_url(request, "otp-setup"))
        form.add_error("code", error)
    context.update(
        {
            "pending": pending,
            "form": form,
            "qr": mark_safe(_qr_svg(pending.config_url)),  # noqa: S308 - SVG built by qrcode from our own URL
            "key_text": _key_text(pending),
        }
    )
    return render(request, "mdm/account/otp_setup.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def otp_remove(request):
    """Remove the authenticator app; needs a verified session and a current code from it."""
    user = request.user
    devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    device = devices.first()
    if device is None:
        return redirect("otp-setup")
    form = CodeForm(request.POST)
    error = "Enter the current code of the app to remove it."
    if user.is_verified() and form.is_valid():
        error = _verify(device, form.cleaned_data["code"])
    if error is not None:
        messages.error(request, error)
        return redirect("otp-setup")
    names = list(devices.values_list("name", flat=True))
    devices.delete()
    request.session.pop(django_otp.DEVICE_ID_SESSION_KEY, None)
    identity.remember_state(request)
    audit.record(
        AuditEvent.Action.OTP_CHANGE, request=request, obj=user, detail={"change": "removed", "devices": names}
    )
    messages.success(request, "Second factor removed.")
    return redirect("otp-setup")


@never_cache
@login_required
def otp_verify(request):
    """The code prompt after a password login."""
    user = request.user
    devices = list(django_otp.devices_for_user(user, confirmed=True))
    if not devices:
        return redirect(_next_url(request))
    if user.is_verified():
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = None
        for device in devices:
            error = _verify(device, form.cleaned_data["code"])
            if error is None:
                django_otp.login(request, device)
                return redirect(_next_url(request))
        form.add_error("code", error)
    return render(
        request,
        "mdm/account/otp_verify.html",
        {"form": form, "next": _next_url(request, ""), "support_contact": settings.MDM_SUPPORT_CONTACT},
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("account/tokens/", token_list, name="account-tokens"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="account-token-revoke"),
    path("account/otp/", otp_setup, name="otp-setup"),
    path("account/otp/remove/", otp_remove, name="otp-remove"),
    path("account/otp/verify/", otp_verify, name="otp-verify"),
]
