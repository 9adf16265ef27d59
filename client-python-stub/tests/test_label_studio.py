"""activerm.integrations.label_studio against a real Label Studio server (tests/label_studio_server.py,
started once per session on loopback): push makes one task per selected pair with the texts,
the recorded left/right order and the pair's score; pull reads the answers back with the order
undone, only once, and releases what was only skipped."""
from __future__ import annotations

import json

import numpy as np
import pytest

import activerm
from activerm.integrations import label_studio
from conftest import random_rows, unique_id

N = 12
IDS = [f"r{i}" for i in range(N)]
PROMPT_OF = {r: f"p{i // 3}" for i, r in enumerate(IDS)}
TEXTS = {r: f"the text of {r}" for r in IDS}
PROMPTS = {p: f"the question {p}?" for p in set(PROMPT_OF.values())}


@pytest.fixture
def pool(project):
    project.add_responses(IDS, [PROMPT_OF[r] for r in IDS], random_rows(N, seed=5))
    return project


@pytest.fixture
def ls_project(ls):
    pid = label_studio.create_project(ls, unique_id("activerm-test"))
    yield pid
    ls.projects.delete(id=pid)


def tasks_of(ls, pid):
    return sorted(ls.tasks.list(project=pid, fields="all"), key=lambda t: t.data["activerm_rank"])


def answer(ls, task, choice, user=None):
    result = [{"from_name": label_studio.CHOICES_NAME, "to_name": "response_left", "type": "choices",
               "value": {"choices": [choice]}}]
    return ls.annotations.create(id=task.id, result=result, **({"completed_by": user} if user else {}))


def test_push_makes_one_task_per_pair_with_texts_order_and_score(pool, ls, ls_project):
    batch = pool.select_batch(size=6, strategy="ols_dopt", seed=1)
    pushed = label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS, seed=3)
    assert len(pushed.task_ids) == 6 and pushed.num_already_pushed == 0
    tasks = tasks_of(ls, ls_project)
    assert [t.id for t in tasks] == pushed.task_ids
    swaps = []
    for rank, (task, pair) in enumerate(zip(tasks, batch.pairs)):
        d = task.data
        assert (d["activerm_project"], d["activerm_selection"], d["activerm_rank"]) == (pool.id, batch.selection_id, rank)
        assert (d["activerm_a_id"], d["activerm_b_id"]) == (pair.a_id, pair.b_id)
        left, right = (pair.b_id, pair.a_id) if d["activerm_swapped"] else (pair.a_id, pair.b_id)
        assert (d["response_left"], d["response_right"]) == (TEXTS[left], TEXTS[right])
        assert (d["prompt_left"], d["prompt_right"]) == (PROMPTS[PROMPT_OF[left]], PROMPTS[PROMPT_OF[right]])
        assert task.predictions_score == pytest.approx(pair.score, rel=1e-6)
        swaps.append(d["activerm_swapped"])
    assert len(set(swaps)) == 2  # this seed shows both orders (fixed seed: not a chance event)


def test_the_data_manager_sorts_by_the_selection_score(pool, ls, ls_project):
    batch = pool.select_batch(size=6, strategy="ols_dopt", seed=4)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    assert len(set(batch.scores.tolist())) > 1

    def shown(ordering):
        query = json.dumps({"ordering": [ordering]})
        return [batch.pairs[t.data["activerm_rank"]].score for t in ls.tasks.list(project=ls_project, query=query)]

    # Both directions: tasks are created in the strategy's (descending) order, so only the
    # ascending sort shows that Label Studio really sorts by the score.
    assert shown("-tasks:predictions_score") == sorted(batch.scores.tolist(), reverse=True)
    assert shown("tasks:predictions_score") == sorted(batch.scores.tolist())


def test_push_again_adds_no_duplicates(pool, ls, ls_project):
    batch = pool.select_batch(size=4, strategy="random", seed=2)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    again = label_studio.push(pool, batch.selection_id, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    assert (again.task_ids, again.num_already_pushed) == ([], 4)
    assert len(tasks_of(ls, ls_project)) == 4


def test_push_with_a_missing_text_sends_nothing(pool, ls, ls_project):
    batch = pool.select_batch(size=4, strategy="random", seed=2)
    missing = batch.pairs[2].b_id
    texts = {k: v for k, v in TEXTS.items() if k != missing}
    with pytest.raises(activerm.InvalidInputError, match=f"texts has no text for response '{missing}'"):
        label_studio.push(pool, batch, ls, ls_project, texts=texts, prompts=PROMPTS)
    assert tasks_of(ls, ls_project) == []


def test_left_right_order_is_a_fair_coin_per_task_and_depends_on_the_selection():
    a = label_studio._swaps("selection-1", 0, 4000)
    b = label_studio._swaps("selection-2", 0, 4000)
    # 4000 fair coins: the share of heads is within 0.5 +- 0.04 (5 sigma) for any fixed draw.
    assert abs(a.mean() - 0.5) < 0.04 and abs(b.mean() - 0.5) < 0.04
    assert (a != b).mean() > 0.4
    assert np.array_equal(a, label_studio._swaps("selection-1", 0, 4000))


# -- pull


@pytest.fixture
def users(ls):
    tag = unique_id("u")
    return [ls.users.create(username=f"{tag}-{k}", email=f"{tag}-{k}@example.com").id for k in range(2)]


def expected_outcome(task, choice):
    """The comparison an answer means, from what the annotator saw (the texts), not from the flags."""
    d = task.data
    if choice == "Tie":
        return "tie"
    by_text = {t: r for r, t in TEXTS.items()}
    winner = by_text[d["response_left"] if choice == "A" else d["response_right"]]
    return "a" if winner == d["activerm_a_id"] else "b"


def stored(project):
    c = project.list_comparisons()
    return {i: (a, b, o, who) for i, a, b, o, who in zip(c.ids, c.a_ids, c.b_ids, c.outcomes, c.annotator_ids)}


def test_pull_undoes_the_order_and_a_second_pull_adds_nothing(pool, ls, ls_project, users):
    batch = pool.select_batch(size=6, strategy="random", seed=7)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS, seed=1)
    tasks = tasks_of(ls, ls_project)
    assert {t.data["activerm_swapped"] for t in tasks} == {True, False}
    choices = ["A", "B", "Tie", "A", "B", "B"]
    want = {}
    for k, (task, choice) in enumerate(zip(tasks, choices)):
        ann = answer(ls, task, choice, users[k % 2])
        want[label_studio.comparison_id(ls_project, ann.id, expected_outcome(task, choice))] = (
            task.data["activerm_a_id"], task.data["activerm_b_id"], expected_outcome(task, choice),
            f"label-studio-user-{users[k % 2]}")
    first = label_studio.pull(pool, ls, ls_project)
    assert (first.num_annotations, first.num_added, first.num_unchanged, first.num_released) == (6, 6, 0, 0)
    assert stored(pool) == want
    assert pool.refresh().num_pending_pairs == 0
    again = label_studio.pull(pool, ls, ls_project)
    assert (again.num_added, again.num_unchanged, again.num_replaced) == (0, 6, 0)
    assert stored(pool) == want


def test_skipped_pairs_are_released_and_a_later_answer_still_counts(pool, ls, ls_project, users):
    batch = pool.select_batch(size=4, strategy="random", seed=8)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    tasks = tasks_of(ls, ls_project)
    for task in tasks[:2]:
        ls.annotations.create(id=task.id, result=[], was_cancelled=True, completed_by=users[0])
    for task in tasks[2:]:
        answer(ls, task, "A", users[0])
    pulled = label_studio.pull(pool, ls, ls_project)
    assert (pulled.num_added, pulled.num_skipped, pulled.num_released) == (2, 2, 2)
    sel = pool.get_selection(batch.selection_id)
    assert (sel.num_labeled, sel.num_pending, sel.num_released) == (2, 0, 2)
    assert pool.refresh().num_pending_pairs == 0
    # A second annotator answers a skipped task after all: it counts, and nothing is released twice.
    answer(ls, tasks[0], "B", users[1])
    later = label_studio.pull(pool, ls, ls_project)
    assert (later.num_added, later.num_unchanged, later.num_released) == (1, 2, 0)
    assert len(pool.list_comparisons()) == 3


def test_a_changed_answer_replaces_its_comparison(pool, ls, ls_project, users):
    batch = pool.select_batch(size=2, strategy="random", seed=9)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    tasks = tasks_of(ls, ls_project)
    ann = answer(ls, tasks[0], "A", users[0])
    answer(ls, tasks[1], "B", users[0])
    label_studio.pull(pool, ls, ls_project)
    result = [{"from_name": label_studio.CHOICES_NAME, "to_name": "response_left", "type": "choices",
               "value": {"choices": ["Tie"]}}]
    ls.annotations.update(id=ann.id, result=result)
    pulled = label_studio.pull(pool, ls, ls_project)
    assert (pulled.num_added, pulled.num_unchanged, pulled.num_replaced) == (1, 1, 1)
    rows = stored(pool)
    assert len(rows) == 2 and label_studio.comparison_id(ls_project, ann.id, "tie") in rows


def test_labels_deleted_on_the_server_stay_deleted(pool, ls, ls_project, users):
    batch = pool.select_batch(size=4, strategy="random", seed=10)
    label_studio.push(pool, batch, ls, ls_project, texts=TEXTS, prompts=PROMPTS)
    for k, task in enumerate(tasks_of(ls, ls_project)):
        answer(ls, task, "A", users[k % 2])
    label_studio.pull(pool, ls, ls_project)
    pool.delete_comparisons(annotator_id=f"label-studio-user-{users[1]}")  # a bad annotator
    pulled = label_studio.pull(pool, ls, ls_project)
    assert (pulled.num_added, pulled.num_unchanged, pulled.num_deleted_before) == (0, 2, 2)
    assert {who for *_, who in stored(pool).values()} == {f"label-studio-user-{users[0]}"}
