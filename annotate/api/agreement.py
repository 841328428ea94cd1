"""GET /api/projects/{project_id}/agreement: every figure of the agreement dashboard as JSON.

Reviewers and managers only, because the per-annotator figures say how each
person answers (annotators get 403, non-members 404). The figures come from
the per-project cache of annotate.curation.project_agreement, so a repeated call is
cheap; a cold one reads every answer, hence the "expensive" throttle scope.
The serializers below are the typed response schema; the view renders the
cached dict through them, so the answer always matches the published schema.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.api.base import ProjectView
from annotate.curation.project_agreement import project_agreement
from annotate.models import Role


def _interval() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        min_length=2,
        max_length=2,
        help_text="[low, high] bootstrap percentile interval; nulls where undefined.",
    )


def _figure(help_text: str = "") -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text or "Null where undefined (too few units).")


class LabelAgreementSerializer(serializers.Serializer):
    label = serializers.CharField()
    asked = serializers.BooleanField(help_text="False when the label was introduced after this guideline version.")
    kappa = _figure("Fleiss' kappa (varying raters) over the items at least two annotators answered.")
    kappa_ci = _interval()
    observed_agreement = _figure("Mean pairwise agreement over the units.")
    alpha = _figure("Krippendorff's alpha, nominal.")
    alpha_ci = _interval()
    n_units = serializers.IntegerField(help_text="Items with at least two answers for this label.")
    kappa_confident = _figure("Kappa among answers with confidence at or above the threshold.")
    n_units_confident = serializers.IntegerField()


class PooledSerializer(serializers.Serializer):
    kappa = _figure("Fleiss' kappa with every (item, label) as a unit.")
    kappa_ci = _interval()
    observed_agreement = _figure()
    alpha = _figure()
    n_units = serializers.IntegerField()
    kappa_confident = _figure()
    n_units_confident = serializers.IntegerField()


class MacroSerializer(serializers.Serializer):
    kappa = _figure("Mean of the defined per-label kappas.")
    kappa_ci = _interval()
    n_labels = serializers.IntegerField()
    n_units = serializers.IntegerField()


class SlotPairSerializer(serializers.Serializer):
    raters = serializers.ListField(child=serializers.CharField(), help_text="Two slots (first, second annotation).")
    kappa = _figure("Cohen's kappa between two slots.")
    percent_agreement = _figure()
    n_units = serializers.IntegerField()
    kappa_per_label = serializers.ListField(child=serializers.FloatField(allow_null=True))
    n_units_per_label = serializers.ListField(child=serializers.IntegerField())


class SlotLeaveOneOutSerializer(serializers.Serializer):
    rater = serializers.CharField(help_text="A slot; per-person figures are in `annotators`.")
    percent_agreement = _figure()
    kappa = _figure()
    n_units = serializers.IntegerField()
    n_ties = serializers.IntegerField()


class FiguresSerializer(serializers.Serializer):
    per_label = LabelAgreementSerializer(many=True)
    pooled = PooledSerializer()
    macro = MacroSerializer()
    cohen_pairs = SlotPairSerializer(many=True)
    leave_one_out = SlotLeaveOneOutSerializer(many=True)
    n_items = serializers.IntegerField(help_text="Items with at least two answers on some label.")


class VersionFiguresSerializer(FiguresSerializer):
    version = serializers.IntegerField(help_text="Guideline version number (0: annotations without a guideline).")


class AgreementReportSerializer(serializers.Serializer):
    overall = FiguresSerializer()
    by_version = VersionFiguresSerializer(many=True)
    n_boot = serializers.IntegerField()
    level = serializers.FloatField()
    seed = serializers.IntegerField()
    confident_threshold = serializers.FloatField()


class LabelCountsSerializer(serializers.Serializer):
    label = serializers.CharField()
    positive = serializers.IntegerField(help_text="Yes answers.")
    negative = serializers.IntegerField(help_text="No answers.")
    unobserved = serializers.IntegerField(help_text="Annotations asked this label that left it unanswered.")
    asked = serializers.IntegerField(help_text="Annotations made under a version that had this label.")
    items_with_target = serializers.IntegerField()
    items_without_target = serializers.IntegerField(help_text="Items with neither an answer nor a resolution.")
    items_positive = serializers.IntegerField(help_text="Items whose consensus is at least 0.5.")
    disputed = serializers.IntegerField(help_text="Unresolved items with both yes and no answers.")
    resolved = serializers.IntegerField()


class CardinalitySerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="Items with at least one answer or resolution.")
    labels = serializers.IntegerField()
    cardinality = _figure("Mean number of labels per item carried by consensus.")
    density = _figure("Cardinality divided by the number of labels.")
    positive_share_of_observed = _figure("Positive targets over all known targets.")
    histogram = serializers.ListField(
        child=serializers.IntegerField(), help_text="Element k: items carrying exactly k labels."
    )


class ProgressDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    annotations = serializers.IntegerField()
    skipped = serializers.IntegerField()


class PersonAgreementSerializer(serializers.Serializer):
    percent_agreement = _figure("Share of answers equal to the weighted vote of the others.")
    kappa = _figure("Cohen's kappa against the weighted vote of the others.")
    n_units = serializers.IntegerField()
    n_ties = serializers.IntegerField(help_text="Answers skipped because the others were split evenly.")


class AnnotatorSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    annotations = serializers.IntegerField()
    skipped = serializers.IntegerField()
    answers = serializers.IntegerField()
    median_seconds = _figure("Median time per annotated item, in seconds.")
    agreement = PersonAgreementSerializer()


class PersonPairSerializer(serializers.Serializer):
    annotators = serializers.ListField(child=serializers.IntegerField(), help_text="Two user ids.")
    usernames = serializers.ListField(child=serializers.CharField())
    kappa = _figure("Cohen's kappa on the entries both answered.")
    percent_agreement = _figure()
    n_units = serializers.IntegerField()


class ProjectAgreementSerializer(serializers.Serializer):
    generation = serializers.CharField(help_text="Fingerprint of the data the figures were computed from.")
    computed_at = serializers.DateTimeField()
    seconds = serializers.FloatField(help_text="Time the computation took.")
    labels = serializers.ListField(child=serializers.CharField(), help_text="Active labels, in label order.")
    label_ids = serializers.ListField(child=serializers.IntegerField())
    label_colors = serializers.ListField(child=serializers.CharField())
    retired_labels = serializers.ListField(child=serializers.CharField(), help_text="Left out of every figure.")
    versions = serializers.ListField(child=serializers.IntegerField())
    n_items = serializers.IntegerField()
    n_annotated_items = serializers.IntegerField()
    n_answers = serializers.IntegerField()
    n_resolutions = serializers.IntegerField()
    n_disputed = serializers.IntegerField()
    agreement = AgreementReportSerializer()
    judgments = LabelCountsSerializer(many=True)
    cardinality = CardinalitySerializer()
    cooccurrence = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text="labels x labels: items on which both labels are positive by consensus.",
    )
    progress = ProgressDaySerializer(many=True)
    annotators = AnnotatorSerializer(many=True)
    annotator_pairs = PersonPairSerializer(many=True)


class AgreementView(ProjectView):
    minimum_role = Role.REVIEWER
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    pagination_class = None
    serializer_class = ProjectAgreementSerializer

    @extend_schema(
        summary="Agreement and dataset figures of a project (reviewers and managers)",
        description=(
            "Fleiss' kappa and Krippendorff's alpha per label with bootstrap intervals, overall and per guideline "
            "version; answers per label; cardinality and density; label co-occurrence; progress per day; and "
            "per-annotator figures. Cached per project and recomputed after new answers or resolutions. "
            "docs/agreement.md explains every figure."
        ),
        responses=ProjectAgreementSerializer,
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        return Response(ProjectAgreementSerializer(project_agreement(project=project)).data)


urlpatterns = [
    path("projects/<int:project_id>/agreement", AgreementView.as_view(), name="api-agreement"),
]
