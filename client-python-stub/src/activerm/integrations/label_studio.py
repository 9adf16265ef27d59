"""Label Studio as the annotation tool of the loop: push a selection as tasks, pull the labels back.

    from label_studio_sdk import LabelStudio            # pip install 'activerm[label-studio]'
    from activerm.integrations import label_studio

    ls = LabelStudio(base_url="http://localhost:8080", api_key=TOKEN)
    ls_project = label_studio.create_project(ls, "hh-helpful round 3")
    batch = project.select_batch(size=64)
    label_studio.push(project, batch, ls, ls_project, texts=response_texts, prompts=prompt_texts)
    ...                                                  # annotators label in Label Studio
    pulled = label_studio.pull(project, ls, ls_project)  # comparisons added, skipped pairs released
    project.fit()

One task per pair. The annotator sees two sides, A (left) and B (right), each with its prompt
and response (cross-prompt pairs answer different prompts), and picks A, B or Tie. Which of
the pair's responses is on the left is drawn per task from ``seed`` and recorded in the task's
data (``activerm_swapped``), and pull undoes it, so a preference for the left side cannot leak
into the labels. The pair's selection score is the task's prediction score, so sorting the Data
Manager by "Prediction score" shows the most informative pairs first (``activerm_rank`` is the
order the strategy chose them in).

pull is safe to repeat: each annotation becomes one comparison whose id is derived from the
annotation and its answer (``ls-<Label Studio project>-<annotation>-<a|b|tie>``), so a retried or
repeated pull adds nothing twice, and an answer changed in Label Studio replaces the old one. A task that was only skipped (every annotation cancelled) has its pair released
on the server, so the next selection can choose it again. Every annotation of a task counts
(several annotators per pair give several comparisons, each with its annotator id).

These functions take the synchronous ``activerm.Project`` and a ``label_studio_sdk.LabelStudio``
(SDK 2.x) client; nothing here imports the SDK except ``connect``.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from .._errors import FieldViolation, InvalidInputError, invalid
from .._types import Selection
from . import require

CHOICES_NAME = "preference"
# The Choices values and what they mean for the pair as shown (left = A, right = B).
CHOICE_LEFT, CHOICE_RIGHT, CHOICE_TIE = "A", "B", "Tie"

LABEL_CONFIG = f"""<View>
  <Style>.activerm-side {{ flex: 1; padding: 0 1em; }}</Style>
  <View style="display: flex;">
    <View className="activerm-side">
      <Header value="A"/>
      <Text name="prompt_left" value="$prompt_left"/>
      <Text name="response_left" value="$response_left"/>
    </View>
    <View className="activerm-side">
      <Header value="B"/>
      <Text name="prompt_right" value="$prompt_right"/>
      <Text name="response_right" value="$response_right"/>
    </View>
  </View>
  <Header value="Which response is better?"/>
  <Choices name="{CHOICES_NAME}" toName="response_left" choice="single-radio" required="true" showInline="true">
    <Choice value="{CHOICE_LEFT}"/>
    <Choice value="{CHOICE_RIGHT}"/>
    <Choice value="{CHOICE_TIE}"/>
  </Choices>
</View>
"""
"""The labeling interface: two Text sides and Choices A / B / Tie (Label Studio's Pairwise tag
has no tie). Tasks pushed here fill its ``$prompt_left`` ... ``$response_right`` variables."""


def connect(url: str, api_key: str, **kwargs: Any) -> Any:
    """A ``label_studio_sdk.LabelStudio`` client; ImportError naming the extra without the SDK."""
    sdk = require("label_studio_sdk", "label-studio", "activerm.integrations.label_studio")
    return sdk.LabelStudio(base_url=url, api_key=api_key, **kwargs)


def create_project(ls: Any, title: str, *, description: str = "", label_config: str = LABEL_CONFIG) -> int:
    """Creates a Label Studio project with the pairwise interface; returns its id."""
    return ls.projects.create(title=title, description=description, label_config=label_config).id


@dataclass(frozen=True)
class PushResult:
    task_ids: list[int]  # the Label Studio tasks created, in the selection's order
    num_already_pushed: int  # pairs of this selection already in the Label Studio project (not pushed again)


def push(
    project: Any,
    selection: Selection | str,
    ls: Any,
    ls_project_id: int,
    *,
    texts: Mapping[str, str],
    prompts: Mapping[str, str] | None = None,
    seed: int = 0,
) -> PushResult:
    """Pushes a selection's pairs as tasks into a Label Studio project (one task per pair).

    texts maps each response id to its text; prompts maps each prompt id to its text (None:
    the prompt id is shown). The left/right order of each task is drawn from seed and the
    selection id, and recorded in the task. Every text is looked up before anything is sent
    (InvalidInputError naming the missing id). Pairs of this selection already in the Label
    Studio project are not pushed again, so a retried push creates no duplicates.
    """
    sel = project.get_selection(selection) if isinstance(selection, str) else selection
    pairs = sel.pairs
    ids = sorted({i for p in pairs for i in (p.a_id, p.b_id)})
    prompt_of = dict(zip(ids, project.list_responses(ids).prompt_ids)) if ids else {}
    swapped = _swaps(sel.selection_id, seed, len(pairs))
    tasks = []
    for rank, (pair, swap) in enumerate(zip(pairs, swapped)):
        left, right = (pair.b_id, pair.a_id) if swap else (pair.a_id, pair.b_id)
        data = {
            "prompt_left": _text(prompts, prompt_of[left], "prompts", rank, fallback=True),
            "response_left": _text(texts, left, "texts", rank),
            "prompt_right": _text(prompts, prompt_of[right], "prompts", rank, fallback=True),
            "response_right": _text(texts, right, "texts", rank),
            "activerm_project": project.id,
            "activerm_selection": sel.selection_id,
            "activerm_rank": rank,
            "activerm_a_id": pair.a_id,
            "activerm_b_id": pair.b_id,
            "activerm_swapped": bool(swap),
        }
        tasks.append({"data": data, "predictions": [{
            "model_version": f"activerm {sel.strategy} model v{sel.model_version}",
            "score": float(pair.score),
            "result": [],
        }]})
    present = {(d.get("activerm_a_id"), d.get("activerm_b_id")) for d in _task_data(ls, ls_project_id)
               if d.get("activerm_project") == project.id and d.get("activerm_selection") == sel.selection_id}
    new = [t for t in tasks if (t["data"]["activerm_a_id"], t["data"]["activerm_b_id"]) not in present]
    task_ids: list[int] = []
    if new:
        task_ids = list(ls.projects.import_tasks(id=ls_project_id, request=new, return_task_ids=True).task_ids)
    return PushResult(task_ids=task_ids, num_already_pushed=len(tasks) - len(new))


@dataclass(frozen=True)
class PullResult:
    num_annotations: int  # annotations read (completed and cancelled) on this project's tasks
    num_added: int  # comparisons stored by this pull
    num_unchanged: int  # comparisons an earlier pull had stored already (same annotation, same answer)
    num_deleted_before: int  # comparisons of annotations whose label was deleted on the server: stay deleted
    num_replaced: int  # stored comparisons deleted because their annotation changed its answer or is gone
    num_skipped: int  # cancelled annotations (skips)
    num_released: int  # pairs released by this pull because their task was only skipped
    num_unreadable: int  # completed annotations without exactly one A / B / Tie choice (ignored)
    comparison_ids: list[str] = field(default_factory=list)  # one per completed annotation read


def default_annotator(user_id: Any) -> str:
    """The annotator id of a Label Studio user (``completed_by``): ``label-studio-user-<id>``."""
    return f"label-studio-user-{user_id}"


def comparison_id(ls_project_id: int, annotation_id: int, outcome: str) -> str:
    """The comparison id of an annotation's answer: ``ls-<project>-<annotation>-<a|b|tie>``. The
    same answer always maps to the same id (a repeated pull stores nothing); a changed answer
    maps to a new id, and pull deletes the old one."""
    return f"{_id_prefix(ls_project_id)}{annotation_id}-{outcome}"


def pull(
    project: Any,
    ls: Any,
    ls_project_id: int,
    *,
    annotator: Callable[[Any], str] = default_annotator,
    release_skipped: bool = True,
) -> PullResult:
    """Reads every finished annotation of this project's tasks back into comparisons.

    The left/right order is undone (the comparison is a_id vs b_id as selected); "Tie" is a
    tie. The project's comparisons from this Label Studio project then mirror its current
    annotations: new answers are added (one atomic AddComparisons, ids from comparison_id(),
    so pulling again adds nothing twice), and comparisons whose annotation changed its answer
    or was deleted in Label Studio are deleted first (so no answer ever counts twice). A label
    deleted on the server (say, a bad annotator's) stays deleted. With release_skipped, pairs
    whose tasks have only cancelled annotations are released (ReleasePairs): they become
    candidates again, and a skipped pair labeled later is still accepted.
    """
    _require_lifecycle(project)
    a_ids: list[str] = []
    b_ids: list[str] = []
    outcomes: list[str] = []
    annotators: list[str] = []
    cids: list[str] = []
    skipped_only: dict[str, list[tuple[str, str]]] = {}
    read = skipped = unreadable = 0
    for task in _tasks(ls, ls_project_id):
        data = task.data or {}
        if data.get("activerm_project") != project.id:
            continue
        a, b, swapped = data["activerm_a_id"], data["activerm_b_id"], bool(data["activerm_swapped"])
        annotations = [x if isinstance(x, dict) else x.dict() for x in task.annotations or []]
        done = 0
        for ann in annotations:
            read += 1
            if ann.get("was_cancelled"):
                skipped += 1
                continue
            choice = _choice(ann.get("result") or [])
            if choice is None:
                unreadable += 1
                continue
            done += 1
            outcome = _outcome(choice, swapped)
            a_ids.append(a)
            b_ids.append(b)
            outcomes.append(outcome)
            annotators.append(annotator(_user_id(ann.get("completed_by"))))
            cids.append(comparison_id(ls_project_id, ann["id"], outcome))
        if done == 0 and any(ann.get("was_cancelled") for ann in annotations):
            skipped_only.setdefault(data["activerm_selection"], []).append((a, b))
    prefix = _id_prefix(ls_project_id)
    current = set(cids)
    stale = [i for i in project.list_comparisons().ids if i.startswith(prefix) and i not in current]
    if stale:
        project.delete_comparisons(ids=stale)
    added = unchanged = deleted_before = 0
    if cids:
        result = project.add_comparisons(a_ids, b_ids, outcomes, annotators, comparison_ids=cids)
        if list(result.comparison_ids) != cids:
            raise RuntimeError(
                "the activerm server did not keep the comparison ids pull sent (it predates comparison ids), so "
                "pulling again would count these labels twice; upgrade the server before pulling again")
        added, unchanged, deleted_before = result.num_added, result.num_unchanged, result.num_deleted_before
    released = 0
    if release_skipped:
        for selection_id, pairs in skipped_only.items():
            released += project.release_pairs(selection_id, pairs=pairs).num_released
    return PullResult(num_annotations=read, num_added=added, num_unchanged=unchanged,
                      num_deleted_before=deleted_before, num_replaced=len(stale), num_skipped=skipped,
                      num_released=released, num_unreadable=unreadable, comparison_ids=cids)


# -- helpers


def _swaps(selection_id: str, seed: int, n: int) -> np.ndarray:
    """Per task: is the pair's b shown on the left? Fair coins from (seed, selection id), so two
    selections pushed with the same seed still get independent orders."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise invalid("seed", f"is {seed!r}; pass an int >= 0")
    digest = hashlib.sha256(selection_id.encode()).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng([seed, *words]).random(n) < 0.5


def _text(mapping: Mapping[str, str] | None, key: str, name: str, rank: int, fallback: bool = False) -> str:
    if mapping is None and fallback:
        return key
    try:
        value = mapping[key]  # type: ignore[index]
    except (KeyError, TypeError):
        what = "prompt" if name == "prompts" else "response"
        raise InvalidInputError(
            f"{name} has no text for {what} {key!r} (pair {rank} of the selection); "
            f"pass a mapping with the text of every selected {what}",
            [FieldViolation(f"{name}[{key!r}]", "is missing")]) from None
    if not isinstance(value, str):
        raise invalid(f"{name}[{key!r}]", f"must be a str, got {type(value).__name__}")
    return value


def _choice(result: list) -> str | None:
    """The one A / B / Tie choice of an annotation's result, or None."""
    picked = [c for r in result if r.get("from_name") == CHOICES_NAME and r.get("type") == "choices"
              for c in (r.get("value") or {}).get("choices", [])]
    return picked[0] if len(picked) == 1 and picked[0] in (CHOICE_LEFT, CHOICE_RIGHT, CHOICE_TIE) else None


def _outcome(choice: str, swapped: bool) -> str:
    """The comparison's outcome for a_id vs b_id, from the side the annotator picked."""
    if choice == CHOICE_TIE:
        return "tie"
    left_won = choice == CHOICE_LEFT
    return "b" if left_won == swapped else "a"


def _user_id(completed_by: Any) -> Any:
    return completed_by.get("id") if isinstance(completed_by, dict) else completed_by


def _tasks(ls: Any, ls_project_id: int) -> Iterable[Any]:
    # fields="all" includes the annotations, cancelled ones too (annotations.list leaves those out).
    return ls.tasks.list(project=ls_project_id, fields="all")


def _task_data(ls: Any, ls_project_id: int) -> Iterable[dict]:
    return (t.data or {} for t in ls.tasks.list(project=ls_project_id))


def _id_prefix(ls_project_id: int) -> str:
    return f"ls-{ls_project_id}-"


def _require_lifecycle(project: Any) -> None:
    """pull needs comparison ids (idempotent AddComparisons) and ReleasePairs: say so clearly
    instead of failing halfway with a TypeError."""
    params = inspect.signature(project.add_comparisons).parameters
    if "comparison_ids" not in params or not hasattr(project, "release_pairs"):
        raise RuntimeError(
            "label_studio.pull needs add_comparisons(..., comparison_ids=) and release_pairs(), which this "
            "activerm client lacks; upgrade the activerm package (and server) so that a repeated pull never "
            "counts a label twice")
