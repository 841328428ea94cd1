"""The Django admin for managers: every model, with useful lists, filters and search."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from annotate.models import (
    Annotation,
    AuditEvent,
    GuidelineVersion,
    ImportJob,
    Item,
    Judgment,
    Label,
    Lease,
    Membership,
    Project,
    QueueEntry,
    Resolution,
)
from annotate.setup.accounts import AccountError, deactivate_person


@admin.action(description="Deactivate the selected people (their held items go back to the queue; answers stay)")
def deactivate_people(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    # Unticking "active" in the form would keep their leases until they expire; this action gives them back.
    released = 0
    for person in queryset:
        try:
            released += deactivate_person(person=person, actor=request.user)
        except AccountError as error:
            modeladmin.message_user(request, str(error), messages.WARNING)
    modeladmin.message_user(request, f"Deactivated; {released} held item(s) went back to the queue.")


class PersonAdmin(UserAdmin):
    actions = [deactivate_people]


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), PersonAdmin)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "overlap_count",
        "overlap_fraction",
        "require_all_labels",
        "retrain_every",
        "archived_at",
        "created_at",
    ]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]


@admin.register(GuidelineVersion)
class GuidelineVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "changelog", "author", "published_at"]
    list_filter = ["project"]
    search_fields = ["text", "changelog"]

    def get_readonly_fields(self, request: HttpRequest, obj: GuidelineVersion | None = None) -> list[str]:
        # A published version is immutable; the database refuses changes too.
        if obj is not None and obj.is_published:
            return [field.name for field in obj._meta.fields]
        return []

    def has_delete_permission(self, request: HttpRequest, obj: GuidelineVersion | None = None) -> bool:
        # Annotations name the version they were made under; a published
        # version is part of the history and stays.
        return obj is None or not obj.is_published


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "order", "shortcut_key", "introduced_in", "retired_in", "merged_into"]
    list_filter = ["project"]
    search_fields = ["name", "description"]
    filter_horizontal = ["implies", "excludes"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["external_id", "project", "created_at"]
    list_filter = ["project"]
    search_fields = ["external_id", "text"]


class JudgmentInline(admin.TabularInline):
    model = Judgment
    extra = 0


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "guideline_version", "skipped", "duration_ms", "created_at", "updated_at"]
    list_filter = ["skipped", "item__project", "guideline_version"]
    search_fields = ["item__external_id", "annotator__username"]
    raw_id_fields = ["item"]
    inlines = [JudgmentInline]


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ["annotation", "label", "value", "confidence"]
    list_filter = ["value", "label__project"]
    raw_id_fields = ["annotation"]


@admin.register(Resolution)
class ResolutionAdmin(admin.ModelAdmin):
    list_display = ["item", "label", "value", "reviewer", "updated_at"]
    list_filter = ["label__project", "value"]
    raw_id_fields = ["item"]


@admin.register(QueueEntry)
class QueueEntryAdmin(admin.ModelAdmin):
    list_display = ["item", "project", "priority", "reason", "required", "completed", "model_version_id"]
    list_filter = ["project", "reason"]
    raw_id_fields = ["item"]
    ordering = ["-priority"]


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "created_at", "expires_at"]
    raw_id_fields = ["item"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "format", "status", "processed", "total", "created_at"]
    list_filter = ["status", "project"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["created_at", "project", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "project"]
    search_fields = ["action", "object_id", "actor__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
