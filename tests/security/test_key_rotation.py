"""Key rotation: secrets written under key A are re-encrypted under key B by ``manage.py rotate_encryption_keys``,
after which B alone reads every one of them: bank accounts and their history rows, a target's secret, bank numbers
sealed in source-record and outbox payloads, and the new number a change request carries.

The keys are switched with ``override_settings`` (``mdm.crypto`` caches one MultiFernet per key list, so a new list
is a new cipher); the raw columns are read with SQL to see that the stored ciphertext really changed.
"""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from mdm import crypto
from mdm.models import AuditEvent, ChangeRequest, SourceRecord, SourceSystem
from mdm.payload_secrets import unseal
from mdm.services.changes import change_request_create
from mdm.services.ingest import source_records_ingest
from suppliers.models import SupplierBankAccount
from sync.models import OutboxEvent, Target

pytestmark = pytest.mark.django_db(transaction=False)

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
KEY_C = Fernet.generate_key().decode()  # a key the hub no longer has
IBAN = "DE89370400440532013000"
NEW_IBAN = "GB82WEST12345698765432"
SECRET = "odoo-api-key-0123456789"
PATHS = ("bank_accounts.*.iban", "bank_accounts.*.account_number")


def keys(*names):
    return override_settings(FIELD_ENCRYPTION_KEYS=list(names))


def raw(table: str, column: str, pk_column: str = "id") -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk_column}, {column} FROM {table} ORDER BY {pk_column}")  # noqa: S608
        return dict(cursor.fetchall())


def snapshot() -> dict:
    return {
        "account": raw("suppliers_supplierbankaccount", "iban"),
        "history": raw("suppliers_historicalsupplierbankaccount", "iban", "history_id"),
        "target": raw("sync_target", "secret"),
    }


def sealed_tokens() -> list[str]:
    tokens = []
    for record in SourceRecord.objects.filter(entity_type="supplier"):
        tokens += [
            a["iban"]["sealed"] for a in record.payload.get("bank_accounts", []) if isinstance(a.get("iban"), dict)
        ]
    for event in OutboxEvent.objects.filter(entity_type="supplier"):
        tokens += [
            a["iban"]["sealed"] for a in event.payload.get("bank_accounts", []) if isinstance(a.get("iban"), dict)
        ]
    return tokens


@pytest.fixture
def secrets_under_a(make_supplier, steward):
    """Every kind of stored secret, written while only key A exists."""
    with keys(KEY_A):
        supplier = make_supplier(
            "Medline Industries, LP",
            bank_accounts=[{"holder_name": "Medline", "bank_name": "Commerzbank", "iban": IBAN}],
        )
        account = supplier.bank_accounts.get()
        account.holder_name = "Medline Industries"  # a second history row, still holding the encrypted IBAN
        account.save()
        Target.objects.create(name="odoo", kind=Target.Kind.ODOO, url="http://127.0.0.1:9", secret=SECRET)
        system = SourceSystem.objects.create(name="erp", kind="odoo", trust_rank=5)
        source_records_ingest(
            system=system,
            entity_type="supplier",
            records=[
                {
                    "external_id": "V-1",
                    "payload": {"legal_name": "Medline", "bank_accounts": [{"holder_name": "M", "iban": IBAN}]},
                }
            ],
            actor=steward,
            match=False,
        )
        change = change_request_create(
            entity_type="supplier",
            kind="update",
            object_id=supplier.pk,
            changes={"bank_accounts": [{"holder_name": "Medline Industries", "iban": NEW_IBAN, "is_primary": True}]},
            actor=steward,
            reason="new bank",
        )
    return {"supplier": supplier, "account": account, "change": change}


def change_token(change) -> str:
    change = ChangeRequest.objects.get(pk=change.pk)
    return change.changes["bank_accounts"][0]["iban_encrypted"]


def test_rotation_re_encrypts_everything_and_only_the_new_key_is_needed_after(secrets_under_a, capsys):
    before = snapshot()
    tokens_before = sealed_tokens()
    change = secrets_under_a["change"]
    assert tokens_before and change_token(change)
    assert len(before["history"]) >= 2

    with keys(KEY_B, KEY_A):
        call_command("rotate_encryption_keys", "--batch-size", "1", "--reason", "yearly rotation")
    out = capsys.readouterr().out
    assert "suppliers_supplierbankaccount.iban" in out and "suppliers_historicalsupplierbankaccount.iban" in out
    assert "sync_target.secret" in out and "mdm_sourcerecord.payload" in out

    after = snapshot()
    for name in ("account", "history", "target"):
        for pk, value in before[name].items():
            if value:
                assert after[name][pk] != value, (name, pk)

    with keys(KEY_B):  # the old key is gone: everything still reads
        account = SupplierBankAccount.objects.get(pk=secrets_under_a["account"].pk)
        assert account.iban == IBAN
        assert {row.iban for row in account.history.all()} == {IBAN}
        assert Target.objects.get().secret == SECRET
        record = SourceRecord.objects.get(external_id="V-1")
        assert unseal(record.payload, PATHS)["bank_accounts"][0]["iban"] == IBAN
        assert all(crypto.decrypt(token) in (IBAN,) for token in sealed_tokens())
        assert crypto.decrypt(change_token(change)) == NEW_IBAN
        with keys(KEY_A), pytest.raises(crypto.DecryptionError):  # and the old key alone reads none of it
            crypto.decrypt(change_token(change))

    (row,) = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_ROTATION)
    assert (
        row.via == "command" and row.detail["key"] == crypto.key_id(KEY_B) and row.detail["reason"] == "yearly rotation"
    )
    columns = row.detail["columns"]
    assert columns["suppliers_supplierbankaccount.iban"]["rotated"] == 1
    assert columns["suppliers_historicalsupplierbankaccount.iban"]["rotated"] == len(before["history"])
    assert columns["sync_target.secret"] == {"scanned": 1, "rotated": 1, "current": 0, "unreadable": 0}
    assert columns["mdm_changerequest.changes"]["rotated"] == 1
    assert row.detail["unreadable"] == 0 and KEY_B not in str(row.detail) and IBAN not in str(row.detail)

    # a second run finds everything under the first key already: nothing is written
    again = snapshot()
    with keys(KEY_B, KEY_A):
        call_command("rotate_encryption_keys")
    assert snapshot() == again
    second = AuditEvent.objects.filter(action=AuditEvent.Action.KEY_ROTATION).latest("id")
    assert second.detail["rotated"] == 0


def test_dry_run_counts_and_changes_nothing(secrets_under_a, capsys):
    before, tokens = snapshot(), sealed_tokens()
    with keys(KEY_B, KEY_A):
        call_command("rotate_encryption_keys", "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run" in out and "would re-encrypt 1" in out
    assert snapshot() == before and sealed_tokens() == tokens
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.KEY_ROTATION).exists()


def test_a_value_no_key_reads_is_reported_and_the_rest_still_rotated(secrets_under_a, capsys):
    account = secrets_under_a["account"]
    with keys(KEY_C):
        lost = crypto.encrypt("CH9300762011623852957")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE suppliers_supplierbankaccount SET iban = %s WHERE id = %s", [lost, account.pk])
    before = snapshot()
    with keys(KEY_B, KEY_A), pytest.raises(CommandError, match="1 stored values could not be decrypted"):
        call_command("rotate_encryption_keys")
    err = capsys.readouterr().err
    assert f"unreadable: suppliers_supplierbankaccount pk={account.pk} column=iban" in err
    after = snapshot()
    assert after["account"][account.pk] == lost  # left as it was
    assert after["target"] != before["target"]  # the others were re-encrypted
    row = AuditEvent.objects.get(action=AuditEvent.Action.KEY_ROTATION)
    assert row.detail["unreadable"] == 1
    assert row.detail["columns"]["suppliers_supplierbankaccount.iban"]["unreadable"] == 1


def test_without_keys_the_command_refuses():
    with keys(), pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY is not set"):
        call_command("rotate_encryption_keys")


def test_the_key_file_may_hold_several_keys(tmp_path, monkeypatch):
    """FIELD_ENCRYPTION_KEY_FILE with one key per line (or commas) gives the list, first key first."""
    import subprocess
    import sys

    path = tmp_path / "keys"
    path.write_text(f"{KEY_B}\n{KEY_A}\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "1",
        "MDM_VAR_DIR": str(tmp_path),
        "FIELD_ENCRYPTION_KEY_FILE": str(path),
        "DJANGO_SETTINGS_MODULE": "mdm.settings",
    }
    code = "from django.conf import settings; print(','.join(settings.FIELD_ENCRYPTION_KEYS))"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    out = run.stdout
    assert out.strip() == f"{KEY_B},{KEY_A}"
