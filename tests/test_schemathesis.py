"""Schemathesis against the live OpenAPI schema: every check, positive and negative data, with a token.

The run must find no server error and no response that breaks the schema.
It drives the real HTTP server (pytest-django's live_server) from the
schemathesis CLI, with a few examples per operation to stay well under five
minutes. Two settings are deliberate:

- DELETE /api/auth/token is left out: it revokes the very token the run
  authenticates with, and every later request would only test the 401 path.
- The import takes any bytes by schema, but a file whose rows are not valid
  JSONL/CSV/Label Studio is a client error (400) by design, so
  ``positive_data_acceptance`` accepts 400 for that one operation.

Strings without NUL characters: PostgreSQL cannot store them in text, so the
API refuses them, and the schema cannot say so.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from knox.models import AuthToken
from rest_framework.throttling import ScopedRateThrottle

from annotate.models import ImportJob, Resolution, Role
from tests.api_support import clear_throttles  # noqa: F401
from tests.factories import add_member, annotate_item, make_guideline, make_items, make_labels, make_project, make_user

CONFIG = """
[generation]
allow-x00 = false

[[operations]]
include-operation-id = "projects_import_create"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 413, 429]

# Creating, cloning or renaming a project with a name that is taken or holds an invisible character,
# or with both `labels` and `label_config`, skip reasons that repeat one another regardless of case, a
# delete whose `confirm` is not the project's name, adding a user name that has no account, and creating
# an account whose user name is taken are
# client errors (400) the schema cannot express.
[[operations]]
include-operation-id = [
  "projects_create", "projects_clone_create", "projects_destroy", "projects_members_create", "projects_people_create",
  "projects_partial_update"
]
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# A split of a project with fewer than two items (the run creates empty projects) is refused with 400.
[[operations]]
include-operation-id = "projects_export_retrieve"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 403, 404, 409, 429]

# A valid but out-of-date `expected` state is refused with 409 by design.
[[operations]]
include-operation-id = "projects_resolutions_create"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 429]
"""


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_server, tmp_path, monkeypatch):
    # Fresh sequences make the ids 1, 2, 3...: the smallest valid id in the
    # schema, which schemathesis tries first, then names real objects.
    project = make_project("Schemathesis")
    guideline = make_guideline(project, 1)
    labels = make_labels(project, ["shipping", "refund", "billing"])
    items = make_items(project, 5)
    manager, annotator = make_user("boss"), make_user("ann")
    add_member(project, manager, Role.MANAGER)
    add_member(project, annotator, Role.ANNOTATOR)
    annotate_item(items[0], annotator, {labels[0]: 1, labels[1]: (0, 0.6)}, guideline=guideline)
    Resolution.objects.create(item=items[0], label=labels[1], value=0, reviewer=manager)
    ImportJob.objects.create(project=project, created_by=manager, format="jsonl", path="/nonexistent")
    # The manager may create projects, so the create and clone operations get past the permission check.
    manager.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    _, token = AuthToken.objects.create(user=manager)
    # Throttling is tested elsewhere; here it would only cut the run short.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "100000/min", "expensive": "100000/min"})

    # The server's first request imports the whole URLconf (the learner's API
    # brings torch and scikit-learn) before it builds the schema; on a busy
    # machine that outlasts schemathesis's fixed ten-second limit for loading
    # the schema, so the schema is loaded once here first.
    urllib.request.urlopen(f"{live_server.url}/api/schema/", timeout=120).read()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "8",
        "--workers",
        "1",
        "--seed",
        "20261122",
        "--exclude-operation-id",
        "auth_token_destroy",
        "--header",
        f"Authorization: Token {token}",
        "--request-timeout",
        "30",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=290, cwd=tmp_path)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "Tested: " in output
