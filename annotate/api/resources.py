"""The project resources under /api/projects/: projects, labels, guideline versions, members, items,
annotations, resolutions and audit events.

Views parse, check the role (``annotate.api.base.ProjectView``), call a function
in annotate/ and serialize.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.access import role_allows
from annotate.api import serializers as s
from annotate.api.base import ApiView, Conflict, NewestFirst, ProjectView
from annotate.curation.review import ResolutionError, StaleResolutionError, set_resolution
from annotate.dataset.items import DuplicateItem, add_item
from annotate.models import (
    Annotation,
    AuditEvent,
    GuidelineVersion,
    Item,
    Judgment,
    Label,
    Membership,
    Project,
    Resolution,
    Role,
)
from annotate.setup.accounts import (
    AccountError,
    PasswordLink,
    create_person,
    deactivate_person,
    issue_password_link,
    reactivate_person,
)
from annotate.setup.members import MembershipError, UnknownUser, add_member, change_role, remove_member
from annotate.setup.project_settings import ProjectSettingsError, change_settings
from annotate.setup.projects import (
    CREATE_REFUSED,
    ProjectError,
    archive_project,
    clone_project,
    create_project,
    delete_project,
    may_create_projects,
    unarchive_project,
)

# ---------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------


def _project_errors(error: ProjectError) -> serializers.ValidationError:
    return serializers.ValidationError({error.field or "detail": [str(error)]})


class ProjectList(ApiView, generics.ListAPIView):
    """The projects you are a member of; archived ones only where you review or manage."""

    serializer_class = s.ProjectSerializer
    queryset = Project.objects.none()

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        user = self.request.user
        found = Project.objects.for_user(user)
        if not user.is_superuser:
            annotator_only = Membership.objects.filter(project=OuterRef("pk"), user=user, role=Role.ANNOTATOR)
            found = found.exclude(Q(archived_at__isnull=False) & Exists(annotator_only))
        return found

    @extend_schema(
        request=s.ProjectCreateSerializer,
        responses={201: s.ProjectSerializer},
        summary="Create a project (users with the permission to)",
        description="Creates the project, its labels and (if `guideline` is given) guideline version 1, and makes "
        "you its manager, in one transaction. Needs the site permission `annotate.add_project` (superusers have "
        "it); without it the answer is 403. Bad input answers 400 and creates nothing.",
    )
    def post(self, request: Request) -> Response:
        if not may_create_projects(request.user):
            raise PermissionDenied(CREATE_REFUSED)
        form = s.ProjectCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            project = create_project(
                creator=request.user,
                name=data["name"],
                description=data["description"],
                labels=data["labels"],
                guideline=data["guideline"],
                settings={name: data[name] for name in s.ProjectCreateSerializer.SETTINGS if name in data},
            )
        except ProjectError as error:
            raise _project_errors(error) from None
        return Response(s.ProjectSerializer(project, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ProjectDetail(ProjectView):
    serializer_class = s.ProjectSerializer
    pagination_class = None

    @extend_schema(responses=s.ProjectSerializer, summary="Read a project")
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        return Response(s.ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(
        request=s.ProjectSettingsSerializer,
        responses=s.ProjectSerializer,
        summary="Rename a project or change its settings (managers)",
        description="Send only the fields to change. One `project.settings` audit event holds the values that "
        "changed (none if nothing did); a refused value changes nothing and the 400 names its field.",
    )
    def patch(self, request: Request, project_id: int) -> Response:
        project, _ = self.project(Role.MANAGER)
        form = s.ProjectSettingsSerializer(project, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        try:
            change_settings(project=project, actor=request.user, changes=form.validated_data)
        except ProjectSettingsError as error:
            raise serializers.ValidationError({error.field or "detail": [str(error)]}) from None
        return Response(s.ProjectSerializer(project, context={"request": request}).data)

    @extend_schema(
        parameters=[s.DeleteQuerySerializer],
        responses={204: None},
        summary="Delete a project and everything in it (managers)",
        description="`confirm` must be the project's exact name (else 400). Export first: nothing is kept but a "
        "site-level `project.delete` audit event.",
    )
    def delete(self, request: Request, project_id: int) -> Response:
        project, _ = self.project(Role.MANAGER)
        query = s.DeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        try:
            delete_project(project=project, actor=request.user, confirmation=query.validated_data["confirm"])
        except ProjectError as error:
            raise _project_errors(error) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectArchive(ProjectView):
    serializer_class = s.ArchiveSerializer
    pagination_class = None
    minimum_role = Role.MANAGER

    @extend_schema(
        request=s.ArchiveSerializer,
        responses=s.ProjectSerializer,
        summary="Archive or un-archive a project (managers)",
        description="An archived project is read-only: the queue hands out nothing and no answer is stored; it can "
        "still be read and exported, and annotators no longer see it in their list.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        form = s.ArchiveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if form.validated_data["archived"]:
            archive_project(project=project, actor=request.user)
        else:
            unarchive_project(project=project, actor=request.user)
        return Response(s.ProjectSerializer(project, context={"request": request}).data)


class ProjectClone(ProjectView):
    serializer_class = s.CloneSerializer
    pagination_class = None
    minimum_role = Role.MANAGER

    @extend_schema(
        request=s.CloneSerializer,
        responses={201: s.ProjectSerializer},
        summary="Clone a project's settings, labels and guideline into a new empty project (managers)",
        description="Needs the manager role in this project and the permission to create projects.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        if not may_create_projects(request.user):
            raise PermissionDenied(CREATE_REFUSED)
        form = s.CloneSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            clone = clone_project(source=project, creator=request.user, name=form.validated_data["name"])
        except ProjectError as error:
            raise _project_errors(error) from None
        return Response(s.ProjectSerializer(clone, context={"request": request}).data, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------
# Labels, guideline versions, members
# ---------------------------------------------------------------------------


class LabelScope(ProjectView):
    """Every label of the project, retired and merged ones included (see ``is_active``)."""

    serializer_class = s.LabelSerializer
    queryset = Label.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[Label]:
        return (
            project.labels.select_related("introduced_in", "retired_in")
            .prefetch_related("implies", "excludes")
            .order_by("id")
        )


class LabelList(LabelScope, generics.ListAPIView):
    pass


class LabelDetail(LabelScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "label_id"


class GuidelineScope(ProjectView):
    """Published guideline versions; reviewers and managers also see the draft."""

    serializer_class = s.GuidelineVersionSerializer
    queryset = GuidelineVersion.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[GuidelineVersion]:
        versions = project.guideline_versions.select_related("author")
        if not role_allows(role, Role.REVIEWER):
            versions = versions.filter(published_at__isnull=False)
        return versions


class GuidelineList(GuidelineScope, generics.ListAPIView):
    pass


class GuidelineDetail(GuidelineScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "version_id"


class MemberScope(ProjectView):
    """The project's members and their roles (managers)."""

    serializer_class = s.MemberSerializer
    queryset = Membership.objects.all()
    minimum_role = Role.MANAGER

    def scoped(self, project: Project, role: str) -> QuerySet[Membership]:
        return project.memberships.select_related("user")

    def get_object(self) -> Membership:
        """The membership of the user in the path (``user_id``), or 404."""
        membership = self.get_queryset().filter(user_id=self.kwargs["user_id"]).first()
        if membership is None:
            raise Http404
        return membership


class MemberList(MemberScope, generics.ListAPIView):
    @extend_schema(summary="List members (managers)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        request=s.MemberAddSerializer,
        responses={201: s.MemberSerializer, 409: s.ErrorSerializer},
        summary="Add an existing account as a member (managers)",
        description="Writes a `member.add` audit event. An unknown user name answers 400; a member already in the "
        "project answers 409 (change their role instead).",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        form = s.MemberAddSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            membership = add_member(
                project=project,
                username=form.validated_data["username"],
                role=form.validated_data["role"],
                actor=request.user,
            )
        except UnknownUser as error:
            raise serializers.ValidationError({"username": [str(error)]}) from None
        except MembershipError as error:
            raise Conflict(str(error)) from None
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetail(MemberScope):
    pagination_class = None

    @extend_schema(responses=s.MemberSerializer, summary="Read a member (managers)")
    def get(self, request: Request, project_id: int, user_id: int) -> Response:
        return Response(s.MemberSerializer(self.get_object()).data)

    @extend_schema(
        request=s.RoleChangeSerializer,
        responses={200: s.MemberSerializer, 409: s.ErrorSerializer},
        summary="Change a member's role (managers)",
        description="Writes a `member.role` audit event. A project always keeps at least one manager: "
        "demoting the last one answers 409.",
    )
    def patch(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = self.get_object()
        form = s.RoleChangeSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        if "role" not in form.validated_data:
            # A PATCH that names no field changes nothing.
            return Response(s.MemberSerializer(membership).data)
        try:
            membership = change_role(membership=membership, role=form.validated_data["role"], actor=request.user)
        except MembershipError as error:
            raise Conflict(str(error)) from None
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(
        responses={204: None, 409: s.ErrorSerializer},
        summary="Remove a member (managers)",
        description="Writes a `member.remove` audit event and gives back the items they hold; their annotations "
        "stay. Removing the last manager answers 409.",
    )
    def delete(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = self.get_object()
        try:
            remove_member(membership=membership, actor=request.user)
        except MembershipError as error:
            raise Conflict(str(error)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _link_answer(request: Request, link: PasswordLink, code: int) -> Response:
    data = {
        "user_id": link.user.pk,
        "username": link.user.get_username(),
        "password_link": request.build_absolute_uri(link.path),
        "emailed": link.emailed,
    }
    return Response(s.PasswordLinkSerializer(data).data, status=code)


def _account_errors(error: AccountError) -> serializers.ValidationError:
    return serializers.ValidationError({error.field or "detail": [str(error)]})


class PersonCreate(ProjectView):
    serializer_class = s.PersonCreateSerializer
    pagination_class = None
    minimum_role = Role.MANAGER

    @extend_schema(
        request=s.PersonCreateSerializer,
        responses={201: s.PasswordLinkSerializer},
        summary="Create an account for a new person and add them (managers)",
        description="The account has no password; the answer holds a one-time link to set one, to pass on "
        "(also e-mailed when e-mail is configured and `email` is given). A taken user name is 400.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        form = s.PersonCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            link = create_person(
                project=project,
                actor=request.user,
                base_url=request.build_absolute_uri("/")[:-1],
                **form.validated_data,
            )
        except AccountError as error:
            raise _account_errors(error) from None
        return _link_answer(request, link, status.HTTP_201_CREATED)


class MemberPasswordLink(MemberScope):
    pagination_class = None

    @extend_schema(
        request=None,
        responses={200: s.PasswordLinkSerializer},
        summary="Issue a new one-time password link for a member (managers)",
        description="Only for a person whose every project you manage and who is not an admin (else 403).",
    )
    def post(self, request: Request, project_id: int, user_id: int) -> Response:
        project, _ = self.project()
        membership = self.get_object()
        try:
            link = issue_password_link(
                person=membership.user,
                actor=request.user,
                project=project,
                base_url=request.build_absolute_uri("/")[:-1],
            )
        except AccountError as error:
            raise PermissionDenied(str(error)) from None
        return _link_answer(request, link, status.HTTP_200_OK)


class MemberActive(MemberScope):
    pagination_class = None

    @extend_schema(
        request=s.ActiveSerializer,
        responses={200: s.MemberSerializer},
        summary="Deactivate or reactivate a member's account (managers)",
        description="Deactivating stops logins and tokens and gives back the items they hold; answers stay. "
        "Only for a person whose every project you manage and who is not an admin (else 403).",
    )
    def post(self, request: Request, project_id: int, user_id: int) -> Response:
        membership = self.get_object()
        form = s.ActiveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            if form.validated_data["active"]:
                reactivate_person(person=membership.user, actor=request.user)
            else:
                deactivate_person(person=membership.user, actor=request.user)
        except AccountError as error:
            raise PermissionDenied(str(error)) from None
        return Response(s.MemberSerializer(membership).data)


# ---------------------------------------------------------------------------
# Items, annotations, resolutions, audit
# ---------------------------------------------------------------------------


class ItemScope(ProjectView):
    serializer_class = s.ItemSerializer
    queryset = Item.objects.all()
    minimum_role = Role.REVIEWER

    def scoped(self, project: Project, role: str) -> QuerySet[Item]:
        return project.items.all()


@extend_schema_view(
    get=extend_schema(summary="List items (reviewers and managers)", parameters=[s.ItemFilterSerializer]),
    post=extend_schema(
        summary="Create an item (managers)",
        description="The item is put in the annotation queue. An external id that exists already answers 409.",
        responses={201: s.ItemSerializer, 409: s.ErrorSerializer},
    ),
)
class ItemList(ItemScope, generics.ListCreateAPIView):
    def scoped(self, project: Project, role: str) -> QuerySet[Item]:
        items = project.items.all()
        if self.request.method == "GET":
            query = s.ItemFilterSerializer(data=self.request.query_params)
            query.is_valid(raise_exception=True)
            if "external_id" in query.validated_data:
                items = items.filter(external_id=query.validated_data["external_id"])
        return items

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request.method == "POST" and not getattr(self, "swagger_fake_view", False):
            context["project"] = self.project(Role.MANAGER)[0]
        return context

    def perform_create(self, serializer: s.ItemSerializer) -> None:
        try:
            serializer.instance = add_item(project=serializer.context["project"], **serializer.validated_data)
        except DuplicateItem as duplicate:
            raise Conflict(str(duplicate)) from None


@extend_schema_view(get=extend_schema(summary="Read an item (reviewers and managers)"))
class ItemDetail(ItemScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "item_id"


class AnnotationScope(ProjectView):
    serializer_class = s.AnnotationSerializer
    queryset = Annotation.objects.all()

    def scoped(self, project: Project, role: str) -> QuerySet[Annotation]:
        annotations = Annotation.objects.filter(item__project=project).select_related(
            "item", "annotator", "guideline_version"
        )
        annotations = annotations.prefetch_related(
            Prefetch(
                "judgments", queryset=Judgment.objects.select_related("label").order_by("label__order", "label_id")
            )
        )
        if not role_allows(role, Role.REVIEWER):
            annotations = annotations.filter(annotator=self.request.user)
        return annotations


@extend_schema_view(
    get=extend_schema(
        summary="List annotations with their judgments",
        description="An annotator sees only their own annotations; reviewers and managers see all. "
        "A label without a judgment is unobserved.",
        parameters=[s.AnnotationFilterSerializer],
    )
)
class AnnotationList(AnnotationScope, generics.ListAPIView):
    def scoped(self, project: Project, role: str) -> QuerySet[Annotation]:
        annotations = super().scoped(project, role)
        query = s.AnnotationFilterSerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if "item" in query.validated_data:
            annotations = annotations.filter(item_id=query.validated_data["item"])
        if "annotator" in query.validated_data:
            annotations = annotations.filter(annotator__username=query.validated_data["annotator"])
        return annotations


@extend_schema_view(get=extend_schema(summary="Read an annotation with its judgments"))
class AnnotationDetail(AnnotationScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "annotation_id"


class ResolutionScope(ProjectView):
    serializer_class = s.ResolutionSerializer
    queryset = Resolution.objects.all()
    minimum_role = Role.REVIEWER

    def scoped(self, project: Project, role: str) -> QuerySet[Resolution]:
        return Resolution.objects.filter(item__project=project).select_related("label", "reviewer")


class ResolutionList(ResolutionScope, generics.ListAPIView):
    @extend_schema(summary="List resolutions (reviewers and managers)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)

    @extend_schema(
        request=s.ResolutionInputSerializer,
        responses={
            200: s.ResolutionSerializer,
            201: s.ResolutionSerializer,
            409: OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description="`expected` is not the entry's state any more: `detail` says who decided what, "
                "`current` is the resolution now (null when it was undone).",
            ),
        },
        summary="Set the resolution of an (item, label) (reviewers and managers)",
        description="Creates the resolution (201) or replaces it (200), and writes a `resolution.set` audit event. "
        "An item or label that is not in the project answers 404. Send the `state` you last read as `expected` "
        "to be refused (409) instead of overwriting a decision made meanwhile; leave `note` out to keep the "
        "existing note.",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = self.project()
        form = s.ResolutionInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        item = project.items.filter(pk=data["item"]).first()
        label = project.labels.filter(pk=data["label"]).first()
        if item is None or label is None:
            raise NotFound("No such item in this project." if item is None else "No such label in this project.")
        existed = Resolution.objects.filter(item=item, label=label).exists()
        try:
            resolution = set_resolution(
                item=item,
                label=label,
                value=int(data["value"]),
                note=data.get("note"),
                reviewer=request.user,
                expected=data.get("expected"),
            )
        except StaleResolutionError as stale:
            current = s.ResolutionSerializer(stale.current).data if stale.current else None
            return Response({"detail": str(stale), "current": current}, status=status.HTTP_409_CONFLICT)
        except ResolutionError as error:
            raise serializers.ValidationError({error.field: str(error)}) from None
        code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
        return Response(s.ResolutionSerializer(resolution).data, status=code)


@extend_schema_view(get=extend_schema(summary="Read a resolution (reviewers and managers)"))
class ResolutionDetail(ResolutionScope, generics.RetrieveAPIView):
    lookup_url_kwarg = "resolution_id"


@extend_schema_view(get=extend_schema(summary="List audit events, newest first (managers)"))
class AuditList(ProjectView, generics.ListAPIView):
    serializer_class = s.AuditEventSerializer
    queryset = AuditEvent.objects.all()
    minimum_role = Role.MANAGER
    pagination_class = NewestFirst

    def scoped(self, project: Project, role: str) -> QuerySet[AuditEvent]:
        return AuditEvent.objects.filter(project=project).select_related("actor")


urlpatterns = [
    path("projects", ProjectList.as_view(), name="api-projects"),
    path("projects/<int:project_id>", ProjectDetail.as_view(), name="api-project"),
    path("projects/<int:project_id>/archive", ProjectArchive.as_view(), name="api-project-archive"),
    path("projects/<int:project_id>/clone", ProjectClone.as_view(), name="api-project-clone"),
    path("projects/<int:project_id>/labels", LabelList.as_view(), name="api-labels"),
    path("projects/<int:project_id>/labels/<int:label_id>", LabelDetail.as_view(), name="api-label"),
    path("projects/<int:project_id>/guidelines", GuidelineList.as_view(), name="api-guidelines"),
    path("projects/<int:project_id>/guidelines/<int:version_id>", GuidelineDetail.as_view(), name="api-guideline"),
    path("projects/<int:project_id>/members", MemberList.as_view(), name="api-members"),
    path("projects/<int:project_id>/members/<int:user_id>", MemberDetail.as_view(), name="api-member"),
    path(
        "projects/<int:project_id>/members/<int:user_id>/password-link",
        MemberPasswordLink.as_view(),
        name="api-member-password-link",
    ),
    path("projects/<int:project_id>/members/<int:user_id>/active", MemberActive.as_view(), name="api-member-active"),
    path("projects/<int:project_id>/people", PersonCreate.as_view(), name="api-people"),
    path("projects/<int:project_id>/items", ItemList.as_view(), name="api-items"),
    path("projects/<int:project_id>/items/<int:item_id>", ItemDetail.as_view(), name="api-item"),
    path("projects/<int:project_id>/annotations", AnnotationList.as_view(), name="api-annotations"),
    path(
        "projects/<int:project_id>/annotations/<int:annotation_id>", AnnotationDetail.as_view(), name="api-annotation"
    ),
    path("projects/<int:project_id>/resolutions", ResolutionList.as_view(), name="api-resolutions"),
    path(
        "projects/<int:project_id>/resolutions/<int:resolution_id>", ResolutionDetail.as_view(), name="api-resolution"
    ),
    path("projects/<int:project_id>/audit", AuditList.as_view(), name="api-audit"),
]
