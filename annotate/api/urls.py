"""REST API routes under /api/, with the OpenAPI schema and its UI.

Each area owns its routes in its own module; the learner's routes are
included from config/urls.py, because annotate must not import learner.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotate.api import agreement, core

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *core.urlpatterns,
    *agreement.urlpatterns,
]
