"""A member who is removed gives back the items they held at once, so others can get them."""

from annotate.models import Lease, Membership, QueueEntry
from annotate.setup.members import remove_member
from annotate.work.queue import next_item


def test_removing_a_member_returns_their_held_item_to_the_pool(project, queue, annotator, second_annotator, manager):
    QueueEntry.objects.filter(project=project).exclude(item=queue[0]).delete()
    held, _ = next_item(annotator=annotator, project=project)
    assert next_item(annotator=second_annotator, project=project) is None

    remove_member(membership=Membership.objects.get(project=project, user=annotator), actor=manager)

    assert not Lease.objects.filter(annotator=annotator).exists()
    got = next_item(annotator=second_annotator, project=project)
    assert got is not None and got[0] == held
