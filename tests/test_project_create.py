"""A user with the permission creates a project from the home page or the API; bad input creates nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils.html import escape

from annotate.models import AuditEvent, GuidelineVersion, Label, Membership, Project, Role
from annotate.views.projects import NewProjectForm
from tests.api_support import api, client_for
from tests.factories import make_user

LS_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="topic" toName="text" choice="multiple">
    <Choice value="Refund" hint="Money back"/>
    <Choice value="Shipping"/>
  </Choices>
</View>"""


# Entity expansion is refused before any entity is expanded.
ENTITY_BOMB = '<!DOCTYPE x [<!ENTITY a "aaaa">]><View><Choices><Choice value="&a;"/></Choices></View>'


@pytest.fixture
def creator(db):
    user = make_user("cora")
    user.user_permissions.add(Permission.objects.get(content_type__app_label="annotate", codename="add_project"))
    return user


def form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Reviews",
        "description": "Product reviews",
        "labels": "praise: the writer likes it\ncomplaint\n\n",
        "guideline": "# Reviews\nMark every label that applies.",
        "overlap_count": "3",
        "overlap_fraction": "0.1",
        "retrain_every": "100",
        **overrides,
    }


def client_as(client, user):
    client.force_login(user)
    return client


def test_the_home_page_offers_new_project_only_to_users_with_the_permission(client, creator, annotator):
    client.force_login(creator)
    assert reverse("project-new") in client.get(reverse("home")).content.decode()
    client.force_login(annotator)
    assert reverse("project-new") not in client.get(reverse("home")).content.decode()
    refused = client.get(reverse("project-new"))
    assert refused.status_code == 403
    # It read "needs the permission to, which an admin grants" (issue 14).
    assert "needs the permission “Can add project” (annotate.add_project)" in refused.content.decode()


def test_the_new_project_form_says_each_help_text_once(client, creator):
    html = client_as(client, creator).get(reverse("project-new")).content.decode()
    for field in ("labels", "guideline"):
        help_text = NewProjectForm.base_fields[field].help_text
        assert html.count(str(escape(help_text))) == 1, field


def test_a_project_is_created_with_labels_guideline_v1_settings_and_its_creator_as_manager(client, creator):
    client.force_login(creator)
    response = client.post(reverse("project-new"), form())

    project = Project.objects.get(name="Reviews")
    assert response.status_code == 302 and response["Location"] == reverse("project", args=[project.pk])
    assert list(project.labels.values_list("name", "description")) == [
        ("praise", "the writer likes it"),
        ("complaint", ""),
    ]
    guideline = project.current_guideline()
    assert (guideline.number, guideline.text) == (1, "# Reviews\nMark every label that applies.")
    assert (project.overlap_count, project.overlap_fraction, project.retrain_every) == (3, 0.1, 100)
    assert Membership.objects.get(project=project).user == creator
    assert project.role_of(creator) == Role.MANAGER
    assert AuditEvent.objects.get(action="project.create").after["labels"] == ["praise", "complaint"]


def test_labels_come_from_a_pasted_label_studio_config(client, creator):
    client.force_login(creator)
    client.post(reverse("project-new"), form(labels=LS_CONFIG, guideline=""))
    project = Project.objects.get(name="Reviews")
    assert list(project.labels.values_list("name", "description")) == [("Refund", "Money back"), ("Shipping", "")]
    assert not GuidelineVersion.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "  "}, "This field is required."),
        ({"labels": "refund\nRefund"}, "listed twice"),
        ({"labels": "a, b"}, "contains a comma"),
        ({"labels": "<View><Choices><Choice value='x'></Choices></View>"}, "not valid XML"),
        (
            {"labels": '<!DOCTYPE x [<!ENTITY a "aaaa">]><View><Choices><Choice value="&a;"/></Choices></View>'},
            "DOCTYPE",
        ),
        ({"overlap_count": "0"}, "greater than or equal to 1"),
    ],
)
def test_bad_input_is_a_400_with_the_error_and_creates_nothing(client, creator, overrides, message):
    client.force_login(creator)
    response = client.post(reverse("project-new"), form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Project.objects.exists()
    assert not Label.objects.exists() and not AuditEvent.objects.exists()


def test_a_taken_name_is_refused_whatever_its_case(client, creator, project):
    client.force_login(creator)
    response = client.post(reverse("project-new"), form(name=project.name.upper()))
    assert response.status_code == 400
    assert "already a project named" in response.content.decode()
    assert Project.objects.count() == 1


def test_the_api_creates_a_project_and_refuses_bad_input_and_users_without_the_permission(creator, annotator):
    body = {
        "name": "From a script",
        "labels": [{"name": "spam"}, {"name": "ham", "description": "not spam"}],
        "guideline": "Read it all.",
        "overlap_count": 2,
    }
    created = client_for(creator).post(api("/projects"), body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["role"] == "manager" and created.json()["archived_at"] is None
    project = Project.objects.get(name="From a script")
    assert list(project.labels.values_list("name", flat=True)) == ["spam", "ham"]
    assert project.current_guideline().number == 1

    config = client_for(creator).post(api("/projects"), {"name": "LS", "label_config": LS_CONFIG}, format="json")
    assert config.status_code == 201
    assert list(Project.objects.get(name="LS").labels.values_list("name", flat=True)) == ["Refund", "Shipping"]

    bad = client_for(creator).post(
        api("/projects"), {"name": "Broken", "labels": [{"name": "x"}, {"name": "X"}]}, format="json"
    )
    assert bad.status_code == 400 and "labels" in bad.json()
    unknown = client_for(creator).post(api("/projects"), {"name": "Broken", "owner": "me"}, format="json")
    assert unknown.status_code == 400 and "owner" in unknown.json()
    assert not Project.objects.filter(name="Broken").exists()

    refused = client_for(annotator).post(api("/projects"), {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    assert not Project.objects.filter(name="Mine").exists()
