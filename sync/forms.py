"""Forms of syndication: targets and subscriptions in admin, "replay since" on the operations pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from mdm import registry
from sync.adapters.base import entity_types_for
from sync.models import Subscription, Target

COMMON_KEYS = ("entity_type", "id", "version", "status", "merged_into")
#: The published payload's top-level values a subscription can filter on (the contract's "Published payloads";
#: nested values such as addresses, packaging or a price's unit are not filterable: ``matches`` compares whole
#: values). Keep in step with each app's ``syndication.py``.
FILTER_KEYS = {
    "supplier": (
        "legal_name",
        "duns",
        "uei",
        "ein",
        "vat",
        "gln",
        "hibcc_lic",
        "screening_status",
    ),
    "unit": ("code", "name", "dimension", "unece_code", "ucum_code", "category", "ratio", "is_reference"),
    "item": (
        "description",
        "short_name",
        "manufacturer_name",
        "manufacturer_part_number",
        "item_type",
        "unspsc",
        "sterile",
        "latex_free",
        "single_use",
        "implantable",
        "prescription",
        "ndc",
        "gudid_di",
        "gtin",
        "content_quantity",
    ),
    "contract": ("number", "supplier_id", "kind", "gpo_name", "start_date", "end_date", "currency"),
    "contract_price": (
        "supplier_id",
        "item_id",
        "price",
        "min_quantity",
        "start_date",
        "end_date",
        "currency",
        "price_per_base_unit",
        "min_quantity_base",
    ),
}
STARTSWITH = "__startswith"
SCALARS = (str, int, float, bool, type(None))


def a_target(kind: str) -> str:
    """``an Odoo target``, ``a signed webhook target``, ``a file drop target``."""
    label = Target.Kind(kind).label
    label = label if kind == Target.Kind.ODOO else label.lower()
    return f"{'an' if label[0] in 'AEIOUaeiou' else 'a'} {label} target"


def published_entity_types() -> list[str]:
    """Entity types whose golden records are published to the outbox."""
    return [name for name in registry.entity_types() if registry.get(name).publish is not None]


def allowed_entity_types(kind: str) -> tuple[str, ...]:
    """What a kind of target can receive (its adapter's ``entity_types``)."""
    try:
        return entity_types_for(kind)
    except (ImportError, KeyError):  # an adapter that is not installed: accept what the hub publishes
        return tuple(published_entity_types())


def filter_errors(entity_type: str, filters) -> list[str]:
    """Why ``filters`` cannot work for ``entity_type`` (empty: fine). See ``Subscription`` for the syntax."""
    if not isinstance(filters, dict):
        return ['Filters must be a JSON object, e.g. {"status": "active", "unspsc__startswith": "42"}.']
    known = set(COMMON_KEYS) | set(FILTER_KEYS.get(entity_type, ()))
    errors = []
    for key, wanted in filters.items():
        field = key.removesuffix(STARTSWITH)
        if entity_type in FILTER_KEYS and field not in known:
            errors.append(
                f"'{field}' is not a value of a published {entity_type} you can filter on; use one of: {', '.join(sorted(known))}."
            )
            continue
        values = wanted if isinstance(wanted, list) else [wanted]
        if key.endswith(STARTSWITH):
            if not values or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
                errors.append(f"'{key}' takes a prefix or a list of prefixes (text).")
        elif not all(isinstance(v, SCALARS) for v in values):
            errors.append(f"'{key}' takes a value or a list of values (text, number, true/false or null).")
    return errors


class TargetForm(forms.ModelForm):
    """A target; the secret is write-only: never shown, blank keeps the stored one."""

    url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=Target._meta.get_field("url").help_text,
    )
    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Odoo API key or the webhook signing secret. Encrypted at rest and never shown again.",
    )

    class Meta:
        model = Target
        # ``exclude``, not ``fields``: admin passes its fieldsets (with "secret") as ``fields``, and only an excluded
        # model field is kept out of the initial values (the clear secret) and out of ``construct_instance``.
        exclude = ["secret", "lock_until", "lock_owner"]  # noqa: DJ006

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.pop("secret", None)
        if self.instance.pk and self.instance.secret:
            self.fields["secret"].help_text = (
                "A secret is stored. Leave blank to keep it; type a new one to replace it. "
                "Encrypted at rest and never shown again."
            )

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        has_secret = bool(data.get("secret")) or bool(self.instance.pk and self.instance.secret)
        required = {
            Target.Kind.ODOO: ("url", "database", "login"),
            Target.Kind.WEBHOOK: ("url",),
            Target.Kind.FILE_DROP: ("directory",),
        }.get(kind, ())
        for name in required:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, f"Required for {a_target(kind)}.")
        if kind in (Target.Kind.ODOO, Target.Kind.WEBHOOK) and not has_secret:
            what = "the integration user's API key" if kind == Target.Kind.ODOO else "the signing secret"
            self.add_error("secret", f"Required for {a_target(kind)}: {what}.")
        return data

    def save(self, commit=True):
        target = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            target.secret = self.cleaned_data["secret"]
        if commit:
            target.save()
            self.save_m2m()
        return target


class SubscriptionForm(forms.ModelForm):
    entity_type = forms.ChoiceField(choices=())
    filters = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=(
            'Optional, on the published record: {"status": "active"}, a list of allowed values '
            '{"item_type": ["device", "supply"]}, or a prefix {"unspsc__startswith": "42"}. '
            "A record that leaves the filter after it was delivered is sent once more, as retired."
        ),
    )

    class Meta:
        model = Subscription
        fields = ["entity_type", "filters", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(name, registry.get(name).label) for name in published_entity_types()]
        current = self.initial.get("entity_type") or self.instance.entity_type
        if current and current not in dict(choices):
            choices.append((current, current))
        self.fields["entity_type"].choices = [("", "---------"), *choices]

    def clean_filters(self):
        filters = self.cleaned_data.get("filters")
        return {} if filters in (None, "") else filters

    def clean(self):
        data = super().clean()
        entity_type, filters = data.get("entity_type"), data.get("filters")
        if entity_type and filters is not None:
            for message in filter_errors(entity_type, filters):
                self.add_error("filters", message)
        target = data.get("target")  # on the subscription's own admin page (inline: the formset checks)
        if target is not None and entity_type:
            message = entity_type_error(target.kind, entity_type)
            if message:
                self.add_error("entity_type", message)
        return data


def entity_type_error(kind: str, entity_type: str) -> str:
    """Why a target of ``kind`` cannot subscribe to ``entity_type`` ('' when it can)."""
    allowed = allowed_entity_types(kind)
    if entity_type in allowed:
        return ""
    who = a_target(kind)
    return f"{who[0].upper()}{who[1:]} cannot receive {entity_type} records; it takes {', '.join(allowed)}."


class SubscriptionFormSet(forms.BaseInlineFormSet):
    """Checks each subscription's entity type against what the target's kind (as posted) can receive."""

    def clean(self):
        super().clean()
        kind = getattr(self.instance, "kind", "")
        if not kind:
            return
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            entity_type = form.cleaned_data.get("entity_type")
            message = entity_type_error(kind, entity_type) if entity_type else ""
            if message:
                form.add_error("entity_type", message)


class ReplaySinceForm(forms.Form):
    """Operations page: send everything queued for a target since a time again (after the target was restored)."""

    since = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Deliveries queued at or after this time (server time zone) are sent again.",
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.now():
            raise ValidationError("That is in the future: nothing was queued since then.")
        return since
