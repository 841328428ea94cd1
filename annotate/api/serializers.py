"""Serializers of the core API: the typed request and response shapes that the OpenAPI schema publishes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotate.curation.review import NOTE_MAX_CHARS, resolution_state
from annotate.dataset.export import FORMATS as EXPORT_FORMATS
from annotate.dataset.export import SPLITS
from annotate.dataset.importers import FORMATS as IMPORT_FORMATS
from annotate.dataset.importers import UNSTORABLE, UNTICKED_CHOICES, max_text_chars, unstorable_in
from annotate.models import (
    Annotation,
    AskMode,
    AuditEvent,
    GuidelineVersion,
    ImportJob,
    Item,
    Judgment,
    Label,
    Membership,
    Project,
    Resolution,
    Role,
)
from annotate.setup import project_settings as settings_rules
from annotate.setup import projects as project_rules
from annotate.setup.accounts import display_name

# The largest value a database id can hold; larger ids in a request are not found.
MAX_ID = 2**63 - 1
INT32_MAX = 2**31 - 1
# "7:ann1,9:ann2,ann@example.com:ann3": Label Studio user ids or emails and
# usernames (which hold no comma or colon).
ANNOTATOR_MAP_PATTERN = r"^[\w.@+-]+:[\w.@+-]+(,[\w.@+-]+:[\w.@+-]+)*$"


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean only: DRF's own also takes "yes", 1 and "on", which the schema does not allow."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only, not a string of digits or a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number only, not a string."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's own turns numbers into strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    """A query-string boolean: exactly "true" or "false", as the schema says."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            # DRF passes False itself when the parameter is absent from the query string.
            return data
        if data not in ("true", "false"):
            self.fail("invalid", input=data)
        return data == "true"


class QuerySerializer(serializers.Serializer):
    """Query parameters, read strictly.

    DRF reads ``?name=`` as "not given" for optional fields; the schema says
    an empty value is not a valid one, so it is refused here.
    """

    def to_internal_value(self, data: Any) -> Any:
        empty = {
            name: ["May not be empty."]
            for name, field in self.fields.items()
            if data.get(name) == "" and not getattr(field, "allow_blank", False)
        }
        if empty:
            raise serializers.ValidationError(empty)
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """What DRF answers on 4xx: a ``detail`` message, or field names with lists of messages."""

    detail = serializers.CharField(required=False)


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    expires_in_days = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=settings.TAGWISE_TOKEN_MAX_DAYS,
        help_text="Days until the token expires (TAGWISE_TOKEN_DAYS, 90, by default).",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown only in this answer; the server keeps a digest.")
    expiry = serializers.DateTimeField()


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your role in the project.")

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "created_at",
            "overlap_count",
            "overlap_fraction",
            "require_all_labels",
            "allow_focus_only",
            "retrain_every",
            "default_confidence",
            "lease_minutes",
            "ask_mode",
            "focus_size",
            "exploration_share",
            "skip_reasons",
            "archived_at",
            "role",
        ]
        read_only_fields = fields

    skip_reasons = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The reasons annotators pick from to skip an item."
    )

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices))
    def get_role(self, project: Project) -> str | None:
        return project.role_of(self.context["request"].user)


class ProjectSettingsSerializer(serializers.ModelSerializer):
    """The name and the settings a manager may change; every field is optional in a PATCH."""

    # The ranges are the domain's (annotate/setup/project_settings.py); the schema publishes them.
    # The name and the skip reasons get their remaining checks there too (change_settings), so
    # the settings page and the API refuse the same things with the same words.
    name = StrictCharField(
        max_length=settings_rules.NAME_MAX_CHARS,
        required=False,
        help_text="A new name for the project: unique ignoring case, without line breaks or invisible characters.",
    )
    skip_reasons = serializers.ListField(
        child=StrictCharField(max_length=settings_rules.SKIP_REASON_MAX_CHARS),
        min_length=settings_rules.SKIP_REASONS_COUNT[0],
        max_length=settings_rules.SKIP_REASONS_COUNT[1],
        required=False,
        help_text="The reasons annotators pick from to skip an item, in the order shown; no duplicates ignoring case, "
        "no control or invisible characters, and not “other”, which is always offered for free text. "
        "Earlier skips keep their reason.",
    )
    overlap_count = StrictIntegerField(
        min_value=settings_rules.OVERLAP_COUNT[0], max_value=settings_rules.OVERLAP_COUNT[1], required=False
    )
    overlap_fraction = StrictFloatField(
        min_value=settings_rules.OVERLAP_FRACTION[0], max_value=settings_rules.OVERLAP_FRACTION[1], required=False
    )
    retrain_every = StrictIntegerField(
        min_value=settings_rules.RETRAIN_EVERY[0], max_value=settings_rules.RETRAIN_EVERY[1], required=False
    )
    default_confidence = StrictFloatField(
        min_value=settings_rules.DEFAULT_CONFIDENCE[0], max_value=settings_rules.DEFAULT_CONFIDENCE[1], required=False
    )
    lease_minutes = StrictIntegerField(
        min_value=settings_rules.LEASE_MINUTES[0], max_value=settings_rules.LEASE_MINUTES[1], required=False
    )
    description = StrictCharField(allow_blank=True, max_length=settings_rules.DESCRIPTION_MAX_CHARS, required=False)
    require_all_labels = StrictBooleanField(required=False)
    allow_focus_only = StrictBooleanField(required=False)
    ask_mode = serializers.ChoiceField(
        choices=AskMode.choices, required=False, help_text="What annotators are asked: every label, or focus labels."
    )
    focus_size = StrictIntegerField(
        min_value=settings_rules.FOCUS_SIZE[0],
        max_value=settings_rules.FOCUS_SIZE[1],
        required=False,
        help_text="Focus labels asked per item when ask_mode is focus.",
    )
    exploration_share = StrictFloatField(
        min_value=settings_rules.EXPLORATION_SHARE[0],
        max_value=settings_rules.EXPLORATION_SHARE[1],
        required=False,
        help_text="Share of random items asked every label they need (the unbiased sample of the model page).",
    )

    def to_internal_value(self, data: Any) -> Any:
        # A field this PATCH cannot change (the id, the creation date) or a typo is an
        # error, not a 200 that silently changed nothing.
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown setting, or one that cannot be changed here."] for name in unknown}
            )
        return super().to_internal_value(data)

    class Meta:
        model = Project
        fields = ["name", *settings_rules.CHANGEABLE]


class StrictSerializer(serializers.Serializer):
    """A request body whose unknown fields are an error, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class NewLabelSerializer(StrictSerializer):
    name = StrictCharField(max_length=project_rules.LABEL_NAME_MAX_CHARS)
    description = StrictCharField(
        allow_blank=True, required=False, default="", max_length=project_rules.LABEL_DESCRIPTION_MAX_CHARS
    )


class ProjectCreateSerializer(StrictSerializer):
    """A new project. Give the labels as a list, or as a Label Studio labelling config (its <Choice> values)."""

    name = StrictCharField(max_length=project_rules.NAME_MAX_CHARS)
    description = StrictCharField(
        allow_blank=True, required=False, default="", max_length=settings_rules.DESCRIPTION_MAX_CHARS
    )
    labels = NewLabelSerializer(many=True, required=False, max_length=project_rules.MAX_LABELS)
    label_config = StrictCharField(
        required=False,
        max_length=project_rules.LABEL_CONFIG_MAX_CHARS,
        help_text="A Label Studio labelling config; its <Choice> values become the labels (instead of `labels`).",
    )
    guideline = StrictCharField(
        allow_blank=True,
        required=False,
        default="",
        trim_whitespace=False,
        max_length=200_000,
        help_text="Markdown, published as guideline version 1.",
    )
    overlap_count = StrictIntegerField(
        min_value=settings_rules.OVERLAP_COUNT[0], max_value=settings_rules.OVERLAP_COUNT[1], required=False
    )
    overlap_fraction = StrictFloatField(
        min_value=settings_rules.OVERLAP_FRACTION[0], max_value=settings_rules.OVERLAP_FRACTION[1], required=False
    )
    retrain_every = StrictIntegerField(
        min_value=settings_rules.RETRAIN_EVERY[0], max_value=settings_rules.RETRAIN_EVERY[1], required=False
    )
    require_all_labels = StrictBooleanField(required=False)

    SETTINGS = ("overlap_count", "overlap_fraction", "retrain_every", "require_all_labels")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "labels" in data and "label_config" in data:
            raise serializers.ValidationError({"label_config": ["Give `labels` or `label_config`, not both."]})
        if "label_config" in data:
            try:
                data["labels"] = project_rules.parse_label_studio_config(data.pop("label_config"))
            except project_rules.ProjectError as error:
                raise serializers.ValidationError({"label_config": [str(error)]}) from None
        else:
            data["labels"] = [project_rules.LabelSpec(**label) for label in data.get("labels", [])]
        return data


class CloneSerializer(StrictSerializer):
    name = StrictCharField(max_length=project_rules.NAME_MAX_CHARS, help_text="The new project's name.")


class ArchiveSerializer(StrictSerializer):
    archived = StrictBooleanField(help_text="true archives the project (read-only); false opens it again.")


class DeleteQuerySerializer(QuerySerializer):
    confirm = serializers.CharField(
        max_length=project_rules.NAME_MAX_CHARS + 10, help_text="The project's exact name, to confirm."
    )


class MemberAddSerializer(StrictSerializer):
    username = StrictCharField(max_length=150, help_text="An existing account's user name.")
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_role(self, value: Any) -> str:
        if not isinstance(self.initial_data.get("role"), str):
            raise serializers.ValidationError("Must be a string.")
        return value


class PersonCreateSerializer(StrictSerializer):
    username = StrictCharField(max_length=150, help_text="The new account's user name.")
    full_name = StrictCharField(allow_blank=True, required=False, default="", max_length=300)
    email = StrictCharField(
        allow_blank=True, required=False, default="", max_length=254, help_text="The link is also e-mailed when set."
    )
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_role(self, value: Any) -> str:
        if not isinstance(self.initial_data.get("role"), str):
            raise serializers.ValidationError("Must be a string.")
        return value


class PasswordLinkSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    password_link = serializers.URLField(help_text="One-time link to set a password; shown once, never stored.")
    emailed = serializers.BooleanField(help_text="Whether the link was also e-mailed.")


class ActiveSerializer(StrictSerializer):
    active = StrictBooleanField(help_text="false deactivates the account (held items go back); true reactivates.")


class LabelSerializer(serializers.ModelSerializer):
    introduced_in = serializers.IntegerField(
        source="introduced_in.number", allow_null=True, read_only=True, help_text="Guideline version number."
    )
    retired_in = serializers.IntegerField(
        source="retired_in.number", allow_null=True, read_only=True, help_text="Guideline version number."
    )
    is_active = serializers.BooleanField(read_only=True)
    implies = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    excludes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Label
        fields = [
            "id",
            "name",
            "description",
            "shortcut_key",
            "color",
            "order",
            "introduced_in",
            "retired_in",
            "merged_into",
            "is_active",
            "implies",
            "excludes",
            "created_at",
        ]
        read_only_fields = fields


class GuidelineVersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", allow_null=True, read_only=True)

    class Meta:
        model = GuidelineVersion
        fields = ["id", "number", "text", "changelog", "author", "created_at", "published_at"]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField(help_text="Full name, else the user name.")
    is_active = serializers.BooleanField(source="user.is_active", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "username", "name", "is_active", "role", "created_at"]
        read_only_fields = fields

    def get_name(self, membership: Membership) -> str:
        return display_name(membership.user)


class RoleChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_role(self, value: Any) -> str:
        if not isinstance(self.initial_data.get("role"), str):
            raise serializers.ValidationError("Must be a string.")
        return value


class ItemSerializer(serializers.ModelSerializer):
    external_id = StrictCharField(max_length=255)
    text = StrictCharField(trim_whitespace=False)
    metadata = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False, default=dict)

    class Meta:
        model = Item
        fields = ["id", "external_id", "text", "metadata", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("The text must not be empty.")
        limit = max_text_chars()
        if len(value) > limit:
            raise serializers.ValidationError(f"The text is longer than {limit:,} characters.")
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if (where := unstorable_in(value)) is not None:
            raise serializers.ValidationError(f"{where} {UNSTORABLE}.")
        return value


class ItemFilterSerializer(QuerySerializer):
    external_id = serializers.CharField(
        required=False, max_length=255, help_text="Only the item with this external id."
    )


class JudgmentSerializer(serializers.ModelSerializer):
    label_name = serializers.CharField(source="label.name", read_only=True)
    value = serializers.IntegerField(read_only=True, min_value=0, max_value=1, help_text="1 = yes, 0 = no.")
    confidence = serializers.FloatField(read_only=True, min_value=0, max_value=1)

    class Meta:
        model = Judgment
        fields = ["label", "label_name", "value", "confidence"]
        read_only_fields = fields


class AnnotationSerializer(serializers.ModelSerializer):
    item_external_id = serializers.CharField(source="item.external_id", read_only=True)
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    guideline_version = serializers.IntegerField(source="guideline_version.number", allow_null=True, read_only=True)
    judgments = JudgmentSerializer(many=True, read_only=True, help_text="Labels without a judgment are unobserved.")

    class Meta:
        model = Annotation
        fields = [
            "id",
            "item",
            "item_external_id",
            "annotator",
            "guideline_version",
            "created_at",
            "updated_at",
            "duration_ms",
            "skipped",
            "skip_reason",
            "judgments",
        ]
        read_only_fields = fields


class ResolutionSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    label_name = serializers.CharField(source="label.name", read_only=True)
    state = serializers.SerializerMethodField(
        help_text="Send it back as `expected` so that a decision made meanwhile is not overwritten."
    )

    class Meta:
        model = Resolution
        fields = ["id", "item", "label", "label_name", "value", "note", "reviewer", "created_at", "updated_at", "state"]
        read_only_fields = fields

    def get_state(self, resolution: Resolution) -> str:
        return resolution_state(resolution)


class ResolutionInputSerializer(serializers.Serializer):
    item = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="Item id.")
    label = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="Label id.")
    value = StrictIntegerField(min_value=0, max_value=1, help_text="1 = yes, 0 = no.")
    note = StrictCharField(
        allow_blank=True, required=False, max_length=NOTE_MAX_CHARS, help_text="Left out: the existing note is kept."
    )
    expected = StrictCharField(
        required=False,
        max_length=64,
        # The shape of review.resolution_state; anything else is a client error, not a conflict.
        validators=[
            RegexValidator(
                r"^(none|[01]@\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2}))$",
                'Send back the `state` as it was read: "none", or the value, "@" and the time.',
            )
        ],
        help_text='The `state` the client last saw ("none" before any decision); a decision made since answers 409.',
    )


class AnnotationFilterSerializer(QuerySerializer):
    item = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only the annotations of this item id."
    )
    annotator = serializers.CharField(required=False, max_length=150, help_text="Only annotations by this username.")


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, read_only=True)
    before = serializers.JSONField(
        read_only=True, allow_null=True, help_text="The state before; its shape depends on the action."
    )
    after = serializers.JSONField(
        read_only=True, allow_null=True, help_text="The state after; its shape depends on the action."
    )

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "object_type", "object_id", "before", "after"]
        read_only_fields = fields


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line in the file (for Label Studio: the task's position, from 1).")
    field = serializers.CharField(help_text="The field, e.g. text or annotations[0].labels.refund; empty for the row.")
    message = serializers.CharField()
    location = serializers.CharField(
        required=False,
        help_text=(
            "Where, in the file's own terms: \"line 4, column 'shipping'\" (CSV), "
            '"task 3 (id 101), annotations[0] (id 12).result[1]" (Label Studio), "line 4, text" (JSONL).'
        ),
    )


class ImportErrorsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    error_count = serializers.IntegerField(help_text="All errors found; `errors` lists the first 100.")
    errors = RowErrorSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    items_created = serializers.IntegerField()
    items_updated = serializers.IntegerField()
    annotations_created = serializers.IntegerField()
    annotations_replaced = serializers.IntegerField()
    judgments_created = serializers.IntegerField()
    users_created = serializers.IntegerField()
    notes = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text=(
            "Counts of what the file held beside the imported answers (Label Studio: predictions, drafts, "
            "results_ignored are not imported; cancelled became skips; ground_truth were imported as ordinary "
            "annotations)."
        ),
    )


class ImportOptionsSerializer(QuerySerializer):
    """Query parameters of an import."""

    format = serializers.ChoiceField(
        choices=IMPORT_FORMATS, required=False, help_text="File format; taken from the file name when omitted."
    )
    update = QueryBooleanField(
        default=False,
        help_text="Update items whose external id exists, and replace their annotations by the same annotator.",
    )
    unticked = serializers.ChoiceField(
        choices=UNTICKED_CHOICES,
        default="unobserved",
        help_text="Label Studio and doccano: what a label the file does not list means.",
    )
    create_annotators = QueryBooleanField(
        default=False, help_text="Create unknown annotators and add missing annotator memberships."
    )
    annotator_map = serializers.RegexField(
        ANNOTATOR_MAP_PATTERN,
        required=False,
        max_length=10_000,
        help_text=(
            "Label Studio only: completed_by ids or emails mapped to usernames, e.g. 7:ann1,9:ann2. "
            "Unmapped users are matched by email, or by the labelstudio-<id> account an earlier import created."
        ),
    )
    text_key = serializers.RegexField(
        r"^[^\x00]{1,200}$",
        required=False,
        help_text="Label Studio only: the data key that holds the text (default: text, or the one text key).",
    )
    annotator = serializers.RegexField(
        r"^[\w.@+-]{1,150}$",
        required=False,
        help_text="doccano (and Prodigy lines without _annotator_id): the username credited with the answers.",
    )
    choices_control = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Label Studio only: the choices control (from_name) whose ticks are labels (default: the only one).",
    )

    def validate_annotator_map(self, value: str) -> dict[str, str]:
        return dict(pair.split(":", 1) for pair in value.split(","))


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file to import.")


class ImportJobSerializer(serializers.ModelSerializer):
    errors = RowErrorSerializer(many=True, read_only=True)
    result = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "status",
            "format",
            "total",
            "processed",
            "errors",
            "result",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ImportResultSerializer(allow_null=True))
    def get_result(self, job: ImportJob) -> dict[str, Any] | None:
        return job.options.get("result")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, job: ImportJob) -> str:
        from django.urls import reverse

        path = reverse("api-import-job", args=[job.project_id, job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ExportQuerySerializer(QuerySerializer):
    """Query parameters of an export."""

    format = serializers.ChoiceField(choices=EXPORT_FORMATS, default="jsonl")
    resolved_only = QueryBooleanField(default=False, help_text="Only items with a resolution.")
    min_agreement = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        help_text="Only items where at least this share of the observed answers agree with the consensus.",
    )
    guideline_version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        help_text="Only annotations made under this guideline version count; items without one are left out.",
    )
    annotated_after = serializers.DateTimeField(
        required=False,
        input_formats=["iso-8601", "%Y-%m-%d"],
        help_text="Only items with an annotation created or edited at or after this time (or date).",
    )
    labels = serializers.CharField(
        required=False, max_length=10_000, help_text="Comma-separated label names; default: every active label."
    )
    split = serializers.ChoiceField(
        choices=SPLITS, required=False, help_text="One side of a seeded iterative-stratification split."
    )
    test_size = serializers.FloatField(
        default=0.2, min_value=0.01, max_value=0.99, help_text="Share of items in the validation side of the split."
    )
    seed = serializers.IntegerField(default=0, min_value=0, max_value=INT32_MAX)
    include_judgments = QueryBooleanField(
        default=False, help_text="Add every annotator's raw answers with confidences and guideline versions."
    )
    predictions = QueryBooleanField(
        default=False,
        help_text="Add the latest ready model version's probabilities and predicted labels (null for items it "
        "did not score). Without a ready model the answer is 409.",
    )
    escape_formulas = QueryBooleanField(
        default=True,
        help_text="CSV: prefix text and metadata cells that begin with =, +, -, @, a tab or a carriage return "
        "with ' so spreadsheets do not run them. Turn off for pipelines; ids and headers are never altered.",
    )
