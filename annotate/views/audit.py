"""The audit trail for managers: every recorded change in the project, filtered by action, actor and date."""

from __future__ import annotations

import datetime
import json

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from annotate.access import project_for
from annotate.models import AuditEvent, Role
from annotate.setup.accounts import display_name

PAGE_SIZE = 50


# The date filters accept this range: a day outside it matches no event, and
# its end (the next midnight, in any time zone) must still be a datetime.
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(9998, 12, 31)


def _date(value: str, name: str, errors: list[str]) -> datetime.date | None:
    """The date in a filter field, or None when empty; a bad or out-of-range date adds a form error."""
    if not value:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(f"{name}: “{value}” is not a date; use YYYY-MM-DD.")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.append(f"{name}: choose a day between {FIRST_DAY:%Y-%m-%d} and {LAST_DAY:%Y-%m-%d}.")
        return None
    return day


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@login_required
@require_GET
def audit_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    events = AuditEvent.objects.filter(project=project).select_related("actor")
    action = request.GET.get("action", "")
    actor = request.GET.get("actor", "")
    errors: list[str] = []
    since = _date(request.GET.get("since", ""), "From", errors)
    until = _date(request.GET.get("until", ""), "Until", errors)
    for name, value in (("Action", action), ("Actor", actor)):
        if "\x00" in value:
            # PostgreSQL refuses a NUL in any string; no action or username holds one.
            errors.append(f"{name}: contains a NUL character.")
    if errors:
        # Listing the trail without the filter the manager asked for would
        # look like an answer to it; show the form with the error instead.
        events = events.none()
    if action and not errors:
        events = events.filter(action=action)
    if actor and not errors:
        events = events.filter(actor__username=actor)
    if since:
        events = events.filter(created_at__gte=_start_of(since))
    if until:
        # "Until" a day includes that whole day.
        events = events.filter(created_at__lt=_start_of(until + datetime.timedelta(days=1)))
    page = Paginator(events.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    trail = AuditEvent.objects.filter(project=project)
    actor_ids = trail.exclude(actor=None).order_by().values_list("actor_id", flat=True).distinct()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "project": project,
        "role": role,
        "page": page,
        "rows": [
            (event, summary(event.before, event.after), _pretty(event.before), _pretty(event.after))
            for event in page.object_list
        ],
        "actions": list(trail.order_by("action").values_list("action", flat=True).distinct()),
        # (username, shown name): the filter keeps the stable username, the page shows the name.
        "actors": sorted(
            (user.get_username(), display_name(user)) for user in get_user_model().objects.filter(pk__in=actor_ids)
        ),
        "filters": {"action": action, "actor": actor, "since": since, "until": until},
        "errors": errors,
        "query": query.urlencode(),
    }
    return render(request, "annotate/audit/audit.html", context, status=400 if errors else 200)


def summary(before: object, after: object, *, limit: int = 4) -> str:
    """A one-line reading of a change, such as "name: shipping → delivery", for flat before/after values.

    The full JSON stays one click away; this line is for scanning the trail.
    """
    if not isinstance(before, dict) and not isinstance(after, dict):
        return ""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    parts = []
    # Sorted, because PostgreSQL's jsonb does not keep the order the keys were written in.
    for key in sorted({*before, *after}):
        old, new = before.get(key), after.get(key)
        if old == new or isinstance(old, dict | list) or isinstance(new, dict | list):
            continue
        if key in before and key in after:
            parts.append(f"{key}: {_short(old)} → {_short(new)}")
        elif (new if key in after else old) not in (None, ""):
            parts.append(f"{key}: {_short(new if key in after else old)}")
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _short(value: object, width: int = 40) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _pretty(value: object) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


urlpatterns = [
    path("projects/<int:project_id>/audit/", audit_page, name="audit"),
]
