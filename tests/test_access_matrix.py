"""Every HTML view and API endpoint x every role x own project / other project gives the expected status.

The matrix below has one entry per URL name. ``test_every_route_has_an_entry``
walks the URL conf, so a new route without an entry fails with its name.
Adding a route's expectation is one line in ``MATRIX``::

    "label-merge": Check(MANAGER, args=label_args),

The expected status follows from the entry: anonymous users are sent to the
login page (HTML) or get 401 (API); a user who is not a member of the project
gets 404; a member whose role is below the minimum gets 403; everybody else,
and a superuser everywhere, gets the entry's ``ok`` status (by default 200 for
GET and 302 for an HTML POST, whose redirect carries the outcome).

Each request runs in a transaction that is rolled back, so a POST that
removes a member or retires a label does not change what the next request
sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotate.access import role_allows
from annotate.models import Annotation, ImportJob, Membership, Project, Resolution, Role
from annotate.setup.projects import CREATE_PERMISSION
from tests.factories import add_member, annotate_item, make_guideline, make_items, make_labels, make_user

PUBLIC = "public"  # anyone, logged in or not
USER = "user"  # anyone logged in; no project involved
ANNOTATOR, REVIEWER, MANAGER = Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER
SUPERUSER = "superuser"
# Anyone logged in who holds the site permission to create projects (superusers do).
CREATOR = "creator"

# Routes the matrix does not cover: the admin has its own permission system,
# and the API schema and its UI are public documentation.
SKIPPED_PREFIXES = ("admin/", "static/", "media/", "__debug__/")
SKIPPED_NAMES = {"api-schema", "api-docs"}


@dataclass
class World:
    """The objects of one project that routes take as arguments, plus who is asking."""

    project: Project
    user: Any
    label: Any
    item: Any
    guideline: Any
    annotations: dict[int, Annotation]
    member: Membership  # a member other than the project's manager accounts
    resolution: Resolution
    import_job: ImportJob
    model_version: Any

    @property
    def annotation(self) -> Annotation:
        """The asking user's own annotation in this project, else any (which they may not open)."""
        own = self.annotations.get(getattr(self.user, "pk", None))
        return own or next(iter(self.annotations.values()))


def no_args(w: World) -> list[Any]:
    return []


def project_args(w: World) -> list[Any]:
    return [w.project.pk]


def item_args(w: World) -> list[Any]:
    return [w.project.pk, w.item.pk]


def label_args(w: World) -> list[Any]:
    return [w.project.pk, w.label.pk]


def annotation_args(w: World) -> list[Any]:
    return [w.project.pk, w.annotation.pk]


def membership_args(w: World) -> list[Any]:
    return [w.project.pk, w.member.pk]


def member_user_args(w: World) -> list[Any]:
    return [w.project.pk, w.member.user_id]


def member_person_args(w: World) -> list[Any]:
    return [w.member.user_id]


def guideline_args(w: World) -> list[Any]:
    return [w.project.pk, w.guideline.pk]


def resolution_args(w: World) -> list[Any]:
    return [w.project.pk, w.resolution.pk]


def import_job_args(w: World) -> list[Any]:
    return [w.project.pk, w.import_job.pk]


def model_version_args(w: World) -> list[Any]:
    return [w.project.pk, w.model_version.pk]


@dataclass(frozen=True)
class Check:
    """One request a route answers: who may make it, how, and what an allowed user gets."""

    minimum: str
    method: str = "get"
    args: Callable[[World], list[Any]] = project_args
    # The request body: a dict, or a function of the World for bodies that name objects.
    data: dict[str, Any] | Callable[[World], dict[str, Any]] = field(default_factory=dict)
    ok: int | tuple[int, ...] | None = None
    htmx: bool = False
    # Besides the project role, the site permission to create projects (cloning makes one).
    needs_permission: bool = False


MATRIX: dict[str, Check | tuple[Check, ...]] = {
    # Site
    "healthz": Check(PUBLIC, args=no_args),
    "favicon": Check(PUBLIC, args=no_args, ok=301),
    "login": Check(PUBLIC, args=no_args),
    "logout": Check(PUBLIC, "post", args=no_args),
    "home": Check(USER, args=no_args),
    "project": Check(ANNOTATOR),
    # Passwords (issue 14): change your own; set one with a one-time link.
    "password_change": Check(USER, args=no_args),
    "password_change_done": Check(USER, args=no_args),
    "password_reset": Check(PUBLIC, args=no_args),
    "password_reset_done": Check(PUBLIC, args=no_args),
    "password_reset_confirm": Check(PUBLIC, args=lambda w: ["MQ", "not-a-token"]),
    "password_reset_complete": Check(PUBLIC, args=no_args),
    # A project's life (issue 14). Empty forms pass the access check and are then refused.
    "project-new": (Check(CREATOR, args=no_args), Check(CREATOR, "post", args=no_args, ok=400)),
    "project-clone": (
        Check(MANAGER, needs_permission=True),
        Check(MANAGER, "post", needs_permission=True, ok=400),
    ),
    "project-archive": Check(MANAGER, "post"),
    "project-delete": (Check(MANAGER), Check(MANAGER, "post", ok=400)),
    # People (issue 14): a new account's link page, a new link, deactivation.
    "person-create": Check(MANAGER, "post", ok=400),
    "person-password-link": Check(MANAGER, "post", args=membership_args, ok=200),
    "person-active": Check(MANAGER, "post", args=membership_args),
    # Annotating (issue 4)
    "annotate": Check(ANNOTATOR),
    # An empty form passes the access check and is then refused as a bad request.
    "annotate-submit": Check(ANNOTATOR, "post", args=item_args, ok=400),
    "annotate-skip": Check(ANNOTATOR, "post", args=item_args, ok=400),
    "my-annotations": Check(ANNOTATOR),
    # Daily flow (issue 14): an empty flag or majority form passes the access check and is refused as a bad request.
    "annotate-flag": Check(ANNOTATOR, "post", args=item_args, ok=400),
    "my-agreement": Check(ANNOTATOR),
    "review-majority": Check(REVIEWER, "post", data=lambda w: {"item": w.item.pk}, ok=400),
    "items": Check(REVIEWER),
    "item-detail": Check(REVIEWER, args=item_args),
    "annotation-edit": Check(ANNOTATOR, args=annotation_args),
    # Review (issue 5)
    "review": Check(REVIEWER),
    "review-resolve": Check(REVIEWER, "post", data=lambda w: {"item": w.item.pk, "label": w.label.pk, "value": "1"}),
    "review-unresolve": Check(REVIEWER, "post", data=lambda w: {"item": w.item.pk, "label": w.label.pk}),
    "dashboard": Check(REVIEWER),
    # Guidelines (issue 6)
    "guideline": Check(ANNOTATOR),
    "guideline-diff": Check(ANNOTATOR),
    "guideline-edit": (Check(REVIEWER), Check(REVIEWER, "post", data={"text": "x", "action": "preview"}, ok=200)),
    "guideline-preview": Check(REVIEWER, "post", data={"text": "# x"}, ok=200, htmx=True),
    # Label set (issue 6)
    "labels": Check(MANAGER),
    "label-add": Check(MANAGER, "post", data={"name": "new label", "color": "#123456"}, ok=200),
    "label-edit": Check(MANAGER, args=label_args),
    "label-move": Check(MANAGER, "post", args=label_args, data={"step": "1"}, ok=200),
    "label-retire": Check(MANAGER, "post", args=label_args, ok=200),
    # The label is active, so the preview says it is not retired and goes back to the list.
    "label-restore": Check(MANAGER, "post", args=label_args, ok=302),
    "label-merge": Check(MANAGER, args=label_args),
    "label-rules": Check(MANAGER, args=label_args),
    # Members and audit (issue 6)
    "members": Check(MANAGER),
    "member-add": Check(MANAGER, "post", data={"username": "nobody", "role": "annotator"}),
    "member-role": Check(MANAGER, "post", args=membership_args, data={"role": "reviewer"}),
    "member-remove": Check(MANAGER, "post", args=membership_args),
    "audit": Check(MANAGER),
    # Project settings (active learning: what annotators are asked)
    "project-settings": Check(MANAGER),
    # Import, export and tokens pages (issue 8)
    "import": Check(MANAGER),
    "import-job": Check(MANAGER, args=import_job_args),
    "export": Check(REVIEWER),
    "tokens": Check(USER, args=no_args),
    # Personal-data removal (issue 16): a manager of the person's only project; people outside one's projects are 404.
    "remove-personal-data": Check(MANAGER, args=member_person_args),
    # Model pages (issue 7)
    "models": Check(MANAGER),
    "model-retrain": Check(MANAGER, "post"),
    "model-compare": Check(MANAGER),
    "model-version": Check(MANAGER, args=model_version_args),
    "model-progress": Check(MANAGER, args=model_version_args, htmx=True),
    "item-predictions": Check(REVIEWER, args=item_args),
    # REST API (issue 8)
    "api-token": (Check(PUBLIC, "post", args=no_args, ok=400), Check(USER, "delete", args=no_args, ok=204)),
    "api-projects": (Check(USER, args=no_args), Check(CREATOR, "post", args=no_args, ok=400)),
    # A delete without the confirming name is refused.
    "api-project": (Check(ANNOTATOR), Check(MANAGER, "patch", data={}), Check(MANAGER, "delete", ok=400)),
    "api-project-archive": Check(MANAGER, "post", ok=400),
    "api-project-clone": Check(MANAGER, "post", needs_permission=True, ok=400),
    "api-labels": Check(ANNOTATOR),
    "api-label": Check(ANNOTATOR, args=label_args),
    "api-guidelines": Check(ANNOTATOR),
    "api-guideline": Check(ANNOTATOR, args=guideline_args),
    "api-members": (Check(MANAGER), Check(MANAGER, "post", ok=400)),
    "api-member": (
        Check(MANAGER, args=member_user_args),
        Check(MANAGER, "patch", args=member_user_args, data={"role": "reviewer"}),
        Check(MANAGER, "delete", args=member_user_args, ok=204),
    ),
    "api-member-password-link": Check(MANAGER, "post", args=member_user_args, ok=200),
    "api-member-active": Check(MANAGER, "post", args=member_user_args, ok=400),
    "api-people": Check(MANAGER, "post", ok=400),
    "api-items": (Check(REVIEWER), Check(MANAGER, "post", ok=400)),
    "api-item": Check(REVIEWER, args=item_args),
    "api-annotations": Check(ANNOTATOR),
    "api-annotation": Check(ANNOTATOR, args=annotation_args),
    "api-resolutions": (Check(REVIEWER), Check(REVIEWER, "post", ok=400)),
    "api-resolution": Check(REVIEWER, args=resolution_args),
    "api-audit": Check(MANAGER),
    "api-import": Check(MANAGER, "post", ok=400),
    "api-import-jobs": Check(MANAGER),
    "api-import-job": Check(MANAGER, args=import_job_args),
    "api-export": Check(REVIEWER),
    "api-agreement": Check(REVIEWER),
    "api-models": Check(MANAGER),
    "api-model": Check(MANAGER, args=model_version_args),
    "api-retrain": Check(MANAGER, "post", ok=202),
    # The fixture has no ready model, so an allowed caller gets 409 (no model yet), not 403 or 404.
    "api-item-predictions": Check(REVIEWER, args=item_args, ok=409),
    "api-predictions": Check(REVIEWER, "post", ok=400),
}


def routes() -> dict[str, str]:
    """Every named route of the URL conf, {name: route}, except the skipped ones."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(SKIPPED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                if pattern.name is None:
                    raise AssertionError(f"The route {route!r} has no name; name it so the matrix can list it.")
                if pattern.name not in SKIPPED_NAMES:
                    found[pattern.name] = route

    walk(get_resolver().url_patterns, "")
    return found


def test_every_route_has_an_entry():
    missing = sorted(set(routes()) - set(MATRIX))
    assert not missing, (
        "These routes have no entry in MATRIX (tests/test_access_matrix.py); add one line each "
        "saying who may use them: "
        + ", ".join(f"{name} ({route})" for name, route in routes().items() if name in missing)
    )
    stale = sorted(set(MATRIX) - set(routes()))
    assert not stale, f"MATRIX lists routes that no longer exist: {', '.join(stale)}"


def _world_objects(project: Project, manager: Any, members: list[Any], superuser: Any) -> dict[str, Any]:
    from learner.models import ModelVersion

    guideline = make_guideline(project, 1)
    labels = make_labels(project, ["alpha", "beta"])
    items = make_items(project, 3)
    annotations = {
        user.pk: annotate_item(items[index], user, {labels[0]: 1}, guideline=guideline)
        for index, user in enumerate([*members, superuser][:3])
    }
    for user in [*members, superuser][3:]:
        annotations[user.pk] = annotate_item(items[0], user, {labels[1]: 0}, guideline=guideline)
    return {
        "label": labels[0],
        "item": items[1],
        "guideline": guideline,
        "annotations": annotations,
        "resolution": Resolution.objects.create(item=items[0], label=labels[0], value=1, reviewer=manager),
        "import_job": ImportJob.objects.create(project=project, format="jsonl", path="nowhere.jsonl"),
        "model_version": ModelVersion.objects.create(project=project, status="failed"),
    }


@pytest.fixture
def worlds(project, other_project, annotator, reviewer, manager, outsider):
    superuser = make_user("root", is_superuser=True, is_staff=True)
    b_member = make_user("bea")
    add_member(other_project, b_member, Role.ANNOTATOR)
    own = _world_objects(project, manager, [annotator, reviewer, manager], superuser)
    other = _world_objects(other_project, outsider, [outsider, b_member], superuser)
    # The manager may also create projects; the other members may not.
    manager.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    own["member"] = Membership.objects.get(project=project, user=annotator)
    other["member"] = Membership.objects.get(project=other_project, user=b_member)
    users = {
        "anonymous": None,
        "annotator": annotator,
        "reviewer": reviewer,
        "manager": manager,
        "outsider": outsider,
        "superuser": superuser,
    }
    return users, {project.pk: own, other_project.pk: other}


def expected_status(check: Check, user: Any, project: Project, *, api: bool) -> int | tuple[int, ...]:
    ok = check.ok if check.ok is not None else (200 if check.method == "get" or api else 302)
    if check.minimum == PUBLIC:
        return ok
    if user is None:
        return 401 if api or check.htmx else 302
    if check.minimum == USER or user.is_superuser:
        return ok
    if check.minimum == SUPERUSER:
        return 403
    may_create = user.has_perm(CREATE_PERMISSION)
    if check.minimum == CREATOR:
        return ok if may_create else 403
    role = project.role_of(user)
    if role is None:
        return 404
    if check.needs_permission and not may_create:
        return 403
    return ok if role_allows(role, check.minimum) else 403


def test_access_matrix(client, worlds):
    users, objects = worlds
    projects = Project.objects.filter(pk__in=objects).order_by("pk")
    failures = []
    requests = 0
    for name, route in sorted(routes().items()):
        entry = MATRIX.get(name)
        if entry is None:
            continue  # reported by test_every_route_has_an_entry
        api = route.startswith("api/")
        checks = entry if isinstance(entry, tuple) else (entry,)
        for check in checks:
            needs_project = "<int:project_id>" in route
            for target in projects if needs_project else projects[:1]:
                for who, user in users.items():
                    world = World(project=target, user=user, **objects[target.pk])
                    url = reverse(name, args=check.args(world))
                    with transaction.atomic():
                        client.logout()
                        if user is not None:
                            client.force_login(user)
                        headers = {"HX-Request": "true"} if check.htmx else {}
                        send = getattr(client, check.method)
                        data = check.data(world) if callable(check.data) else check.data
                        if api and check.method != "get":
                            response = send(url, data, content_type="application/json", headers=headers)
                        else:
                            response = send(url, data, headers=headers)
                        if response.streaming:
                            # Read it inside the transaction: an export writes its audit event at the end.
                            b"".join(response.streaming_content)
                        transaction.set_rollback(True)
                    requests += 1
                    want = expected_status(check, user, target, api=api)
                    got = response.status_code
                    allowed = want if isinstance(want, tuple) else (want,)
                    if got not in allowed:
                        failures.append(f"{check.method.upper()} {url} ({name}) as {who}: got {got}, expected {want}")
                    elif (
                        got == 302
                        and user is None
                        and check.minimum != PUBLIC
                        and not response["Location"].startswith("/accounts/login/")
                    ):
                        failures.append(f"{name} as anonymous redirects to {response['Location']}, not the login")
    assert not failures, f"{len(failures)} of {requests} requests broke the access rules:\n" + "\n".join(failures)
