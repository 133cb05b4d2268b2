from django.db import migrations

from mdm.trigram import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("suppliers", "0001_initial")]

    operations = [
        trigram_indexes("suppliers_supplier", ["legal_name"]),
        trigram_indexes("suppliers_supplieralias", ["name"]),
    ]
