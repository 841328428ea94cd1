"""The demo project loads on a fresh database, and loading it again adds nothing."""

from django.core.management import call_command

from annotate.models import Annotation, GuidelineVersion, Item, Judgment, Label, Membership, Project, QueueEntry


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Project, Label, Item, GuidelineVersion, Membership, Annotation, Judgment, QueueEntry)
    }


def test_demo_loads_twice_without_duplicates(db, capsys):
    call_command("load_demo")
    first = counts()
    call_command("load_demo")
    assert counts() == first
    assert first["Project"] == 1
    assert first["Item"] == 300
    assert 8 <= first["Label"] <= 12
    assert first["QueueEntry"] == first["Item"]
    # The seed annotations leave some labels unanswered: fewer judgments than
    # annotations times labels, because unobserved has no row.
    assert 0 < first["Judgment"] < first["Annotation"] * first["Label"]
    output = capsys.readouterr().out
    assert "admin /" in output


def test_demo_password_logs_in(db, client, monkeypatch):
    monkeypatch.setenv("TAGWISE_ADMIN_PASSWORD", "a-long-demo-password")
    call_command("load_demo")
    assert client.login(username="admin", password="a-long-demo-password")
    assert client.login(username="ann1", password="a-long-demo-password")
    response = client.get("/")
    assert response.status_code == 200
    assert "Demo: support inbox" in response.content.decode()


def test_the_demo_starts_with_no_item_over_its_target(db):
    """Its two demo annotators answered the same items; those are its overlap items (issue 16)."""
    from django.db.models import F

    from annotate.models import QueueEntry
    from annotate.setup.demo import load_demo

    load_demo()
    assert not QueueEntry.objects.filter(completed__gt=F("required")).exists()


def test_the_readme_says_the_demo_comes_with_answers_and_how_many(db):
    """A new user reads that the demo is already answered in part; the README's figure is the demo's."""
    import re
    from pathlib import Path

    from annotate.setup.demo import DEMO_ANNOTATORS, SEEDED_ITEMS

    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text().split())
    said = re.search(r"The demo comes with some answers already \(the first (\d+) items answered by both", readme)
    assert said and int(said.group(1)) == SEEDED_ITEMS
    call_command("load_demo")
    answered = Annotation.objects.filter(annotator__username__in=DEMO_ANNOTATORS, skipped=False)
    assert answered.values("item").distinct().count() == SEEDED_ITEMS
