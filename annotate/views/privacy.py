"""The page where a manager or a site admin removes a person's personal data (annotate/setup/privacy.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from annotate.models import Annotation
from annotate.setup.privacy import is_removed, may_remove, remove_personal_data, shares_a_project


@login_required
@require_http_methods(["GET", "POST"])
def remove_personal_data_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """Ask for the username to be typed again, then pseudonymise the person."""
    person = get_object_or_404(get_user_model(), pk=user_id)
    # People outside the actor's projects are not theirs to know about.
    if not (request.user.is_staff or request.user.is_superuser or shares_a_project(request.user, person)):
        raise Http404("No such person.")
    allowed = may_remove(actor=request.user, person=person)
    back = request.GET.get("back") or request.POST.get("back", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    error = ""
    if request.method == "POST" and not allowed:
        raise PermissionDenied("Only a site admin, or a manager of every project the person belongs to, may do this.")
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() == person.get_username():
            new_name = remove_personal_data(person=person, actor=request.user)
            messages.success(request, f"The personal data is removed; the answers stay under {new_name}.")
            return redirect(back or "home")
        error = "Type the username exactly as shown to confirm."
    context = {
        "person": person,
        "annotations": Annotation.objects.filter(annotator=person).count(),
        "removed": is_removed(person),
        "error": error,
        "allowed": allowed,
        "back": back,
    }
    status = 403 if not allowed else 400 if error else 200
    return render(request, "annotate/privacy/remove.html", context, status=status)


urlpatterns = [
    path("people/<int:user_id>/remove-personal-data/", remove_personal_data_page, name="remove-personal-data"),
]
