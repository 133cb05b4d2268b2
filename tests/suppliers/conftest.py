import pytest
from django.contrib.auth.models import User


@pytest.fixture
def admin_client_root(client, db):
    """The Django test client logged in as a superuser (admin pages)."""
    root = User.objects.create_superuser("root", "root@example.org", "correct horse battery")
    client.force_login(root)
    client.user = root
    return client
