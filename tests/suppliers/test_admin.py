"""Admin: suppliers with inlines; bank numbers masked on every page, history included; no deletes."""

import re

import pytest

from mdm.services.golden import golden_save_child
from suppliers.models import Supplier, SupplierBankAccount
from suppliers.services import supplier_create
from tests.suppliers.factories import ABA, ACCOUNT, IBAN

NEW_ACCOUNT = "5550001234"
SECRETS = (ACCOUNT, NEW_ACCOUNT, IBAN, IBAN[4:])


def assert_no_secret(response):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    for secret in SECRETS:
        assert secret not in html, f"{secret} rendered"
    return html


def change_form_data(response) -> dict:
    """The POST body a browser would send back for an admin change page, untouched (inlines included)."""
    forms = [response.context["adminform"].form]
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms.extend(formset.forms)
        for name in formset.management_form.fields:
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form.add_prefix(name)] = "on" if value is True else value
    return data


@pytest.fixture
def supplier(steward):
    return supplier_create(
        data={
            "legal_name": "Medline Industries, LP",
            "duns": "025483210",
            "aliases": ["Medline"],
            "addresses": [{"kind": "remit_to", "line1": "Dept CH 14400", "city": "Palatine", "country": "US"}],
            "contacts": [{"name": "Pat Doe", "role": "AR"}],
            "bank_accounts": [
                {"holder_name": "Medline", "aba_routing": ABA, "account_number": ACCOUNT},
                {"holder_name": "Medline BV", "iban": IBAN, "currency": "EUR"},
            ],
        },
        actor=steward,
        reason="initial load",
    )


@pytest.mark.django_db
class TestMaskedPages:
    def test_supplier_change_page_shows_masked_accounts_only(self, admin_client_root, supplier):
        html = assert_no_secret(admin_client_root.get(f"/admin/suppliers/supplier/{supplier.pk}/change/"))
        assert "••••3210" in html and "••••3000" in html
        assert 'name="bank_accounts-0-new_account_number"' in html
        assert re.search(r'<input type="password" name="bank_accounts-0-new_account_number"[^>]*>', html)

    def test_bank_account_pages(self, admin_client_root, supplier):
        account = supplier.bank_accounts.get(aba_routing=ABA)
        assert_no_secret(admin_client_root.get("/admin/suppliers/supplierbankaccount/"))
        assert_no_secret(admin_client_root.get("/admin/suppliers/supplierbankaccount/", {"q": "3210"}))
        html = assert_no_secret(admin_client_root.get(f"/admin/suppliers/supplierbankaccount/{account.pk}/change/"))
        assert "••••3210" in html

    def test_history_pages_show_the_change_by_last4_not_the_numbers(self, admin_client_root, supplier, steward):
        account = supplier.bank_accounts.get(aba_routing=ABA)
        account.account_number = NEW_ACCOUNT
        golden_save_child(account, actor=steward, reason="supplier sent new bank details")
        base = f"/admin/suppliers/supplierbankaccount/{account.pk}/history/"
        html = assert_no_secret(admin_client_root.get(base))
        assert "supplier sent new bank details" in html
        assert re.search(r"3210\s*(&nbsp;)*&rarr;(&nbsp;)*\s*1234", html), (
            "the account change shows as last4 old -> new"
        )
        for record in account.history.all():
            assert_no_secret(admin_client_root.get(f"{base}{record.history_id}/"))
        assert_no_secret(admin_client_root.get(f"/admin/suppliers/supplier/{supplier.pk}/history/"))

    def test_history_stays_masked_even_if_the_secret_columns_become_editable(
        self, admin_client_root, supplier, steward, monkeypatch
    ):
        # simple-history diffs every editable column and renders it decrypted; the admin excludes the
        # secret columns explicitly, so the page stays clean even without the ``editable=False`` guard.
        for model in (SupplierBankAccount, SupplierBankAccount.history.model):
            for name in ("iban", "account_number"):
                monkeypatch.setattr(model._meta.get_field(name), "editable", True)
        account = supplier.bank_accounts.get(aba_routing=ABA)
        account.account_number = NEW_ACCOUNT
        golden_save_child(account, actor=steward, reason="supplier sent new bank details")
        newer, older = account.history.all()[:2]
        assert "account_number" in newer.diff_against(older).changed_fields  # what would leak without the guard
        assert_no_secret(admin_client_root.get(f"/admin/suppliers/supplierbankaccount/{account.pk}/history/"))

    def test_other_child_and_list_pages_render(self, admin_client_root, supplier):
        for model in ("supplier", "supplieralias", "supplieraddress", "suppliercontact"):
            assert_no_secret(admin_client_root.get(f"/admin/suppliers/{model}/", {"q": "medline"}))
        assert "Medline Industries, LP" in assert_no_secret(
            admin_client_root.get("/admin/suppliers/supplier/", {"q": "025483210"})
        )


@pytest.mark.django_db
class TestAdminWrites:
    def test_add_bank_account_stores_it_encrypted(self, admin_client_root, supplier):
        response = admin_client_root.post(
            "/admin/suppliers/supplierbankaccount/add/",
            {
                "supplier": supplier.pk,
                "holder_name": "Medline",
                "bank_name": "Chase",
                "currency": "usd",
                "aba_routing": ABA,
                "new_account_number": "44-4333-2221",
                "new_iban": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        account = SupplierBankAccount.objects.latest("id")
        assert (account.account_number, account.last4, account.currency, account.iban) == (
            "4443332221",
            "2221",
            "USD",
            "",
        )
        assert account.history.get().history_user == admin_client_root.user

    @pytest.mark.parametrize(
        ("fields", "field", "fragment"),
        [
            ({"aba_routing": ABA, "new_account_number": "73519264", "new_iban": IBAN}, "new_iban", "not both"),
            ({"aba_routing": ABA, "new_iban": IBAN}, "new_iban", "not both"),  # an IBAN with a routing number
            ({"aba_routing": ""}, "new_iban", "Give an IBAN"),
            ({"aba_routing": ABA}, "new_account_number", "required with an ABA"),
            ({"aba_routing": ABA, "new_account_number": "12"}, "new_account_number", "4 to 17"),
            ({"aba_routing": "021000022", "new_account_number": "73519264"}, "aba_routing", "check digit"),
        ],
    )
    def test_invalid_bank_account_is_shown_on_the_form(self, admin_client_root, supplier, fields, field, fragment):
        data = {"supplier": supplier.pk, "holder_name": "Medline", **fields}
        response = admin_client_root.post("/admin/suppliers/supplierbankaccount/add/", data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert fragment in " ".join(errors[field]), errors
        html = response.content.decode()
        assert IBAN not in html and "73519264" not in html  # a refused form does not echo the number back
        assert (
            not SupplierBankAccount.objects.filter(holder_name="Medline", supplier=supplier)
            .exclude(pk__in=supplier.bank_accounts.values("pk"))
            .exists()
        )

    def test_switching_an_aba_account_to_an_iban(self, admin_client_root, supplier):
        account = supplier.bank_accounts.get(aba_routing=ABA)
        response = admin_client_root.post(
            f"/admin/suppliers/supplierbankaccount/{account.pk}/change/",
            {
                "supplier": supplier.pk,
                "holder_name": "Medline",
                "aba_routing": "",
                "new_iban": IBAN,
                "is_primary": "on",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        account.refresh_from_db()
        assert (account.iban, account.account_number, account.last4) == (IBAN, "", "3000")

    def test_new_account_number_in_the_supplier_inline(self, admin_client_root, supplier):
        url = f"/admin/suppliers/supplier/{supplier.pk}/change/"
        data = change_form_data(admin_client_root.get(url))
        account = supplier.bank_accounts.get(aba_routing=ABA)
        index = next(k for k, v in data.items() if k.startswith("bank_accounts-") and v == account.pk).split("-")[1]
        assert f"bank_accounts-{index}-new_account_number" not in data  # nothing to send back: never rendered
        data[f"bank_accounts-{index}-new_account_number"] = NEW_ACCOUNT
        response = admin_client_root.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        account.refresh_from_db()
        assert (account.account_number, account.last4, account.aba_routing) == (NEW_ACCOUNT, "1234", ABA)
        assert account.history.first().history_user == admin_client_root.user
        supplier.refresh_from_db()
        assert supplier.version == 2  # the supplier form was saved too (an admin edit)
        assert_no_secret(admin_client_root.get(url))

    def test_supplier_form_normalizes_identifiers(self, admin_client_root):
        response = admin_client_root.post(
            "/admin/suppliers/supplier/add/",
            {
                "legal_name": "Acme Surgical",
                "duns": "12-345-6789",
                "ein": "311234567",
                "vat": "de 136 695 976",
                "screening_status": "not_screened",
                "status": "active",
                **{f"{prefix}-TOTAL_FORMS": "0" for prefix in ("aliases", "addresses", "contacts", "bank_accounts")},
                **{f"{prefix}-INITIAL_FORMS": "0" for prefix in ("aliases", "addresses", "contacts", "bank_accounts")},
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        supplier = Supplier.objects.get(legal_name="Acme Surgical")
        assert (supplier.duns, supplier.ein, supplier.vat) == ("123456789", "31-1234567", "DE136695976")
        assert supplier.history.get().history_change_reason == "admin create"

    def test_supplier_form_names_a_bad_identifier(self, admin_client_root):
        response = admin_client_root.post(
            "/admin/suppliers/supplier/add/",
            {
                "legal_name": "Acme Surgical",
                "ein": "07-1234567",
                "screening_status": "not_screened",
                "status": "active",
                **{f"{prefix}-TOTAL_FORMS": "0" for prefix in ("aliases", "addresses", "contacts", "bank_accounts")},
                **{f"{prefix}-INITIAL_FORMS": "0" for prefix in ("aliases", "addresses", "contacts", "bank_accounts")},
            },
        )
        assert response.status_code == 200
        assert "prefix" in response.context["adminform"].form.errors["ein"][0]
        assert not Supplier.objects.exists()

    def test_supplier_cannot_be_deleted_in_admin(self, admin_client_root, supplier):
        response = admin_client_root.get(f"/admin/suppliers/supplier/{supplier.pk}/delete/")
        assert response.status_code == 403
        assert Supplier.objects.filter(pk=supplier.pk).exists()
