"""HTML routes of the learner app (the model pages); the views module owns them."""

from learner.views import urlpatterns

__all__ = ["urlpatterns"]
