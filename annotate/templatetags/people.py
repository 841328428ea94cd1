"""How people appear in pages: ``{{ user|person }}`` is the full name, else the username (exports keep usernames)."""

from __future__ import annotations

from typing import Any

from django import template

from annotate.setup.accounts import display_name

register = template.Library()


@register.filter
def person(user: Any) -> str:
    return display_name(user)
