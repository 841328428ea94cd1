"""What the annotate page shows of focus labels: stable keys, and badges only where they single something out.

In a project that asks only focus labels, keys were numbered over the labels
asked, so "1" meant a different label on every item although
docs/annotating.md promises stable keys; and an overlap or exploration item,
which asks every label, marked every label "focus" and offered "Answer only
the focus labels", which changed nothing (issue 14).
"""

import re

import pytest
from django.urls import reverse

from annotate.models import AskMode, Label, Project, QueueEntry

ROW = re.compile(r'data-label="(\d+)" data-name="(\w+)" data-key="(\w*)"')


def rows(client, project):
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    return html, [(name, key) for _, name, key in ROW.findall(html)]


@pytest.fixture
def focus_project(project):
    Project.objects.filter(pk=project.pk).update(ask_mode=AskMode.FOCUS)
    project.refresh_from_db()
    return project


def test_a_label_keeps_its_key_when_only_focus_labels_are_asked(client, focus_project, queue, labels, annotator):
    _shipping, refund, _billing, bug, _praise = labels
    Label.objects.filter(project=focus_project).update(shortcut_key="")  # keys given by the page, in label order
    client.force_login(annotator)
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[bug.pk, refund.pk])
    _, shown = rows(client, focus_project)
    assert sorted(shown) == [("bug", "4"), ("refund", "2")]  # their keys among all five labels, not 1 and 2


def test_an_item_that_asks_every_label_marks_none_of_them_focus(client, project, queue, labels, annotator):
    Project.objects.filter(pk=project.pk).update(require_all_labels=True, allow_focus_only=True)
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[label.pk for label in reversed(labels)])
    client.force_login(annotator)
    html, shown = rows(client, project)
    assert [name for name, _ in shown] == ["praise", "bug", "billing", "refund", "shipping"]  # the model's order
    assert 'class="focus-badge"' not in html
    assert "Answer only the focus labels" not in html


def test_some_focus_labels_among_all_are_marked_and_may_be_answered_alone(client, project, queue, labels, annotator):
    Project.objects.filter(pk=project.pk).update(require_all_labels=True, allow_focus_only=True)
    QueueEntry.objects.filter(item=queue[0]).update(focus_labels=[labels[3].pk])
    client.force_login(annotator)
    html, shown = rows(client, project)
    assert shown[0] == ("bug", "4")
    assert html.count('class="focus-badge"') == 1
    assert "Answer only the focus labels" in html
