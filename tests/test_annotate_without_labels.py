"""A project without active labels (created without any, or every one retired) hands out nothing and says why."""

from django.urls import reverse

from annotate.models import Lease, QueueEntry, Role
from tests.factories import add_member, make_items, make_user

NOTICE = "This project has no labels yet"


def test_the_annotate_page_says_there_are_no_labels_and_leases_nothing(client, project):
    items = make_items(project, 3)
    QueueEntry.objects.bulk_create([QueueEntry(project=project, item=item, priority=1) for item in items])
    annie = make_user("annie")
    add_member(project, annie, Role.ANNOTATOR)
    client.force_login(annie)
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    assert NOTICE in html
    # An item without a label to answer could only be skipped: it is not shown, and nobody holds it.
    assert "Submit &amp; next" not in html
    assert not Lease.objects.exists()
    assert "Add labels</a>" not in html  # annotators cannot


def test_a_manager_is_pointed_to_the_labels_page(client, project, manager):
    client.force_login(manager)
    html = client.get(reverse("annotate", args=[project.pk])).content.decode()
    assert NOTICE in html
    assert f'<a class="button" href="{reverse("labels", args=[project.pk])}">Add labels</a>' in html
