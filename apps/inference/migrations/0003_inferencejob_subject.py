from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inference", "0002_inferencejob_api_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="inferencejob",
            name="subject",
            field=models.CharField(blank=True, default="", max_length=80),
        ),
    ]
