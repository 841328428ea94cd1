"""The project list and a project's overview page."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from annotate.access import project_for
from annotate.models import Annotation, Project


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.for_user(request.user).annotate(item_count=Count("items", distinct=True))
    rows = [(project, project.role_of(request.user)) for project in projects]
    return render(request, "annotate/home.html", {"rows": rows})


@login_required
def project_overview(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = project_for(request.user, project_id)
    mine = Annotation.objects.filter(item__project=project, annotator=request.user)
    context = {
        "project": project,
        "role": role,
        "item_count": project.items.count(),
        "label_count": project.active_labels().count(),
        "my_count": mine.filter(skipped=False).count(),
        "guideline": project.current_guideline(),
    }
    return render(request, "annotate/project.html", context)


urlpatterns = [
    path("", home, name="home"),
    path("projects/<int:project_id>/", project_overview, name="project"),
]
