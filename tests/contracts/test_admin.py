"""Admin: a contract links to its (possibly huge) price list instead of rendering an inline per price."""

import pytest
from django.contrib.auth.models import User


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "correct horse battery"))
    return client


@pytest.mark.django_db
def test_contract_page_links_to_the_filtered_price_list(admin_client, contract, make_price):
    make_price("10.00")
    make_price("9.00", min_quantity=100)
    page = admin_client.get(f"/admin/contracts/contract/{contract.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/admin/contracts/contractprice/?contract__id__exact={contract.pk}" in html
    assert "2 price(s) on this contract" in html
    assert "prices-TOTAL_FORMS" not in html  # no inline formset

    listed = admin_client.get("/admin/contracts/contractprice/", {"contract__id__exact": contract.pk})
    assert listed.status_code == 200
    assert "10.0000" in listed.content.decode() and "9.0000" in listed.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["pending", "in_effect", "expired"])
def test_term_filter(admin_client, contract, term):
    assert admin_client.get("/admin/contracts/contract/", {"term": term}).status_code == 200
    assert admin_client.get("/admin/contracts/contractprice/", {"term": term}).status_code == 200


@pytest.mark.django_db
def test_add_price_page_renders(admin_client):
    assert admin_client.get("/admin/contracts/contractprice/add/").status_code == 200
    assert admin_client.get("/admin/contracts/contract/add/").status_code == 200
