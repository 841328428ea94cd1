"""The learner's REST API under /api/: model versions, retraining and predictions.

Roles follow the HTML pages: managers see versions and start a retrain;
reviewers and managers read predictions. A non-member gets 404 and an object
of another project is 404 too (``annotate.access.project_for`` and lookups
inside the project). Retraining and predicting run a model, so both use the
"expensive" throttle scope.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from annotate.api.base import NewestFirst, ProjectView
from annotate.api.serializers import ErrorSerializer
from annotate.models import Item, Project, Role
from learner import predictions, reports, training
from learner.models import ModelVersion
from learner.predictions import MAX_TEXT_LENGTH, MAX_TEXTS


class NoReadyModelError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "No model is ready for this project yet. Train one first."
    default_code = "no_ready_model"


# ---------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------


class DatasetCountsSerializer(serializers.Serializer):
    """What the version was trained on; empty until its snapshot is taken."""

    items = serializers.IntegerField(required=False, help_text="Items of the project, answered or not.")
    labelled_items = serializers.IntegerField(required=False, help_text="Items with at least one answer.")
    observed_entries = serializers.IntegerField(required=False, help_text="(item, label) entries with a target.")
    positive_entries = serializers.IntegerField(required=False, help_text="Observed entries whose target is yes.")
    labels = serializers.IntegerField(required=False, help_text="Active labels trained on.")


class MetricsSummarySerializer(serializers.Serializer):
    """Held-out figures on observed entries only; absent when nothing could be held out."""

    macro_f1 = serializers.FloatField(required=False)
    micro_f1 = serializers.FloatField(required=False)
    weighted_f1 = serializers.FloatField(required=False)
    macro_precision = serializers.FloatField(required=False)
    macro_recall = serializers.FloatField(required=False)
    hamming_loss = serializers.FloatField(required=False)
    jaccard = serializers.FloatField(required=False)
    subset_accuracy = serializers.FloatField(required=False)
    lrap = serializers.FloatField(required=False, help_text="Label ranking average precision.")
    coverage_error = serializers.FloatField(required=False)
    mean_ece = serializers.FloatField(required=False, help_text="Mean expected calibration error over labels.")


class ModelVersionSerializer(serializers.ModelSerializer):
    dataset_counts = DatasetCountsSerializer(read_only=True)
    metrics_summary = MetricsSummarySerializer(source="overall_metrics", read_only=True)
    progress = serializers.FloatField(read_only=True, help_text="From 0 to 1.")

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "phase",
            "progress",
            "trigger",
            "dataset_counts",
            "dataset_hash",
            "metrics_summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class LabelMetricsSerializer(serializers.Serializer):
    label_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    threshold = serializers.FloatField(
        allow_null=True, help_text="Probability at or above which the label is predicted."
    )
    calibrated = serializers.BooleanField(help_text="Whether a Platt scaler was fitted (else raw scores are used).")
    precision = serializers.FloatField(allow_null=True)
    recall = serializers.FloatField(allow_null=True)
    f1 = serializers.FloatField(allow_null=True)
    ece = serializers.FloatField(allow_null=True, help_text="Expected calibration error.")
    support = serializers.IntegerField(allow_null=True, help_text="Observed positives held out.")
    n_observed = serializers.IntegerField(allow_null=True, help_text="Observed entries held out.")


class PairConfusionSerializer(serializers.Serializer):
    true_name = serializers.CharField(help_text="The label answered yes but missed.")
    predicted_name = serializers.CharField(help_text="The label answered no but predicted.")
    count = serializers.IntegerField()


class ModelVersionDetailSerializer(ModelVersionSerializer):
    labels = serializers.SerializerMethodField()
    label_pair_confusions = serializers.SerializerMethodField()
    config = serializers.JSONField(read_only=True, help_text="The training configuration (learner.ml.TrainConfig).")
    metrics = serializers.JSONField(
        read_only=True, help_text="Everything learner.ml measured, including calibration bins per label."
    )

    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "labels", "label_pair_confusions", "config", "metrics"]
        read_only_fields = fields

    @extend_schema_field(LabelMetricsSerializer(many=True))
    def get_labels(self, version: ModelVersion) -> list[dict[str, Any]]:
        return LabelMetricsSerializer(reports.label_rows(version), many=True).data

    @extend_schema_field(PairConfusionSerializer(many=True))
    def get_label_pair_confusions(self, version: ModelVersion) -> list[dict[str, Any]]:
        return PairConfusionSerializer(reports.pair_confusions(version), many=True).data


class LabelScoreSerializer(serializers.Serializer):
    label_id = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    probability = serializers.FloatField(help_text="Calibrated probability that the label applies.")
    threshold = serializers.FloatField()
    decision = serializers.BooleanField(help_text="Predicted: probability at or above threshold, then label rules.")


class ItemLabelScoreSerializer(LabelScoreSerializer):
    answer = serializers.FloatField(
        allow_null=True, help_text="The item's current consensus target; null when nobody answered (unobserved)."
    )


class PredictionSerializer(serializers.Serializer):
    scores = LabelScoreSerializer(many=True)
    predicted_labels = serializers.ListField(child=serializers.CharField())


class ItemPredictionSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    item_id = serializers.IntegerField()
    external_id = serializers.CharField()
    scores = ItemLabelScoreSerializer(many=True)
    predicted_labels = serializers.ListField(child=serializers.CharField())


class PredictRequestSerializer(serializers.Serializer):
    texts = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=MAX_TEXT_LENGTH, trim_whitespace=False),
        min_length=1,
        max_length=MAX_TEXTS,
    )


class PredictResponseSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    predictions = PredictionSerializer(many=True, help_text="One per text, in the order sent.")


class RetrainConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    active = ModelVersionSerializer(allow_null=True)


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


class VersionScope(ProjectView):
    minimum_role = Role.MANAGER
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()
    pagination_class = NewestFirst

    def scoped(self, project: Project, role: str) -> QuerySet[ModelVersion]:
        return project.model_versions.all()


@extend_schema(summary="List model versions (managers)", description="Newest first, cursor-paginated.")
class VersionList(VersionScope, generics.ListAPIView):
    pass


@extend_schema(summary="Read a model version with its metrics (managers)")
class VersionDetail(VersionScope, generics.RetrieveAPIView):
    serializer_class = ModelVersionDetailSerializer
    lookup_url_kwarg = "version_id"


class Retrain(ProjectView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    serializer_class = ModelVersionSerializer
    pagination_class = None

    @extend_schema(
        request=None,
        responses={
            202: ModelVersionSerializer,
            409: OpenApiResponse(RetrainConflictSerializer, description="A version is already queued or training."),
        },
        summary="Queue a retrain (managers)",
        description="Answers 202 with the queued version; follow its status at /models/{id}. "
        "A retrain whose answers have not changed since the last ready model ends as skipped.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project(Role.MANAGER)
        version = training.queue_retrain(project=project, trigger="api", actor=request.user)
        if version is None:
            active = training.active_version(project=project)
            body = {
                "detail": "A retrain is already queued or running for this project.",
                "active": ModelVersionSerializer(active).data if active else None,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)


class ItemPredictions(ProjectView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    serializer_class = ItemPredictionSerializer
    pagination_class = None

    @extend_schema(
        responses={
            200: ItemPredictionSerializer,
            409: OpenApiResponse(ErrorSerializer, description="No model is ready for this project yet."),
        },
        summary="Predictions of the latest ready model for one item (reviewers and managers)",
    )
    def get(self, request: Request, project_id: int, item_id: int) -> Response:
        project, _ = self.project(Role.REVIEWER)
        item = get_object_or_404(Item, pk=item_id, project=project)
        try:
            version, prediction = predictions.predict_item(project=project, item=item)
        except predictions.NoReadyModel as reason:
            raise NoReadyModelError(str(reason)) from reason
        body = {
            "model_version": version.pk,
            "item_id": item.pk,
            "external_id": item.external_id,
            "scores": prediction.scores,
            "predicted_labels": prediction.predicted_labels,
        }
        return Response(ItemPredictionSerializer(body).data)


class Predict(ProjectView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "expensive"
    serializer_class = PredictRequestSerializer
    pagination_class = None

    @extend_schema(
        request=PredictRequestSerializer,
        responses={
            200: PredictResponseSerializer,
            409: OpenApiResponse(ErrorSerializer, description="No model is ready for this project yet."),
        },
        summary="Predict labels for new texts (reviewers and managers)",
        description=f"Up to {MAX_TEXTS} texts of up to {MAX_TEXT_LENGTH} characters each.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project(Role.REVIEWER)
        form = PredictRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            version, results = predictions.predict(project=project, texts=form.validated_data["texts"])
        except predictions.NoReadyModel as reason:
            raise NoReadyModelError(str(reason)) from reason
        body = {"model_version": version.pk, "predictions": results}
        return Response(PredictResponseSerializer(body).data)


urlpatterns = [
    path("projects/<int:project_id>/models", VersionList.as_view(), name="api-models"),
    path("projects/<int:project_id>/models/<int:version_id>", VersionDetail.as_view(), name="api-model"),
    path("projects/<int:project_id>/retrain", Retrain.as_view(), name="api-retrain"),
    path(
        "projects/<int:project_id>/items/<int:item_id>/predictions",
        ItemPredictions.as_view(),
        name="api-item-predictions",
    ),
    path("projects/<int:project_id>/predictions", Predict.as_view(), name="api-predictions"),
]
