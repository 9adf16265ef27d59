"""The project's comparisons as a preference dataset for reward-model and DPO trainers.

    from activerm.integrations import preferences
    preferences.to_jsonl(project, "prefs.jsonl", texts=response_texts, prompts=prompt_texts)
    ds = preferences.to_dataset(project, texts=response_texts, prompts=prompt_texts)  # 'activerm[datasets]'

Each row is TRL's explicit-prompt preference form, ``{"prompt", "chosen", "rejected"}`` (plain
strings; TRL's RewardTrainer, DPOTrainer), which is also what OpenRLHF reads with
``--prompt_key prompt --chosen_key chosen --rejected_key rejected``. Texts come from the
caller's mappings (response id -> text, prompt id -> text).

- Ties: ``ties="drop"`` (default) leaves them out. ``ties="keep"`` writes each tie twice,
  once each way: the two rows' losses add up to the Bradley–Terry loss of a tie (label 1/2),
  so a trainer that knows no ties still learns "equally good" from them.
- Cross-prompt comparisons (two responses to different prompts, which activerm selects by
  default) have no single prompt, so the explicit-prompt form cannot hold them: they are left
  out and counted (``num_cross_prompt``).
- ``margin="reward"`` adds a ``margin`` column, r(chosen) - r(rejected) under the project's
  latest model (TRL's RewardTrainer uses it in its loss); a kept tie has margin 0.
- ``with_ids=True`` adds ``prompt_id``, ``chosen_id``, ``rejected_id`` and ``annotator_id``.

A comparison's weight is not written (the formats have no weight column); every comparison is
one row (two for a kept tie), in the order the server stored them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from .._errors import FieldViolation, InvalidInputError, invalid
from . import require


@dataclass(frozen=True)
class PreferenceRows:
    rows: list[dict[str, Any]] = field(repr=False)
    num_comparisons: int  # comparisons read from the project
    num_ties: int  # ties among them (dropped, or written twice with ties="keep")
    num_cross_prompt: int  # comparisons of responses to different prompts (left out)

    def __len__(self) -> int:
        return len(self.rows)


def preference_rows(
    project: Any,
    *,
    texts: Mapping[str, str],
    prompts: Mapping[str, str],
    ties: str = "drop",
    margin: str | None = None,
    with_ids: bool = False,
) -> PreferenceRows:
    """The rows of the preference dataset (see the module's docstring for the choices)."""
    if ties not in ("drop", "keep"):
        raise invalid("ties", f"is {ties!r}; use 'drop' or 'keep'")
    if margin not in (None, "reward"):
        raise invalid("margin", f"is {margin!r}; use None or 'reward'")
    comparisons = project.list_comparisons()
    responses = project.list_responses()
    prompt_of = dict(zip(responses.ids, responses.prompt_ids))
    keep = [i for i in range(len(comparisons)) if prompt_of[comparisons.a_ids[i]] == prompt_of[comparisons.b_ids[i]]]
    num_ties = sum(1 for i in range(len(comparisons)) if comparisons.outcomes[i] == "tie")
    if ties == "drop":
        keep = [i for i in keep if comparisons.outcomes[i] != "tie"]
    rewards = _rewards(project, comparisons, keep) if margin else {}
    rows = []
    for i in keep:
        a, b, outcome = comparisons.a_ids[i], comparisons.b_ids[i], comparisons.outcomes[i]
        orders = [(a, b), (b, a)] if outcome == "tie" else [(a, b) if outcome == "a" else (b, a)]
        for chosen, rejected in orders:
            pid = prompt_of[chosen]
            row: dict[str, Any] = {"prompt": _text(prompts, pid, "prompts"), "chosen": _text(texts, chosen, "texts"),
                                   "rejected": _text(texts, rejected, "texts")}
            if margin:
                row["margin"] = 0.0 if outcome == "tie" else rewards[chosen] - rewards[rejected]
            if with_ids:
                row.update(prompt_id=pid, chosen_id=chosen, rejected_id=rejected,
                           annotator_id=comparisons.annotator_ids[i])
            rows.append(row)
    cross = len(comparisons) - sum(
        1 for i in range(len(comparisons)) if prompt_of[comparisons.a_ids[i]] == prompt_of[comparisons.b_ids[i]])
    return PreferenceRows(rows=rows, num_comparisons=len(comparisons), num_ties=num_ties, num_cross_prompt=cross)


def to_jsonl(project: Any, path: str | os.PathLike, **options: Any) -> PreferenceRows:
    """Writes the rows as JSON Lines (UTF-8, one object per line) and returns them with the counts.
    The file is written to path + ".tmp" and renamed, so a reader never sees half of it."""
    out = preference_rows(project, **options)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in out.rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
    os.replace(tmp, path)
    return out


def to_dataset(project: Any, **options: Any) -> Any:
    """The rows as a Hugging Face ``datasets.Dataset`` (pip install 'activerm[datasets]')."""
    datasets = require("datasets", "datasets", "preferences.to_dataset")
    out = preference_rows(project, **options)
    names = ["prompt", "chosen", "rejected"]
    if options.get("margin"):
        names.append("margin")
    if options.get("with_ids"):
        names += ["prompt_id", "chosen_id", "rejected_id", "annotator_id"]
    features = datasets.Features({n: datasets.Value("float64" if n == "margin" else "string") for n in names})
    return datasets.Dataset.from_dict({n: [r[n] for r in out.rows] for n in names}, features=features)


def _rewards(project: Any, comparisons: Any, keep: list[int]) -> dict[str, float]:
    ids = sorted({x for i in keep for x in (comparisons.a_ids[i], comparisons.b_ids[i])})
    if not ids:
        return {}
    if project.refresh().latest_model_version == 0:
        raise invalid("margin", "is 'reward' but the project has no fitted model; call project.fit() first "
                                "or leave margin out")
    return dict(zip(ids, np.asarray(project.score(ids), dtype=np.float64).tolist()))


def _text(mapping: Mapping[str, str], key: str, name: str) -> str:
    try:
        value = mapping[key]
    except KeyError:
        raise InvalidInputError(f"{name} has no text for {key!r}; pass a mapping with every labeled one's text",
                                [FieldViolation(f"{name}[{key!r}]", "is missing")]) from None
    if not isinstance(value, str):
        raise invalid(f"{name}[{key!r}]", f"must be a str, got {type(value).__name__}")
    return value
