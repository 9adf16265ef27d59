"""Request builders: checked caller input in, request messages out.

Every builder checks its arguments (via _checks) before it builds anything, so a bad
argument never produces a half-sent request. AddResponses is framed by _framing instead.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from google.protobuf.duration_pb2 import Duration

from ._checks import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    as_float32_matrix,
    check_bool,
    check_column,
    check_finite_positive,
    check_float,
    check_id,
    check_ids,
    check_int,
    check_model_version,
    check_nonempty_pairs,
    check_optional_int,
    check_positive_float,
    check_prompt_ids,
    check_seed,
    check_ttl,
    check_weights,
)
from ._enums import HEADS, OUTCOMES, STRATEGIES
from ._errors import FieldViolation, InvalidInputError, invalid
from ._options import FitOptions, StrategyParams
from .v1 import activerm_pb2 as pb


def duration(field: str, seconds: Any):
    """A checked TTL as a Duration (None: unset, zero on the wire)."""
    d = Duration()
    if seconds is not None:
        d.FromMilliseconds(round(check_ttl(field, seconds) * 1000))
    return d


def create_project(project_id: Any, embedding_dim: Any, head: Any, l2: Any, hidden_sizes: Any,
                   pending_ttl: Any = None):
    head_name = head.lower() if isinstance(head, str) else head
    if head_name not in HEADS:
        raise invalid("head", f"is {head!r}; use one of {sorted(HEADS)}")
    sizes = [] if hidden_sizes is None else [
        check_int(f"hidden_sizes[{i}]", s, INT32_MIN, INT32_MAX) for i, s in enumerate(hidden_sizes)]
    return pb.CreateProjectRequest(
        project_id=check_id("project_id", project_id),
        embedding_dim=check_int("embedding_dim", embedding_dim, INT32_MIN, INT32_MAX),
        head=pb.HeadConfig(type=HEADS[head_name], hidden_sizes=sizes),
        l2=check_positive_float("l2", l2),
        pending_ttl=duration("pending_ttl", pending_ttl),
    )


def get_project(project_id: Any) -> pb.GetProjectRequest:
    return pb.GetProjectRequest(project_id=check_id("project_id", project_id))


def delete_project(project_id: Any) -> pb.DeleteProjectRequest:
    return pb.DeleteProjectRequest(project_id=check_id("project_id", project_id))


def add_comparisons(project_id: str, a_ids, b_ids, outcomes, annotator_ids, weights,
                    comparison_ids=None) -> pb.AddComparisonsRequest:
    a = check_ids("a_ids", a_ids)
    n = len(a)
    if n == 0:
        raise invalid("a_ids", "is empty; send at least one comparison")
    b = check_ids("b_ids", b_ids, n)
    outs = check_ids("outcomes", outcomes, n)
    codes = []
    for i, o in enumerate(outs):
        code = OUTCOMES.get(o.lower())
        if code is None:
            raise InvalidInputError(
                f"outcomes[{i}] is {o!r}; use 'a' (a preferred), 'b' (b preferred) or 'tie'",
                [FieldViolation(f"outcomes[{i}]", "must be 'a', 'b' or 'tie'")],
            )
        codes.append(code)
    annotators = [""] * n
    if annotator_ids is not None:
        annotators = [
            "" if x is None else check_id(f"annotator_ids[{i}]", x)
            for i, x in enumerate(check_column("annotator_ids", annotator_ids, n))
        ]
    w = np.zeros(n)  # 0 on the wire: the server's default weight 1.0
    if weights is not None:
        w = check_weights(weights, n)
    ids = [""] * n  # empty on the wire: the server assigns the id
    if comparison_ids is not None:
        ids = [
            "" if x is None else check_id(f"comparison_ids[{i}]", x)
            for i, x in enumerate(check_column("comparison_ids", comparison_ids, n))
        ]
    comps = [
        pb.Comparison(a_id=a[i], b_id=b[i], outcome=codes[i], annotator_id=annotators[i], weight=float(w[i]),
                      comparison_id=ids[i])
        for i in range(n)
    ]
    return pb.AddComparisonsRequest(project_id=project_id, comparisons=comps)


def delete_comparisons(project_id: str, ids, annotator_id) -> pb.DeleteComparisonsRequest:
    if (ids is None) == (annotator_id is None):
        raise InvalidInputError(
            "delete_comparisons() needs exactly one of ids (comparison ids) or annotator_id",
            [FieldViolation("ids", "give ids or annotator_id, not both or neither")],
        )
    if ids is not None:
        wanted = check_ids("ids", ids)
        if not wanted:
            raise invalid("ids", "is empty; list at least one comparison id")
        return pb.DeleteComparisonsRequest(project_id=project_id, comparison_ids=wanted)
    return pb.DeleteComparisonsRequest(project_id=project_id, annotator_id=check_id("annotator_id", annotator_id))


def retire_responses(project_id: str, ids) -> pb.RetireResponsesRequest:
    wanted = check_ids("ids", ids)
    if not wanted:
        raise invalid("ids", "is empty; list at least one response id")
    return pb.RetireResponsesRequest(project_id=project_id, response_ids=wanted)


def release_pairs(project_id: str, selection_id: Any, pairs) -> pb.ReleasePairsRequest:
    req = pb.ReleasePairsRequest(project_id=project_id, selection_id=check_id("selection_id", selection_id))
    if pairs is not None:
        a, b = check_nonempty_pairs("pairs", pairs)
        req.pairs.extend(pb.ResponsePair(a_id=x, b_id=y) for x, y in zip(a, b))
    return req


def fit(project_id: str, options: FitOptions | None, **keywords) -> pb.FitRequest:
    """From a FitOptions, or from fit()'s keywords when options is None."""
    k = _fit_keywords(**keywords) if options is None else _instead_of_keywords(
        "options", FitOptions, options, keywords, _FIT_KEYWORD_DEFAULTS)
    return pb.FitRequest(
        project_id=project_id, warm_start=k["warm_start"], seed=k["seed"],
        linear=pb.LinearFitOptions(max_iterations=k["max_iterations"], tolerance=k["tolerance"]),
        mlp=pb.MlpFitOptions(learning_rate=k["learning_rate"], epochs=k["epochs"], batch_size=k["batch_size"],
                             weight_decay=k["weight_decay"], validation_fraction=k["validation_fraction"],
                             patience=k["patience"], until_converged=k["until_converged"]))


_FIT_KEYWORD_DEFAULTS = {"seed": 0, "warm_start": False, "max_iterations": None, "tolerance": None,
                         "learning_rate": None, "epochs": None, "batch_size": None, "weight_decay": None,
                         "validation_fraction": None, "patience": None, "until_converged": False}


def _fit_keywords(*, seed, warm_start, max_iterations, tolerance, learning_rate, epochs, batch_size, weight_decay,
                  validation_fraction, patience, until_converged) -> dict[str, Any]:
    """fit()'s keywords, checked as they always were: None is the server's default, and an
    explicit 0 is refused where 0 on the wire would silently mean the default."""
    return dict(
        max_iterations=check_optional_int("max_iterations", max_iterations, 1, INT32_MAX),
        tolerance=0.0 if tolerance is None else check_positive_float("tolerance", tolerance),
        learning_rate=0.0 if learning_rate is None else check_positive_float("learning_rate", learning_rate),
        epochs=check_optional_int("epochs", epochs, 1, INT32_MAX),
        batch_size=check_optional_int("batch_size", batch_size, 1, INT32_MAX),
        weight_decay=0.0 if weight_decay is None else check_float("weight_decay", weight_decay),
        validation_fraction=0.0 if validation_fraction is None else check_float(
            "validation_fraction", validation_fraction),
        patience=check_optional_int("patience", patience, 1, INT32_MAX),
        until_converged=check_bool("until_converged", until_converged),
        warm_start=bool(warm_start),
        seed=check_seed(seed),
    )


def _instead_of_keywords(field: str, cls: type[Any], value: Any, keywords: dict[str, Any],
                         defaults: dict[str, Any]) -> dict[str, Any]:
    """The fields of a StrategyParams / FitOptions given as `field`; the same knobs may not
    also be given as keywords (set away from their defaults)."""
    if not isinstance(value, cls):
        raise invalid(field, f"must be an activerm.{cls.__name__}, got {type(value).__name__}")
    clash = [k for k, v in keywords.items() if not (v is defaults[k] or v == defaults[k])]
    if clash:
        raise invalid(field, f"is given together with {', '.join(k + '=' for k in clash)}; put every knob in "
                             f"the {cls.__name__}, or leave {field} out and pass them all as keywords")
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def score(project_id: str, ids, embeddings, dim: int | None, model_version) -> pb.ScoreRequest:
    if (ids is None) == (embeddings is None):
        raise InvalidInputError(
            "score() needs exactly one of ids (stored responses) or embeddings= (rows not in the pool)",
            [FieldViolation("ids", "give ids or embeddings, not both or neither")],
        )
    req = pb.ScoreRequest(project_id=project_id, model_version=check_model_version(model_version))
    if ids is not None:
        req.response_ids.ids.extend(check_ids("ids", ids))
    else:
        x = as_float32_matrix("embeddings", embeddings, dim)
        req.embeddings.CopyFrom(pb.Matrix(rows=x.shape[0], cols=x.shape[1], data=x.tobytes()))
    return req


def score_pairs(project_id: str, pairs, model_version) -> pb.ScoreRequest:
    a, b = check_nonempty_pairs("pairs", pairs)
    return pb.ScoreRequest(
        project_id=project_id,
        model_version=check_model_version(model_version),
        pairs=[pb.ResponsePair(a_id=x, b_id=y) for x, y in zip(a, b)],
    )


def strategy_params(params: StrategyParams | None, **keywords) -> pb.StrategyParams:
    """From a StrategyParams, or from select_batch()'s knob keywords when params is None."""
    if params is not None:
        return pb.StrategyParams(**_instead_of_keywords("params", StrategyParams, params, keywords,
                                                        dict.fromkeys(keywords)))
    return _strategy_keywords(**keywords)


def _strategy_keywords(*, ridge, coreset_clusters, coreset_radius, posterior_samples, batchbald_pool,
                       batchbald_configurations) -> pb.StrategyParams:
    """The knob keywords; None leaves the server's default (0 on the wire), an explicit 0 is refused."""
    return pb.StrategyParams(
        ridge=0.0 if ridge is None else check_finite_positive("ridge", ridge),
        coreset_clusters=check_optional_int("coreset_clusters", coreset_clusters, 1, 1000),
        coreset_radius=0.0 if coreset_radius is None else check_finite_positive("coreset_radius", coreset_radius),
        posterior_samples=check_optional_int("posterior_samples", posterior_samples, 1, 100_000),
        batchbald_pool=check_optional_int("batchbald_pool", batchbald_pool, 1, 1_000_000),
        batchbald_configurations=check_optional_int("batchbald_configurations", batchbald_configurations, 1, 65536),
    )


def select_batch(project_id: str, *, size, strategy, candidates, max_candidates, seed, include_labeled,
                 include_pending, model_version, params: pb.StrategyParams | None = None,
                 prompt_ids=None, pending_ttl=None) -> pb.SelectBatchRequest:
    name = strategy.lower() if isinstance(strategy, str) else strategy
    if name not in STRATEGIES:
        raise invalid("strategy", f"is {strategy!r}; use one of {sorted(STRATEGIES)}")
    cands = _candidates(candidates, prompt_ids)
    return pb.SelectBatchRequest(
        project_id=project_id,
        batch_size=check_int("size", size, INT32_MIN, INT32_MAX),
        strategy=STRATEGIES[name],
        candidates=cands,
        max_candidates=check_optional_int("max_candidates", max_candidates, 1, INT64_MAX),
        seed=check_seed(seed),
        include_labeled=bool(include_labeled),
        include_pending=bool(include_pending),
        model_version=check_model_version(model_version),
        params=params,
        pending_ttl=duration("pending_ttl", pending_ttl),
    )


def _candidates(candidates: Any, prompt_ids: Any) -> pb.Candidates:
    cands = pb.Candidates()
    if isinstance(candidates, str):
        kind = candidates.lower()
        if kind == "cross_prompt":
            source = cands.cross_prompt
        elif kind == "within_prompt":
            source = cands.within_prompt
        else:
            raise invalid("candidates", f"is {candidates!r}; use 'cross_prompt', 'within_prompt' "
                                        "or a sequence of (a_id, b_id) pairs")
        source.SetInParent()
        if prompt_ids is not None:
            source.prompt_ids.extend(check_prompt_ids(prompt_ids))
        return cands
    if prompt_ids is not None:
        raise invalid("prompt_ids", "only restricts candidates='cross_prompt' or 'within_prompt'; with explicit "
                                    "(a_id, b_id) pairs, pass only the pairs of those prompts and leave "
                                    "prompt_ids out")
    a, b = check_nonempty_pairs("candidates", candidates)
    cands.explicit_pairs.pairs.extend(pb.ResponsePair(a_id=x, b_id=y) for x, y in zip(a, b))
    return cands


def get_selection(project_id: str, selection_id: Any) -> pb.GetSelectionRequest:
    return pb.GetSelectionRequest(project_id=project_id, selection_id=check_id("selection_id", selection_id))


_COMPUTED_ON = __import__("re").compile(r"[a-z0-9_-]{1,64}")
_SOURCES = {"explicit_pairs": pb.CANDIDATE_SOURCE_EXPLICIT_PAIRS, "within_prompt": pb.CANDIDATE_SOURCE_WITHIN_PROMPT,
            "cross_prompt": pb.CANDIDATE_SOURCE_CROSS_PROMPT}


def new_response_rows(dim: int, ids, prompt_ids, embeddings) -> pb.ResponseRows | None:
    """RegisterSelection's new_responses, checked as add_responses checks an upload; None when all three are None."""
    given = [x is not None for x in (ids, prompt_ids, embeddings)]
    if not any(given):
        return None
    if not all(given):
        raise invalid("new_embeddings", "new_response_ids, new_prompt_ids and new_embeddings go together; "
                                        "give all three or none")
    x = as_float32_matrix("new_embeddings", embeddings, dim)
    if x.shape[0] == 0:
        raise invalid("new_embeddings", "has no rows; leave the three new_* arguments out instead")
    n = x.shape[0]
    return pb.ResponseRows(response_ids=check_ids("new_response_ids", ids, n),
                           prompt_ids=check_ids("new_prompt_ids", prompt_ids, n),
                           embeddings=pb.Matrix(rows=n, cols=x.shape[1], data=x.tobytes()))


def register_selection(project_id: str, dim: int, *, pairs, scores, model_version, strategy, computed_on, seed,
                       num_candidates, candidates, max_candidates, ridge, pending_ttl, new_response_ids=None,
                       new_prompt_ids=None, new_embeddings=None) -> pb.RegisterSelectionRequest:
    a, b = check_nonempty_pairs("pairs", pairs)
    rows = new_response_rows(dim, new_response_ids, new_prompt_ids, new_embeddings)
    s = np.asarray(scores, dtype=np.float64) if not isinstance(scores, (str, bytes)) else None
    if s is None or s.ndim != 1 or s.shape[0] != len(a):
        raise invalid("scores", f"must be {len(a)} numbers, one per pair (got "
                                f"{'a string' if s is None else 'shape ' + str(s.shape)})")
    if not np.all(np.isfinite(s)):
        raise invalid("scores", f"holds a NaN or Inf at index {int(np.flatnonzero(~np.isfinite(s))[0])}; "
                                "send finite scores")
    name = strategy.lower() if isinstance(strategy, str) else strategy
    if name not in STRATEGIES:
        raise invalid("strategy", f"is {strategy!r}; use one of {sorted(STRATEGIES)}")
    if not isinstance(computed_on, str) or not _COMPUTED_ON.fullmatch(computed_on):
        raise invalid("computed_on", f"is {computed_on!r}; use 1..64 characters of [a-z0-9_-], e.g. 'spark'")
    source = candidates.lower() if isinstance(candidates, str) else candidates
    if source not in _SOURCES:
        raise invalid("candidates", f"is {candidates!r}; use one of {sorted(_SOURCES)}")
    version = check_int("model_version", model_version, 1, INT64_MAX)
    n = len(a) if num_candidates is None else check_int("num_candidates", num_candidates, len(a), INT64_MAX)
    return pb.RegisterSelectionRequest(
        project_id=project_id,
        strategy=STRATEGIES[name],
        model_version=version,
        pairs=[pb.ScoredPair(a_id=x, b_id=y, score=float(v)) for x, y, v in zip(a, b, s)],
        seed=check_seed(seed),
        num_candidates=n,
        candidate_source=_SOURCES[source],
        max_candidates=check_optional_int("max_candidates", max_candidates, 0, INT64_MAX),
        pending_ttl=duration("pending_ttl", pending_ttl),
        computed_on=computed_on,
        params=pb.StrategyParams(ridge=0.0 if ridge is None else check_finite_positive("ridge", ridge)),
        new_responses=rows,
    )
