"""Response parsing: answers from the server become the typed results of _types.

Bulk numbers become numpy arrays without element-by-element copies (np.frombuffer for
Matrix bytes); a Matrix whose bytes do not match its shape is DATA_LOSS, never a crash.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

import grpc
import numpy as np

from ._enums import CANDIDATE_SOURCE_NAMES, HEAD_NAMES, OUTCOME_NAMES, PAIR_STATE_NAMES, STRATEGY_NAMES, name_of
from ._errors import ActiveRmError, InvalidInputError
from ._options import StrategyParams
from ._types import (AddComparisonsResult, AddResponsesResult, BatchInformation, Comparisons,
                     DeleteComparisonsResult, FitReport, PairScores, PoolUncertainty, ProjectInfo, ReleasePairsResult,
                     Responses, RetireResponsesResult, ScoredPair, Selection, SelectionState)
from .v1 import activerm_pb2 as pb

_DATA_LOSS = grpc.StatusCode.DATA_LOSS


def timestamp(ts) -> datetime:
    return datetime.fromtimestamp(ts.seconds, tz=timezone.utc).replace(microsecond=ts.nanos // 1000)


def seconds(duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def ttl(duration) -> float | None:
    """A pending TTL: None when unset or zero (no expiry)."""
    s = seconds(duration)
    return s if s > 0 else None


def project_info(p: pb.Project) -> ProjectInfo:
    return ProjectInfo(
        project_id=p.project_id,
        embedding_dim=p.embedding_dim,
        head=name_of(HEAD_NAMES, p.head.type),
        hidden_sizes=tuple(p.head.hidden_sizes),
        l2=p.l2,
        create_time=timestamp(p.create_time),
        num_responses=p.num_responses,
        num_comparisons=p.num_comparisons,
        num_prompts=p.num_prompts,
        num_pending_pairs=p.num_pending_pairs,
        latest_model_version=p.latest_model_version,
        pending_ttl_s=ttl(p.pending_ttl),
        num_retired_responses=p.num_retired_responses,
    )


def matrix(m: pb.Matrix, field: str, method: str) -> np.ndarray:
    """A Matrix message as a read-only float32 (rows, cols) view of its bytes."""
    return _matrix_view(m, "<f4", "Matrix", field, method)


def float64_matrix(m: pb.Float64Matrix, field: str, method: str) -> np.ndarray:
    """A Float64Matrix message as a read-only float64 (rows, cols) view of its bytes."""
    return _matrix_view(m, "<f8", "Float64Matrix", field, method)


def _matrix_view(m, dtype: str, kind: str, field: str, method: str) -> np.ndarray:
    expected = m.rows * m.cols * np.dtype(dtype).itemsize
    if m.rows < 0 or m.cols < 0 or len(m.data) != expected:
        raise ActiveRmError(
            _DATA_LOSS,
            f"the server sent {field} of shape {m.rows} x {m.cols} with {len(m.data)} bytes "
            f"(expected {expected}); client and server disagree on the {kind} format",
            method=method,
        )
    return np.frombuffer(m.data, dtype=dtype).reshape(m.rows, m.cols)


def selection_state(r: pb.ExportSelectionStateResponse) -> SelectionState:
    method = "ExportSelectionState"
    return SelectionState(
        model_version=r.model_version,
        head=name_of(HEAD_NAMES, r.head.type),
        embedding_dim=r.embedding_dim,
        l2=r.l2,
        layer_sizes=tuple(r.layer_sizes),
        parameters=bytes(r.parameters),
        feature_dim=r.feature_dim,
        information=float64_matrix(r.information, "information", method),
        information_factor=float64_matrix(r.information_factor, "information_factor", method),
        labeled_pairs=[(p.a_id, p.b_id) for p in r.labeled_pairs],
        pending_pairs=[(p.a_id, p.b_id) for p in r.pending_pairs],
        retired_response_ids=list(r.retired_response_ids),
    )


def responses(pages: Sequence[pb.ListResponsesResponse], include_embeddings: bool, dim: int, method: str) -> Responses:
    ids: list[str] = []
    prompts: list[str] = []
    retired: list[bool] = []
    blocks: list[np.ndarray] = []
    for page in pages:
        ids.extend(page.response_ids)
        prompts.extend(page.prompt_ids)
        # A server older than retire_responses sends no flags: nothing is retired there.
        retired.extend(page.retired if len(page.retired) == len(page.response_ids)
                       else [False] * len(page.response_ids))
        if include_embeddings and len(page.response_ids):
            block = matrix(page.embeddings, "embeddings", method)
            if block.shape != (len(page.response_ids), dim):
                raise ActiveRmError(
                    _DATA_LOSS,
                    f"the server sent {block.shape[0]} x {block.shape[1]} embeddings for "
                    f"{len(page.response_ids)} ids of dimension {dim}",
                    method=method,
                )
            blocks.append(block)
    embeddings = None
    if include_embeddings:
        # One copy into a writeable native float32 array, whatever the number of pages.
        embeddings = (np.concatenate(blocks).astype(np.float32, copy=False) if blocks
                      else np.empty((0, dim), dtype=np.float32))
    return Responses(ids=ids, prompt_ids=prompts, embeddings=embeddings, retired=retired)


def comparisons(pages: Sequence[pb.ListComparisonsResponse]) -> Comparisons:
    items = [c for page in pages for c in page.comparisons]
    return Comparisons(
        a_ids=[c.a_id for c in items],
        b_ids=[c.b_id for c in items],
        outcomes=[name_of(OUTCOME_NAMES, c.outcome) for c in items],
        annotator_ids=[c.annotator_id or None for c in items],
        weights=np.fromiter((c.weight for c in items), dtype=np.float64, count=len(items)),
        create_times=[timestamp(c.create_time) for c in items],
        ids=[c.comparison_id for c in items],
    )


def add_responses_result(r: pb.AddResponsesResponse) -> AddResponsesResult:
    return AddResponsesResult(num_added=r.num_added, num_responses=r.num_responses)


def add_comparisons_result(r: pb.AddComparisonsResponse) -> AddComparisonsResult:
    return AddComparisonsResult(
        num_added=r.num_added, num_comparisons=r.num_comparisons, num_pending_resolved=r.num_pending_resolved,
        comparison_ids=list(r.comparison_ids), num_unchanged=r.num_unchanged,
        num_deleted_before=r.num_deleted_before)


def delete_comparisons_result(r: pb.DeleteComparisonsResponse) -> DeleteComparisonsResult:
    return DeleteComparisonsResult(
        num_deleted=r.num_deleted, num_already_deleted=r.num_already_deleted, num_comparisons=r.num_comparisons)


def retire_responses_result(r: pb.RetireResponsesResponse) -> RetireResponsesResult:
    return RetireResponsesResult(num_retired=r.num_retired, num_already_retired=r.num_already_retired)


def release_pairs_result(r: pb.ReleasePairsResponse) -> ReleasePairsResult:
    return ReleasePairsResult(
        num_released=r.num_released, num_not_pending=r.num_not_pending, num_pending_pairs=r.num_pending_pairs)


def fit_report(r: pb.FitResponse) -> FitReport:
    m, rep = r.model, r.model.report
    return FitReport(
        model_version=m.version,
        head=name_of(HEAD_NAMES, m.head_type),
        loss=rep.loss,
        iterations=rep.iterations,
        gradient_norm=rep.gradient_norm,
        converged=rep.converged,
        train_accuracy=rep.train_accuracy,
        validation_accuracy=rep.validation_accuracy,
        wall_time_s=seconds(rep.wall_time),
        num_comparisons=rep.num_comparisons,
        create_time=timestamp(m.create_time),
    )


def rewards(r: pb.ScoreResponse, expected: int, method: str) -> np.ndarray:
    out = np.fromiter(r.rewards, dtype=np.float64, count=len(r.rewards))
    if out.shape[0] != expected:
        raise ActiveRmError(_DATA_LOSS, f"asked for {expected} rewards, the server sent {out.shape[0]}",
                            method=method)
    return out


def pair_scores(r: pb.ScoreResponse) -> PairScores:
    s = r.pair_scores
    return PairScores(
        model_version=r.model_version,
        a_ids=[p.a_id for p in s],
        b_ids=[p.b_id for p in s],
        probabilities=np.fromiter((p.probability for p in s), dtype=np.float64, count=len(s)),
        reward_diff_stddevs=np.fromiter((p.reward_diff_stddev for p in s), dtype=np.float64, count=len(s)),
    )


def selection(s: pb.Selection, method: str) -> Selection:
    return Selection(
        selection_id=s.selection_id,
        model_version=s.model_version,
        strategy=name_of(STRATEGY_NAMES, s.strategy),
        seed=s.seed,
        batch_size=s.batch_size,
        num_candidates=s.num_candidates,
        pairs=[ScoredPair(p.a_id, p.b_id, p.score, name_of(PAIR_STATE_NAMES, p.state)) for p in s.pairs],
        create_time=timestamp(s.create_time),
        wall_time_s=seconds(s.wall_time),
        candidates=name_of(CANDIDATE_SOURCE_NAMES, s.candidate_source),
        num_prompts=s.num_prompts,
        max_candidates=s.max_candidates,
        include_labeled=s.include_labeled,
        include_pending=s.include_pending,
        params=strategy_params(s.params, method),
        pending_ttl_s=ttl(s.pending_ttl),
        expire_time=timestamp(s.expire_time) if s.HasField("expire_time") else None,
        num_labeled=s.num_labeled,
        num_pending=s.num_pending,
        num_released=s.num_released,
        information=BatchInformation(
            log_det_gain=s.information.log_det_gain, gain_per_label=s.information.gain_per_label,
            relative_gain_per_label=s.information.relative_gain_per_label,
            reference_selection_id=s.information.reference_selection_id) if s.HasField("information") else None,
        computed_on=s.computed_on,
    )


def pool_uncertainty(r: pb.GetPoolUncertaintyResponse) -> PoolUncertainty:
    return PoolUncertainty(
        model_version=r.model_version, num_pairs=r.num_pairs, mean_variance=r.mean_variance,
        median_variance=r.median_variance, p90_variance=r.p90_variance, max_variance=r.max_variance,
        mean_bernoulli_variance=r.mean_bernoulli_variance)


def strategy_params(p: pb.StrategyParams, method: str) -> StrategyParams:
    try:
        return StrategyParams(
            ridge=p.ridge, coreset_clusters=p.coreset_clusters, coreset_radius=p.coreset_radius,
            posterior_samples=p.posterior_samples, batchbald_pool=p.batchbald_pool,
            batchbald_configurations=p.batchbald_configurations)
    except InvalidInputError as e:  # the server checks the same ranges, so this means a broken answer
        raise ActiveRmError(_DATA_LOSS, f"the server sent strategy params outside their documented ranges: "
                                        f"{e.message}", method=method) from None

