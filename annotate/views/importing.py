"""Views for this area are added by the issue that owns it."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
