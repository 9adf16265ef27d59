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
