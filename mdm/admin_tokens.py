"""Admin for API tokens: every account's tokens, issuing one for any account, revoking.

The digest of a token's secret (``key_hash``) is never shown. Issuing goes through ``mdm.tokens.issue_token``
and answers with a page that shows the secret once; it is deliberately not a flash message, which would keep
the secret in the message store (cookie or session) until displayed. Tokens are not edited or deleted: a token
that should stop working is revoked (the "Revoke selected tokens" action), and the row stays as evidence.
Creating and revoking write audit rows (``mdm.tokens``). Registered from ``mdm.admin``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.shortcuts import render
from django.utils import timezone

from mdm import tokens
from mdm.models import ApiToken

MANAGE_ALL = "mdm.change_apitoken"


class ApiTokenIssueForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The account's role is checked on every request as well: a scope its role lacks opens nothing.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["expires_at"].help_text = "Empty: never expires (prefer an expiry, and a new token before it)."

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry is in the past; choose a later time or leave it empty.")
        return value


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "scope_list", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = [
        ("revoked_at", admin.EmptyFieldListFilter),
        ("expires_at", admin.EmptyFieldListFilter),
        "created_at",
        "last_used_at",
    ]
    search_fields = ["name", "=prefix", "user__username"]
    list_select_related = ["user"]
    actions = ["revoke_selected"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "revoke_reason",
        "last_used_at",
        "last_used_ip",
    ]
    exclude = ["key_hash"]

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes or [])

    @admin.display(description="State")
    def state(self, obj):
        if obj.revoked_at:
            return f"revoked {obj.revoked_at:%Y-%m-%d}"
        return "expired" if obj.is_expired else "active"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        user = request.user
        # Administrators and auditors see every token; anyone else who reaches admin sees their own.
        if user.is_superuser or user.has_perm(MANAGE_ALL) or user.has_perm("mdm.view_auditevent"):
            return qs
        return qs.filter(user=user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenIssueForm
            kwargs["fields"] = ApiTokenIssueForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ApiTokenIssueForm.Meta.fields})]
        return [(None, {"fields": self.readonly_fields})]

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE_ALL)

    def has_change_permission(self, request, obj=None):
        return False  # tokens are issued and revoked, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # a revoked token stays, as evidence of what it did

    def has_revoke_permission(self, request):
        return request.user.has_perm(MANAGE_ALL)

    def save_model(self, request, obj, form, change):
        if change:  # pragma: no cover - has_change_permission is False
            raise PermissionError("API tokens are not edited; revoke and issue a new one.")
        data = form.cleaned_data
        token, secret = tokens.issue_token(
            data["user"],
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
            created_by=request.user,
            request=request,
        )
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = token.pk, token.prefix, token.key_hash, token.created_at
        obj._state.adding = False
        request._mdm_token_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_mdm_token_secret", None)
        if secret is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "API token issued",
            "token": obj,
            "secret": secret,
        }
        response = render(request, "admin/mdm/apitoken/issued.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            tokens.revoke_token(token, by=request.user, reason="revoked in admin", request=request)
            count += 1
        self.message_user(request, f"{count} token(s) revoked; they no longer work.", messages.SUCCESS)
