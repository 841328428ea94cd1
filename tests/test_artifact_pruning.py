"""Old model files are deleted so retraining every few dozen answers does not fill the disk."""

from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from learner.models import ModelVersion
from learner.training import prune_artifacts


def test_only_the_newest_ready_artifacts_are_kept(project, tmp_path):
    now = timezone.now()
    versions = []
    for age in range(5):
        path = tmp_path / f"model-{age}.joblib"
        path.write_bytes(b"model")
        versions.append(
            ModelVersion.objects.create(
                project=project,
                status=ModelVersion.Status.READY,
                artifact_path=str(path),
                created_at=now - timedelta(hours=age),
            )
        )

    assert prune_artifacts(project=project, keep=3) == 2

    for version in versions:
        version.refresh_from_db()
    kept = [bool(version.artifact_path) for version in versions]
    assert kept == [True, True, True, False, False]
    assert [Path(tmp_path / f"model-{age}.joblib").exists() for age in range(5)] == kept
    # Metrics and status of pruned versions stay for the model page.
    assert all(version.status == ModelVersion.Status.READY for version in versions)
