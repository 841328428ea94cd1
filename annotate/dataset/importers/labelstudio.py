"""The Label Studio reader: the JSON export of a text-classification project (docs/api.md)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from annotate.dataset.importers.base import AnnotatorRef, Errors, Notes, ParsedAnnotation, ParsedItem
from annotate.dataset.importers.validate import (
    UNSTORABLE,
    Spelling,
    as_external_id,
    as_flag,
    as_text,
    json_error,
    parse_annotation,
    unstorable_in,
)

# Label Studio's names of the fields ``parse_annotation`` reads.
LABEL_STUDIO_SPELLING = Spelling(
    annotator="a user id or an object with an email",
    renamed={"annotator": "completed_by", "skipped": "was_cancelled", "duration_seconds": "lead_time"},
)
CANCELLED = "Cancelled in Label Studio"
# The fields of a JSON-MIN export's rows, which the full JSON export keeps
# under ``data`` and ``annotations``.
JSON_MIN_FIELDS = {"annotator", "annotation_id", "lead_time"}


@dataclass(frozen=True)
class FoundUser:
    """A Label Studio user the file names, keyed as ``annotator_map`` keys them (numeric id or email)."""

    key: str
    name: str
    annotations: int


@dataclass
class Survey:
    """What a Label Studio file holds, for choosing the import's options (the import page's second step)."""

    tasks: int = 0
    # Data key -> the number of tasks where it holds a non-empty string.
    text_keys: dict[str, int] = field(default_factory=dict)
    # Choices control (``from_name``) -> the number of its results.
    choices_controls: dict[str, int] = field(default_factory=dict)
    users: list[FoundUser] = field(default_factory=list)

    def default_text_key(self) -> str | None:
        """``text`` when the tasks have it, else the one key that holds a string in every task."""
        if "text" in self.text_keys:
            return "text"
        everywhere = [key for key, count in self.text_keys.items() if count == self.tasks]
        return everywhere[0] if len(everywhere) == 1 else None

    def default_control(self) -> str | None:
        """The file's only choices control ("" when it has none); None when there are several."""
        if len(self.choices_controls) > 1:
            return None
        return next(iter(self.choices_controls), "")


def survey(tasks: list[Any]) -> Survey:
    """The data keys, choices controls and users of a list of tasks; malformed parts are left to the reader."""
    found = Survey(tasks=len(tasks))
    text_keys: Counter[str] = Counter()
    controls: Counter[str] = Counter()
    users: Counter[str] = Counter()
    names: dict[str, str] = {}
    for task in tasks:
        if not isinstance(task, dict):
            continue
        data = task.get("data")
        if isinstance(data, dict):
            text_keys.update(key for key, value in data.items() if isinstance(value, str) and value.strip())
        annotations = task.get("annotations")
        for annotation in annotations if isinstance(annotations, list) else []:
            if not isinstance(annotation, dict):
                continue
            ref = completed_by(annotation.get("completed_by"))
            if ref is not None and not ref.username:
                key = ref.email or ref.labelstudio_id
                users[key] += 1
                names.setdefault(key, _display_name(annotation.get("completed_by"), ref))
            results = annotation.get("result")
            for result in results if isinstance(results, list) else []:
                if isinstance(result, dict) and result.get("type") == "choices":
                    controls[str(result.get("from_name", ""))] += 1
    found.text_keys = dict(sorted(text_keys.items()))
    found.choices_controls = dict(sorted(controls.items()))
    found.users = [FoundUser(key=key, name=names[key], annotations=count) for key, count in sorted(users.items())]
    return found


def survey_file(stream: IO[bytes]) -> Survey | None:
    """The survey of a Label Studio file, or None when it is not a list of tasks (the import reports why)."""
    try:
        tasks = json.load(stream)
    except ValueError:
        return None
    finally:
        stream.seek(0)
    if isinstance(tasks, dict):
        tasks = [tasks]
    return survey(tasks) if isinstance(tasks, list) else None


def _display_name(value: Any, ref: AnnotatorRef) -> str:
    if isinstance(value, dict):
        full = " ".join(str(value.get(part) or "") for part in ("first_name", "last_name")).strip()
        if full:
            return f"{full} ({ref.email or 'id ' + ref.labelstudio_id})"
    return ref.email or f"user {ref.labelstudio_id}"


def read_labelstudio(
    stream: IO[bytes],
    errors: Errors,
    notes: Notes,
    *,
    unticked: str,
    text_key: str = "",
    choices_control: str = "",
) -> Iterator[ParsedItem]:
    """A Label Studio JSON export of a text-classification project (a list of tasks).

    ``line`` in errors is the task's position in the list, from 1; the
    location names the task id and annotation id too. The item's external id
    is ``data.external_id``, else ``data.id``, else the task id; ``data`` at
    ``text_key`` is the text and the other ``data`` fields become metadata,
    with the task id under ``label_studio_task_id``. Each annotation's results
    from the choices control tick labels; the results of other controls are
    counted in ``notes`` and ignored, and so are predictions and drafts.
    Cancelled annotations become skips.
    """
    try:
        tasks = json.load(stream)
    except ValueError as exc:
        hint = ""
        if "Extra data" in str(exc):
            hint = "; this looks like JSON lines (one object per line): import it with format=jsonl"
        errors.add(0, "", f"{json_error(exc, with_line=True)}{hint}")
        return
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        errors.add(0, "", "a Label Studio export is a JSON list of tasks")
        return
    first = tasks[0] if tasks else None
    if isinstance(first, dict) and "data" not in first and JSON_MIN_FIELDS & first.keys():
        errors.add(
            0,
            "",
            "this is Label Studio's JSON-MIN export, which leaves out who answered what: "
            "export the project as JSON instead",
        )
        return
    found = survey(tasks)
    text_key = text_key or found.default_text_key() or ""
    if not text_key:
        keys = ", ".join(found.text_keys) or "none"
        errors.add(0, "text_key", f"the tasks have no data.text; choose the data key that holds the text: {keys}")
        return
    if text_key not in found.text_keys:
        keys = ", ".join(found.text_keys) or "none"
        errors.add(0, "text_key", f"no task has a text under data.{text_key}; the data keys with text: {keys}")
        return
    control = choices_control if choices_control else found.default_control()
    if control is None:
        controls = ", ".join(found.choices_controls)
        errors.add(0, "choices_control", f"the file has several choices controls ({controls}); choose one")
        return
    if choices_control and choices_control not in found.choices_controls:
        controls = ", ".join(found.choices_controls) or "none"
        errors.add(0, "choices_control", f"no result comes from the control '{choices_control}'; found: {controls}")
        return
    task_ids: dict[int, Any] = {}
    annotation_ids: dict[tuple[int, int], Any] = {}
    errors.locate = _locator(task_ids, annotation_ids)
    reader = _TaskReader(errors, notes, unticked=unticked, text_key=text_key, control=control)
    for position, task in enumerate(tasks, start=1):
        if isinstance(task, dict):
            task_ids[position] = task.get("id")
            raw_annotations = task.get("annotations")
            for index, raw in enumerate(raw_annotations if isinstance(raw_annotations, list) else []):
                if isinstance(raw, dict) and raw.get("id") is not None:
                    annotation_ids[(position, index)] = raw["id"]
        item = reader.task(task, position)
        if item is not None:
            yield item


_ANNOTATION_SPOT = re.compile(r"^annotations\[(\d+)\]")


def _locator(task_ids: dict[int, Any], annotation_ids: dict[tuple[int, int], Any]) -> Any:
    """Name a (task position, field) as "task 3 (id 101), annotations[0] (id 12).result[1]"."""

    def locate(line: int, field_name: str) -> str:
        task_id = task_ids.get(line)
        where = f"task {line}" + (f" (id {task_id})" if task_id is not None else "")
        match = _ANNOTATION_SPOT.match(field_name)
        if match and (annotation_id := annotation_ids.get((line, int(match.group(1))))) is not None:
            field_name = f"{match.group(0)} (id {annotation_id}){field_name[match.end() :]}"
        return f"{where}, {field_name}" if field_name else where

    return locate


def completed_by(value: Any) -> AnnotatorRef | None:
    """Who made a Label Studio annotation: an object with an email or an id, a numeric id, or an email or username."""
    if isinstance(value, dict):
        if isinstance(value.get("email"), str) and value["email"].strip():
            return AnnotatorRef(email=value["email"].strip())
        # Tagwise's own Label Studio export adds the username for users without an email.
        if isinstance(value.get("username"), str) and value["username"].strip():
            return AnnotatorRef(username=value["username"].strip())
        if value.get("id") is not None:
            return AnnotatorRef(labelstudio_id=str(value["id"]))
    elif isinstance(value, int) and not isinstance(value, bool):
        return AnnotatorRef(labelstudio_id=str(value))
    elif isinstance(value, str) and value.strip():
        return AnnotatorRef(email=value.strip()) if "@" in value else AnnotatorRef(value)
    return None


class _TaskReader:
    """Reads tasks with one set of options, counting what it leaves out in ``notes``."""

    def __init__(self, errors: Errors, notes: Notes, *, unticked: str, text_key: str, control: str) -> None:
        self.errors = errors
        self.notes = notes
        self.unticked = unticked
        self.text_key = text_key
        self.control = control

    def task(self, task: Any, line: int) -> ParsedItem | None:
        errors = self.errors
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            errors.add(line, "data", "each task must be an object with a data object")
            return None
        if (where := unstorable_in(task)) is not None:
            errors.add(line, where, UNSTORABLE)
            return None
        data = task["data"]
        external_id = as_external_id(data.get("external_id", data.get("id", task.get("id"))), line, errors)
        text = as_text(data.get(self.text_key), line, errors, field_name=f"data.{self.text_key}")
        metadata = {key: value for key, value in data.items() if key not in {self.text_key, "external_id"}}
        if task.get("id") is not None:
            metadata["label_studio_task_id"] = task["id"]
        for part in ("predictions", "drafts"):
            if isinstance(task.get(part), list):
                self.notes[part] += len(task[part])
        raw_annotations = task.get("annotations", [])
        if not isinstance(raw_annotations, list):
            errors.add(line, "annotations", "must be a list")
            return None
        annotations = [self.annotation(raw, line, f"annotations[{index}]") for index, raw in enumerate(raw_annotations)]
        if external_id is None or text is None or None in annotations:
            return None
        return ParsedItem(line, external_id, text, metadata, [a for a in annotations if a is not None])

    def annotation(self, raw: Any, line: int, where: str) -> ParsedAnnotation | None:
        """One Label Studio annotation, mapped to the JSONL fields and checked by ``parse_annotation``."""
        errors = self.errors
        if not isinstance(raw, dict):
            errors.add(line, where, "must be an object")
            return None
        ok = True
        cancelled = raw.get("was_cancelled", False)
        if cancelled is not True and cancelled is not False:
            cancelled = as_flag(cancelled, line, LABEL_STUDIO_SPELLING.name(where, "skipped"), errors)
            if cancelled is None:
                cancelled, ok = False, False
        ticked: dict[str, int] = {}
        spots: dict[str, str] = {}
        results = raw.get("result", [])
        if not isinstance(results, list):
            errors.add(line, f"{where}.result", "must be a list")
            results, ok = [], False
        for index, result in enumerate(results):
            spot = f"{where}.result[{index}]"
            if not isinstance(result, dict):
                errors.add(line, spot, "must be an object")
                ok = False
                continue
            if result.get("type") != "choices" or (self.control and result.get("from_name") != self.control):
                # A comment box, a taxonomy or spans beside the choices: not labels of this project.
                self.notes["results_ignored"] += 1
                continue
            value = result.get("value")
            choices = value.get("choices") if isinstance(value, dict) else None
            if not isinstance(choices, list) or not all(isinstance(choice, str) for choice in choices):
                errors.add(line, f"{spot}.value.choices", "must be a list of label names")
                ok = False
                continue
            for choice in choices:
                ticked[choice] = 1
                spots.setdefault(choice, spot)
        if raw.get("ground_truth") is True:
            self.notes["ground_truth"] += 1
        mapping: dict[str, Any] = {
            "annotator": completed_by(raw.get("completed_by")),
            "duration_seconds": raw.get("lead_time"),
            "created_at": raw.get("created_at"),
            "updated_at": raw.get("updated_at"),
        }
        # A cancelled annotation is a skip and says nothing about any label (docs/api.md).
        if cancelled:
            mapping.update(skipped=True, skip_reason=CANCELLED)
            self.notes["cancelled"] += 1
        else:
            mapping["labels"] = ticked
        annotation = parse_annotation(mapping, line=line, where=where, errors=errors, spelling=LABEL_STUDIO_SPELLING)
        if annotation is None or not ok:
            return None
        annotation.untick_negative = self.unticked == "negative" and not annotation.skipped
        annotation.label_spots = spots
        return annotation
