"""Project and label names refuse line breaks, control and invisible characters, which would hide or garble them."""

import pytest

from annotate.models import Project
from annotate.setup.labelset import LabelSetError, add_label
from annotate.setup.projects import LabelSpec, ProjectError, create_project
from tests.factories import make_user

HIDDEN = ["two\nlines", "car\rriage", "tab\there", "over\u202eride", "zero\u200bwidth", "bell\x07"]


@pytest.mark.parametrize("name", HIDDEN)
def test_a_project_name_with_a_hidden_character_is_refused(db, name):
    with pytest.raises(ProjectError) as refused:
        create_project(creator=make_user("lea"), name=name)
    assert refused.value.field == "name"
    assert not Project.objects.exists()


@pytest.mark.parametrize("name", HIDDEN)
def test_a_label_name_with_a_hidden_character_is_refused_at_creation_and_on_the_labels_page(db, project, name):
    with pytest.raises(ProjectError) as refused:
        create_project(creator=make_user("lea"), name="Tickets", labels=[LabelSpec(name=name)])
    assert refused.value.field == "labels"
    with pytest.raises(LabelSetError):
        add_label(project=project, actor=None, name=name)
    assert not project.labels.exists()


def test_right_to_left_and_joined_scripts_are_names_like_any_other(db, project):
    # Zero-width joiner and non-joiner belong to Persian, Indic scripts and emoji; they stay allowed.
    persian = "\u067e\u0631\u0648\u0698\u0647\u200c\u0647\u0627"  # "projects", with a non-joiner
    hebrew = "\u05e9\u05dc\u05d5\u05dd"
    created = create_project(creator=make_user("lea"), name=persian, labels=[LabelSpec(name=hebrew)])
    assert created.labels.get().name == hebrew
    assert add_label(project=project, actor=None, name=persian).name == persian
