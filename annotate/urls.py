"""HTML routes of the annotate app. Each view module owns its own routes."""

from annotate.views import (
    accounts,
    annotating,
    audit,
    dashboard,
    guidelines,
    importing,
    items,
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
    *items.urlpatterns,
    *dashboard.urlpatterns,
    *guidelines.urlpatterns,
    *labels.urlpatterns,
    *members.urlpatterns,
    *privacy.urlpatterns,
    *accounts.urlpatterns,
    *audit.urlpatterns,
    *importing.urlpatterns,
    *settings.urlpatterns,
]
