"""The audit trail for managers: every recorded change in the project, filtered by action, actor and date."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

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
from annotate.setup.accounts import display_name, display_names
from annotate.text import is_whole_number, quoted

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
        errors.append(f"{name}: {quoted(value)} is not a date; use YYYY-MM-DD.")
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
    names = display_names(_people_in(page.object_list))
    context = {
        "project": project,
        "role": role,
        "page": page,
        "rows": [
            (
                event,
                summary(event.before, event.after, names=names),
                _object_label(event, names),
                _pretty(event.before),
                _pretty(event.after),
            )
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


USER_TYPE = get_user_model()._meta.label
# Keys of audit values that hold a person's id, and the word the trail shows for them.
PERSON_KEYS = {"user_id": "person", "reviewer_id": "reviewer"}


def _people_in(events: Iterable[AuditEvent]) -> set[int]:
    """The ids of the people the events are about: an account, or a ``user_id`` in the values."""
    ids = set()
    for event in events:
        if event.object_type == USER_TYPE and is_whole_number(event.object_id):
            ids.add(int(event.object_id))
        for values in (event.before, event.after):
            if isinstance(values, dict):
                ids.update(values[key] for key in PERSON_KEYS if isinstance(values.get(key), int))
    return ids


def _object_label(event: AuditEvent, names: dict[int, str]) -> str:
    """What the event changed, in words: a person by name, a membership by its member, else type and id."""
    if not event.object_type:
        return ""
    if event.object_type == USER_TYPE and is_whole_number(event.object_id):
        return f"Person: {names.get(int(event.object_id), '#' + event.object_id)}"
    values = event.after if isinstance(event.after, dict) else event.before
    if event.object_type == "annotate.Membership" and isinstance(values, dict) and "user_id" in values:
        return f"Membership of {names.get(values['user_id'], values.get('user', '?'))}"
    return f"{event.object_type} #{event.object_id}" if event.object_id else event.object_type


def summary(before: object, after: object, *, limit: int = 4, names: dict[int, str] | None = None) -> str:
    """A one-line reading of a change, such as "name: shipping → delivery", for flat before/after values.

    A list of plain values reads as its items ("skip_reasons: unclear, spam →
    unclear"); a person's id reads as their name. The full JSON stays one
    click away; this line is for scanning the trail.
    """
    if not isinstance(before, dict) and not isinstance(after, dict):
        return ""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    parts = []
    # Sorted, because PostgreSQL's jsonb does not keep the order the keys were written in.
    for key in sorted({*before, *after}):
        old, new = before.get(key), after.get(key)
        if old == new or not (_readable(old) and _readable(new)):
            continue
        shown = key
        if key in PERSON_KEYS:
            if key == "user_id" and ("user" in before or "user" in after):
                continue  # The username beside it already says who.
            lookup = names or {}
            old = lookup.get(old, old) if isinstance(old, int) else old
            new = lookup.get(new, new) if isinstance(new, int) else new
            shown = PERSON_KEYS[key]
        if key in before and key in after:
            parts.append(f"{shown}: {_short(old)} → {_short(new)}")
        elif (new if key in after else old) not in (None, "", []):
            parts.append(f"{shown}: {_short(new if key in after else old)}")
    more = f" (+{len(parts) - limit} more)" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


def _readable(value: object) -> bool:
    """A value the one-line summary can show: not a nested object, nor a list of them."""
    if isinstance(value, dict):
        return False
    return not isinstance(value, list) or not any(isinstance(entry, dict | list) for entry in value)


def _short(value: object, width: int = 40) -> str:
    if value is None or value == []:
        return "—"
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _pretty(value: object) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


urlpatterns = [
    path("projects/<int:project_id>/audit/", audit_page, name="audit"),
]
