from django.contrib import admin

from learner.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["pk", "project", "status", "phase", "progress", "trigger", "created_at", "finished_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["metrics", "thresholds", "dataset_counts", "dataset_hash", "error"]
