"""examples/label_studio_loop.py runs its loop against the test's activerm server and a real Label
Studio: every round prints, skipped pairs are released, the second pull adds nothing, and what
the activerm project holds afterwards is exactly the Label Studio annotations read back by this
test (order undone from the texts each annotator saw)."""
from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import datasets

from conftest import unique_id

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "label_studio_loop.py"


def test_label_studio_loop_runs_and_its_labels_are_the_annotations(server, client, label_studio, ls, tmp_path):
    prefix = unique_id("lsloop")
    jsonl = tmp_path / "prefs.jsonl"
    rounds = 3
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--target", server.target, "--label-studio-url", label_studio.url,
         "--label-studio-token", label_studio.token, "--prompts", "5", "--per-prompt", "3", "--dim", "4",
         "--rounds", str(rounds), "--batch", "5", "--skip-rate", "0.3", "--project-prefix", prefix,
         "--jsonl", str(jsonl), "--keep"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["round", "strategy"])
    rows = [line.split() for line in lines[header + 1:header + 1 + rounds]]
    assert [r[0] for r in rows] == [str(i) for i in range(1, rounds + 1)]
    assert rows[0][1] == "random" and all(r[1] == "greedy_dopt" for r in rows[1:])
    pushed, answered, skipped, released = (sum(int(r[k]) for r in rows) for k in (2, 3, 4, 5))
    assert pushed == answered + skipped and skipped > 0 and released == skipped
    assert math.isfinite(float(rows[-1][7]))
    assert lines[header + 1 + rounds] == f"pull again: added 0, unchanged {answered}"

    project = next(p for p in client.list_projects() if p.id.startswith(prefix))
    ls_project = next(p for p in ls.projects.list() if p.title == project.id)
    try:
        want = []
        for task in ls.tasks.list(project=ls_project.id, fields="all"):
            d = task.data
            for ann in task.annotations:
                if ann["was_cancelled"]:
                    continue
                choice = ann["result"][0]["value"]["choices"][0]
                left_is_a = d["response_left"].startswith(f"Response {d['activerm_a_id'].split('-')[1]} to prompt "
                                                          f"{d['activerm_a_id'].split('-')[0]}.")
                outcome = "tie" if choice == "Tie" else ("a" if (choice == "A") == left_is_a else "b")
                want.append((d["activerm_a_id"], d["activerm_b_id"], outcome, f"label-studio-user-{ann['completed_by']}"))
        got = project.list_comparisons()
        assert sorted(zip(got.a_ids, got.b_ids, got.outcomes, got.annotator_ids)) == sorted(want)
        assert len(want) == answered
        assert project.refresh().num_pending_pairs == 0  # labeled or released, nothing left pending

        rows_out = datasets.load_dataset("json", data_files=str(jsonl), split="train", cache_dir=str(tmp_path / "c"))
        within = [w for w in want if w[0].split("-")[0] == w[1].split("-")[0] and w[2] != "tie"]
        assert rows_out.num_rows == len(within)
        if within:
            assert rows_out.column_names == ["prompt", "chosen", "rejected"]
    finally:
        ls.projects.delete(id=ls_project.id)
        project.delete()
