"""The item browser's query: a project's items under filters, a page at a time (docs/review.md, "Item browser").

Pages are keyset pages on the item id (``after`` is the last id shown), so
the hundredth page costs what the first does and no page counts the whole
project; each filter is an EXISTS probe on an index, checked row by row
along the id order until a page is full. docs/benchmarks.md has the
timings on 100k items.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet

from annotate.models import Annotation, Item, ItemFlag, Judgment, Label, Project, Resolution

LABEL_STATES = ("yes", "no", "unobserved", "disputed", "resolved")


@dataclass(frozen=True)
class ItemFilters:
    """What the browser filters on; empty fields filter nothing."""

    text: str = ""
    flagged: bool = False
    label: Label | None = None
    state: str = ""  # one of LABEL_STATES, about ``label`` (or any label for "disputed" and "resolved")
    annotator_id: int | None = None
    guideline_version: int | None = None


@dataclass
class ItemRow:
    item: Item
    annotations: int
    flags: int
    resolutions: int


@dataclass
class ItemsPage:
    rows: list[ItemRow]
    has_next: bool

    @property
    def next_after(self) -> int | None:
        return self.rows[-1].item.pk if self.rows else None


def _answers(*, value: int | None = None, label: Label | None = None) -> Exists:
    """Whether the outer item has an answer (of this value, on this label) in a non-skipped annotation.

    Written as "an annotation of the item that has such a judgment", so both
    probes follow an index from the item: (item, annotator) to its few
    annotations, then (annotation, label) to the judgment. Filtered on the
    label first, the database walked every judgment of the label for each
    item, hundreds of times slower (docs/benchmarks.md, "Item browser").
    """
    judgments = Judgment.objects.filter(annotation_id=OuterRef("pk"))
    if value is not None:
        judgments = judgments.filter(value=value)
    if label is not None:
        judgments = judgments.filter(label=label)
    return Exists(Annotation.objects.filter(item_id=OuterRef("pk"), skipped=False).filter(Exists(judgments)))


def _disputed_on_any_label() -> Exists:
    """Some label of the item has both a yes and a no: one grouped probe of the item's judgments."""
    split = (
        Judgment.objects.filter(annotation__item_id=OuterRef("pk"), annotation__skipped=False)
        .order_by()
        .values("label_id")
        .annotate(low=Min("value"), high=Max("value"))
        .filter(low=0, high=1)
    )
    return Exists(split)


def filtered_items(*, project: Project, filters: ItemFilters) -> QuerySet[Item]:
    """The project's items that pass every filter, in id order."""
    items = Item.objects.filter(project=project)
    if filters.text:
        items = items.filter(text__icontains=filters.text)
    if filters.flagged:
        items = items.filter(Exists(ItemFlag.objects.filter(item_id=OuterRef("pk"))))
    if filters.annotator_id is not None:
        items = items.filter(
            Exists(Annotation.objects.filter(item_id=OuterRef("pk"), annotator_id=filters.annotator_id))
        )
    if filters.guideline_version is not None:
        items = items.filter(
            Exists(
                Annotation.objects.filter(item_id=OuterRef("pk"), guideline_version__number=filters.guideline_version)
            )
        )
    label, state = filters.label, filters.state
    if state == "yes" and label:
        items = items.filter(_answers(value=1, label=label))
    elif state == "no" and label:
        items = items.filter(_answers(value=0, label=label))
    elif state == "unobserved" and label:
        items = items.exclude(_answers(label=label))
    elif state == "disputed":
        if label:
            items = items.filter(_answers(value=1, label=label), _answers(value=0, label=label))
        else:
            items = items.filter(_disputed_on_any_label())
    elif state == "resolved":
        resolutions = Resolution.objects.filter(item_id=OuterRef("pk"))
        items = items.filter(Exists(resolutions.filter(label=label) if label else resolutions))
    return items.order_by("pk")


def browse_items(*, project: Project, filters: ItemFilters, after: int | None, limit: int) -> ItemsPage:
    """One keyset page of the filtered items, with their counts of annotations, flags and resolutions.

    The counts are read for the page's ids in a second query: grouped in the
    filtered query, they would make the database count every matching item
    before it could stop at the page's end.
    """
    items = filtered_items(project=project, filters=filters)
    if after is not None:
        items = items.filter(pk__gt=after)
    page = list(items[: limit + 1])
    has_next = len(page) > limit
    page = page[:limit]
    counts = {
        row["pk"]: row
        for row in Item.objects.filter(pk__in=[item.pk for item in page])
        .values("pk")
        .annotate(
            n_annotations=Count("annotations", filter=Q(annotations__skipped=False), distinct=True),
            n_flags=Count("flags", distinct=True),
            n_resolutions=Count("resolutions", distinct=True),
        )
    }
    rows = [
        ItemRow(
            item=item,
            annotations=counts[item.pk]["n_annotations"],
            flags=counts[item.pk]["n_flags"],
            resolutions=counts[item.pk]["n_resolutions"],
        )
        for item in page
    ]
    return ItemsPage(rows=rows, has_next=has_next)
