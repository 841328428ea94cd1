"""The model pages: versions and their metrics, live training progress, comparisons, item predictions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from annotate.access import project_for
from annotate.models import Item, Project, Role
from annotate.text import is_whole_number
from learner import predictions, quality, reports, training
from learner.models import ModelVersion

# How many versions the model page lists; the API pages through all of them.
HISTORY = 50


def version_details(version: ModelVersion | None) -> dict[str, Any]:
    """Everything the metrics section of a version shows, ready for the template."""
    if version is None:
        return {}
    return {
        "version": version,
        "overall": reports.overall_rows(version),
        # Many candidates, so that enough whole words remain after the filter.
        "label_rows": reports.label_rows(version, training.top_features(version=version, k=40)),
        "charts": reports.reliability_charts(version),
        "pairs": reports.pair_confusions(version),
        "ablations": version.metrics.get("ablations") or {},
    }


@login_required
@require_GET
def models_page(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    versions = list(project.model_versions.all()[:HISTORY])
    current = training.latest_ready(project=project)
    context = {
        "project": project,
        "role": role,
        "versions": versions,
        "ready_versions": [version for version in versions if version.status == ModelVersion.Status.READY],
        "active": next((version for version in versions if version.is_active), None),
        "trend": reports.macro_f1_trend(versions),
        "current": current,
        "details": version_details(current),
        "worth": quality.worth_labelling(project=project) if current else None,
    }
    return render(request, "learner/models.html", context)


@login_required
@require_GET
def version_page(request: HttpRequest, project_id: int, version_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id, Role.MANAGER)
    version = get_object_or_404(ModelVersion, pk=version_id, project=project)
    context = {
        "project": project,
        "role": role,
        "version": version,
        "details": version_details(version) if version.metrics else {},
    }
    return render(request, "learner/version.html", context)


@login_required
@require_GET
def progress(request: HttpRequest, project_id: int, version_id: int) -> HttpResponse:
    """The progress bar of one version, polled by htmx while it trains.

    The partial carries its own ``hx-trigger`` only while the version is
    active, so the polling stops by itself once it is ready, failed or
    skipped. An htmx request that sees the end also refreshes the page, so
    the new metrics and the version list appear without a manual reload.
    """
    project, _ = project_for(request.user, project_id, Role.MANAGER)
    version = get_object_or_404(ModelVersion, pk=version_id, project=project)
    response = render(request, "learner/models.html#progress", {"project": project, "version": version})
    if request.htmx and not version.is_active:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def retrain(request: HttpRequest, project_id: int) -> HttpResponse:
    project, _ = project_for(request.user, project_id, Role.MANAGER)
    version = training.queue_retrain(project=project, trigger="manual", actor=request.user)
    if version is None:
        messages.info(request, "A retrain is already queued or running; its progress is shown below.")
    else:
        messages.success(request, f"Version {version.pk} is queued for training.")
    return redirect("models", project_id=project.pk)


@login_required
@require_GET
def compare(request: HttpRequest, project_id: int) -> HttpResponse:
    """Two versions side by side; by default the two most recent ready ones."""
    project, role = project_for(request.user, project_id, Role.MANAGER)
    finished = list(project.model_versions.exclude(metrics={})[:HISTORY])
    before = _version_param(project, request.GET.get("before"))
    after = _version_param(project, request.GET.get("after"))
    ready = [version for version in finished if version.status == ModelVersion.Status.READY]
    if after is None and ready:
        after = ready[0]
    if before is None:
        before = next((version for version in ready if after is None or version.pk != after.pk), None)
    comparison = reports.compare(before=before, after=after) if before and after else None
    context = {
        "project": project,
        "role": role,
        "choices": finished,
        "before": before,
        "after": after,
        "comparison": comparison,
    }
    return render(request, "learner/compare.html", context)


def _version_param(project: Project, value: str | None) -> ModelVersion | None:
    if not value or not is_whole_number(value):
        return None
    return get_object_or_404(ModelVersion, pk=int(value), project=project)


@login_required
@require_GET
def item_predictions(request: HttpRequest, project_id: int, item_id: int) -> HttpResponse:
    """The latest ready model's scores for one item: a page, or a partial for an item page's htmx."""
    project, role = project_for(request.user, project_id, Role.REVIEWER)
    item = get_object_or_404(Item, pk=item_id, project=project)
    context: dict[str, Any] = {"project": project, "role": role, "item": item}
    try:
        context["version"], context["prediction"] = predictions.predict_item(project=project, item=item)
    except predictions.NoReadyModel as reason:
        context["unavailable"] = str(reason)
    template = "learner/item_predictions.html#scores" if request.htmx else "learner/item_predictions.html"
    return render(request, template, context)


urlpatterns = [
    path("projects/<int:project_id>/models/", models_page, name="models"),
    path("projects/<int:project_id>/models/retrain/", retrain, name="model-retrain"),
    path("projects/<int:project_id>/models/compare/", compare, name="model-compare"),
    path("projects/<int:project_id>/models/<int:version_id>/", version_page, name="model-version"),
    path("projects/<int:project_id>/models/<int:version_id>/progress/", progress, name="model-progress"),
    path("projects/<int:project_id>/items/<int:item_id>/predictions/", item_predictions, name="item-predictions"),
]
