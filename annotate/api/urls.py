"""REST API routes under /api/, with the OpenAPI schema and its UI.

Each module of annotate/api owns its routes; they are listed here in the
order the schema shows them. The learner's routes are included from
config/urls.py, because annotate must not import learner.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotate.api import agreement, resources, tokens, transfer

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy runs no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *tokens.urlpatterns,
    *resources.urlpatterns,
    *transfer.urlpatterns,
    *agreement.urlpatterns,
]
