"""HTML routes of the annotate app. Each view module owns its own routes."""

from annotate.views import (
    annotating,
    audit,
    dashboard,
    guidelines,
    importing,
    labels,
    members,
    privacy,
    projects,
    review,
    settings,
)

urlpatterns = [
    *projects.urlpatterns,
    *annotating.urlpatterns,
    *review.urlpatterns,
    *dashboard.urlpatterns,
    *guidelines.urlpatterns,
    *labels.urlpatterns,
    *members.urlpatterns,
    *privacy.urlpatterns,
    *audit.urlpatterns,
    *importing.urlpatterns,
    *settings.urlpatterns,
]
