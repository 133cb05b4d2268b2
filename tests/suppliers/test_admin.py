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
        assert 'name="bank_accounts-0-new_account_number"' not in html  # read-only: no field to type a number into

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
    """Suppliers and their rows are changed through change requests (four eyes; two for bank accounts), not here."""

    @pytest.mark.parametrize(
        "url",
        [
            "/admin/suppliers/supplier/add/",
            "/admin/suppliers/supplierbankaccount/add/",
            "/admin/suppliers/supplieralias/add/",
        ],
    )
    def test_adding_is_refused(self, admin_client_root, supplier, url):
        assert admin_client_root.get(url).status_code == 403
        response = admin_client_root.post(
            url,
            {"supplier": supplier.pk, "holder_name": "Medline", "aba_routing": ABA, "new_account_number": NEW_ACCOUNT},
        )
        assert response.status_code == 403
        assert supplier.bank_accounts.count() == 2

    def test_a_bank_account_cannot_be_changed_here(self, admin_client_root, supplier):
        account = supplier.bank_accounts.get(aba_routing=ABA)
        url = f"/admin/suppliers/supplierbankaccount/{account.pk}/change/"
        assert_no_secret(admin_client_root.get(url))  # read-only, masked
        response = admin_client_root.post(
            url, {"supplier": supplier.pk, "holder_name": "Medline", "aba_routing": "", "new_iban": IBAN}
        )
        assert response.status_code == 403
        account.refresh_from_db()
        assert account.account_number == ACCOUNT and account.iban == ""

    def test_the_supplier_page_is_read_only(self, admin_client_root, supplier):
        url = f"/admin/suppliers/supplier/{supplier.pk}/change/"
        page = assert_no_secret(admin_client_root.get(url))
        assert "View supplier" in page
        response = admin_client_root.post(url, {"legal_name": "Renamed in admin"})
        assert response.status_code == 403
        supplier.refresh_from_db()
        assert supplier.legal_name == "Medline Industries, LP" and supplier.version == 1

    def test_supplier_cannot_be_deleted_in_admin(self, admin_client_root, supplier):
        response = admin_client_root.get(f"/admin/suppliers/supplier/{supplier.pk}/delete/")
        assert response.status_code == 403
        assert Supplier.objects.filter(pk=supplier.pk).exists()
