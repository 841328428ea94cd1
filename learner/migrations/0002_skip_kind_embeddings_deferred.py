"""A skip's kind and deferred embeddings become fields; the unused ``annotation_count`` goes.

Until now the model pages read a skip's kind back from the wording of its
reason, and the retrain loop read deferred embeddings back from the start of
``metrics["embeddings"]``. The data step fills the new fields of existing
versions from those same words, so the history reads as before. The words
are copied here, not imported, so that this migration keeps meaning what it
meant when the code changes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

# The start of the reason a retrain skipped for unchanged answers stored; every other skip was for too few answers.
UNCHANGED_REASON = "The answers have not changed"
# The start of metrics["embeddings"] of a version that trained without its embedding member.
DEFERRED = "deferred"


def fill_from_words(apps: Any, schema_editor: Any) -> None:
    ModelVersion = apps.get_model("learner", "ModelVersion")
    skipped = ModelVersion.objects.filter(status="skipped")
    skipped.filter(error__startswith=UNCHANGED_REASON).update(skip_kind="unchanged_answers")
    skipped.exclude(error__startswith=UNCHANGED_REASON).update(skip_kind="not_enough_data")
    # Read in Python rather than through a JSON lookup, whose SQL differs
    # between SQLite and PostgreSQL; a project keeps a few hundred versions at most.
    deferred = [
        pk
        for pk, metrics in ModelVersion.objects.exclude(metrics={}).values_list("pk", "metrics").iterator()
        if isinstance(metrics, dict) and str(metrics.get("embeddings", "")).startswith(DEFERRED)
    ]
    ModelVersion.objects.filter(pk__in=deferred).update(embeddings_deferred=True)


class Migration(migrations.Migration):
    dependencies = [
        ("learner", "0001_initial"),
    ]

    operations = [
        # Never written or read: the counts of a training snapshot live in
        # ``dataset_counts``, beside the items and entries the pages show.
        migrations.RemoveField(
            model_name="modelversion",
            name="annotation_count",
        ),
        migrations.AddField(
            model_name="modelversion",
            name="embeddings_deferred",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="skip_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("not_enough_data", "Skipped (not enough data)"),
                    ("unchanged_answers", "Skipped (data unchanged)"),
                ],
                max_length=32,
            ),
        ),
        # Going back, the fields are simply dropped: the words they came from are still stored.
        migrations.RunPython(fill_from_words, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.CheckConstraint(
                condition=(models.Q(status="skipped") & ~models.Q(skip_kind=""))
                | (~models.Q(status="skipped") & models.Q(skip_kind="")),
                name="model_version_skip_kind_iff_skipped",
            ),
        ),
    ]
