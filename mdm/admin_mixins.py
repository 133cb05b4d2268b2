"""Admin behaviour shared by every golden model: no deletes, version shown, fast lists."""

from django.contrib import admin, messages
from django.db.models import Q


class IndexedSearchMixin:
    """Admin search that stays on the indexes at 100k+ rows.

    Django's admin search turns ``=field`` into ``iexact`` (``UPPER(col) = UPPER(x)``, which a btree
    index can't serve) and joins related tables for ``rel__field`` (then de-duplicates). Here ``=field``
    is an exact match (identifiers are stored canonical, so the upper-cased term is tried too), a plain
    field is a contains search (trigram-indexed on PostgreSQL), and a related field is a ``pk__in``
    subquery: no join, no DISTINCT. The whole term is matched, not word by word.
    """

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q()
        for spec in self.get_search_fields(request):
            exact = spec.startswith("=")
            path = spec.lstrip("=^@")
            if exact:
                lookup, value = "in", list(dict.fromkeys([term, term.upper()]))
            else:
                lookup, value = "icontains", term
            if "__" not in path:
                condition |= Q(**{f"{path}__{lookup}": value})
                continue
            relation, rest = path.split("__", 1)
            field = self.model._meta.get_field(relation)
            matches = field.related_model._default_manager.filter(**{f"{rest}__{lookup}": value})
            if field.many_to_one or (field.one_to_one and field.concrete):
                condition |= Q(**{f"{relation}__in": matches.values("pk")})
            else:  # a reverse relation: the children's foreign key points at us
                condition |= Q(pk__in=matches.values(field.field.name))
        return queryset.filter(condition), False


class GoldenAdminMixin(IndexedSearchMixin):
    """Golden records are retired, never deleted; lists don't count 100k rows on every page."""

    show_full_result_count = False
    list_per_page = 50
    readonly_fields_golden = ("version", "created_at", "updated_at")
    actions = ["retire_selected"]

    def get_readonly_fields(self, request, obj=None):
        return tuple(super().get_readonly_fields(request, obj)) + self.readonly_fields_golden

    def has_delete_permission(self, request, obj=None):
        return False

    def governed(self) -> bool:
        """Records stewards change through change requests are read-only here (every change needs four eyes)."""
        from mdm import registry

        return any(spec.stewardship is not None and spec.model is self.model for spec in registry.all_specs())

    def has_add_permission(self, request, *args):
        return not self.governed() and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return not self.governed() and super().has_change_permission(request, obj)

    def get_queryset(self, request):
        """Cut to the user's access limits (``mdm.access``): records outside them are absent here too."""
        from mdm import access, registry

        qs = super().get_queryset(request)
        spec = registry.for_model(self.model)
        return qs if spec is None else access.limit_queryset(request.user, spec.entity_type, qs)

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.data.get("_change_reason") or ("admin edit" if change else "admin create")
        super().save_model(request, obj, form, change)

    @admin.action(description="Retire selected records (never deleted)", permissions=["view"])
    def retire_selected(self, request, queryset):
        from mdm import registry
        from mdm.services.golden import golden_set_status

        spec = next((s for s in registry.all_specs() if s.model is self.model), None)
        if spec is not None and spec.stewardship is not None:
            # Governed records: propose the retirement; an approver applies it.
            from mdm.services.changes import ChangeError, retire_propose

            proposed = []
            for obj in queryset:
                try:
                    proposed.append(
                        retire_propose(
                            entity_type=spec.entity_type,
                            object_id=obj.pk,
                            actor=request.user,
                            reason="retired in admin",
                        ).pk
                    )
                except ChangeError as exc:
                    self.message_user(request, str(exc), messages.WARNING)
            if proposed:
                self.message_user(
                    request,
                    f"Proposed {len(proposed)} retirement(s) for approval: change request(s) "
                    + ", ".join(f"#{pk}" for pk in proposed),
                    messages.SUCCESS,
                )
            return
        if not self.has_change_permission(request):
            self.message_user(request, "You may not retire these records.", messages.ERROR)
            return
        count = 0
        for obj in queryset:
            golden_set_status(obj, status="retired", actor=request.user, reason="retired in admin")
            count += 1
        self.message_user(request, f"Retired {count} record(s).", messages.SUCCESS)


class GovernedChildAdminMixin:
    """Rows owned by a governed golden record (bank accounts, aliases, packaging levels) are read-only here too:
    changing them is a change to the record, made through a change request (a new bank account needs two approvers).
    """

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
