"""preferences: the project's comparisons as TRL / OpenRLHF preference rows, written as JSONL
and read back with the datasets library, checked row by row against the labels the test stored."""
from __future__ import annotations


import datasets
import pytest

import activerm
from activerm.integrations import preferences
from conftest import random_rows

IDS = ["r0", "r1", "r2", "r3", "r4"]
PROMPT_OF = {"r0": "p0", "r1": "p0", "r2": "p0", "r3": "p1", "r4": "p1"}
TEXTS = {i: f"response text {i} \u2713" for i in IDS}
PROMPTS = {"p0": "What is 2 + 2?", "p1": "Name a colour."}
# (a, b, outcome, annotator) as stored; the row each gives: (prompt id, chosen, rejected) or None
LABELS = [("r0", "r1", "a", "ann-1"), ("r2", "r0", "b", "ann-2"), ("r1", "r2", "tie", "ann-1"),
          ("r0", "r3", "a", None), ("r4", "r3", "b", "ann-2")]
WANT_DROP = [("p0", "r0", "r1"), ("p0", "r0", "r2"), ("p1", "r3", "r4")]  # the tie and the cross-prompt pair left out
WANT_KEEP = [("p0", "r0", "r1"), ("p0", "r0", "r2"), ("p0", "r1", "r2"), ("p0", "r2", "r1"), ("p1", "r3", "r4")]


@pytest.fixture
def labeled(project):
    project.add_responses(IDS, [PROMPT_OF[i] for i in IDS], random_rows(5, seed=11))
    a, b, outcomes, annotators = zip(*LABELS)
    project.add_comparisons(list(a), list(b), list(outcomes), list(annotators))
    return project


def expected(rows):
    return [{"prompt": PROMPTS[p], "chosen": TEXTS[c], "rejected": TEXTS[r]} for p, c, r in rows]


@pytest.mark.parametrize(("ties", "want"), [("drop", WANT_DROP), ("keep", WANT_KEEP)])
def test_jsonl_loads_with_datasets_as_the_stored_labels(labeled, tmp_path, ties, want):
    path = tmp_path / "prefs.jsonl"
    out = preferences.to_jsonl(labeled, path, texts=TEXTS, prompts=PROMPTS, ties=ties)
    assert (out.num_comparisons, out.num_ties, out.num_cross_prompt) == (5, 1, 1)
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    assert ds.to_list() == expected(want)
    assert not (tmp_path / "prefs.jsonl.tmp").exists()


def test_dataset_has_the_same_rows_ids_and_reward_margins(labeled):
    labeled.fit()
    ds = preferences.to_dataset(labeled, texts=TEXTS, prompts=PROMPTS, ties="keep", margin="reward", with_ids=True)
    assert ds.column_names == ["prompt", "chosen", "rejected", "margin", "prompt_id", "chosen_id", "rejected_id",
                               "annotator_id"]
    assert ds.features["margin"].dtype == "float64"
    rows = ds.to_list()
    assert [(r["prompt_id"], r["chosen_id"], r["rejected_id"]) for r in rows] == WANT_KEEP
    assert [r["annotator_id"] for r in rows] == ["ann-1", "ann-2", "ann-1", "ann-1", "ann-2"]
    assert [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows] == expected(WANT_KEEP)
    reward = dict(zip(IDS, labeled.score(IDS)))
    for r in rows:
        want = 0.0 if {r["chosen_id"], r["rejected_id"]} == {"r1", "r2"} else reward[r["chosen_id"]] - reward[r["rejected_id"]]
        assert r["margin"] == pytest.approx(want, abs=1e-12)
    assert any(r["margin"] != 0 for r in rows)


def test_missing_text_is_refused_and_nothing_is_written(labeled, tmp_path):
    path = tmp_path / "prefs.jsonl"
    texts = {k: v for k, v in TEXTS.items() if k != "r2"}
    with pytest.raises(activerm.InvalidInputError, match="texts has no text for 'r2'"):
        preferences.to_jsonl(labeled, path, texts=texts, prompts=PROMPTS)
    assert not path.exists()


def test_reward_margin_needs_a_fitted_model(labeled):
    with pytest.raises(activerm.InvalidInputError, match="no fitted model"):
        preferences.preference_rows(labeled, texts=TEXTS, prompts=PROMPTS, margin="reward")


@pytest.mark.parametrize(("kw", "says"), [({"ties": "half"}, "use 'drop' or 'keep'"), ({"margin": "weight"}, "use None or 'reward'")])
def test_bad_options_are_refused(labeled, kw, says):
    with pytest.raises(activerm.InvalidInputError, match=says):
        preferences.preference_rows(labeled, texts=TEXTS, prompts=PROMPTS, **kw)
