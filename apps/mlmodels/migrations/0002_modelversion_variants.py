from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mlmodels", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="variants",
            field=models.JSONField(blank=True, default=dict, verbose_name="measured variants"),
        ),
    ]
