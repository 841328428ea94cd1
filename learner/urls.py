"""HTML routes of the learner app (the model pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
