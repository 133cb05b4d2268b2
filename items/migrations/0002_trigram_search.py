from django.db import migrations

from mdm.trigram import trigram_indexes


class Migration(migrations.Migration):
    dependencies = [("items", "0001_initial")]

    operations = [
        trigram_indexes("items_item", ["description", "short_name", "manufacturer_name", "manufacturer_part_number"]),
    ]
