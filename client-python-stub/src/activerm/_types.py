"""Typed results of the activerm client. Numbers that come in bulk are numpy arrays."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from ._options import StrategyParams


@dataclass(frozen=True)
class ProjectInfo:
    """A snapshot of a project and its counters (``Project.refresh()`` takes a new one)."""

    project_id: str
    embedding_dim: int
    head: str  # "linear" or "mlp"
    hidden_sizes: tuple[int, ...]  # MLP hidden widths; () for linear
    l2: float  # prior precision lambda
    create_time: datetime  # UTC
    num_responses: int
    num_comparisons: int
    num_prompts: int
    num_pending_pairs: int
    latest_model_version: int  # 0: never fitted
    pending_ttl_s: float | None = None  # default pending TTL of its selections; None: no expiry
    num_retired_responses: int = 0


@dataclass(frozen=True)
class AddResponsesResult:
    num_added: int  # rows stored by this call
    num_responses: int  # responses in the project after the call


@dataclass(frozen=True)
class AddComparisonsResult:
    num_added: int
    num_comparisons: int  # comparisons in the project after the call
    num_pending_resolved: int  # pending (selected) pairs this call labeled
    comparison_ids: list[str] = field(default_factory=list)  # one per comparison sent, given or assigned
    num_unchanged: int = 0  # ids already stored with the same content: not stored again
    num_deleted_before: int = 0  # ids of deleted comparisons with the same content: stay deleted


@dataclass(frozen=True)
class DeleteComparisonsResult:
    num_deleted: int  # comparisons this call deleted
    num_already_deleted: int  # listed ids that were deleted before
    num_comparisons: int  # comparisons in the project after the call


@dataclass(frozen=True)
class RetireResponsesResult:
    num_retired: int  # responses this call retired
    num_already_retired: int  # listed responses that were retired before


@dataclass(frozen=True)
class ReleasePairsResult:
    num_released: int  # pairs this call released
    num_not_pending: int  # pairs asked for that were already labeled, released or expired
    num_pending_pairs: int  # pending pairs in the project after the call


@dataclass(frozen=True, eq=False)
class Responses:
    """Responses read back, in insertion order (or in the order asked for)."""

    ids: list[str]
    prompt_ids: list[str]
    embeddings: np.ndarray | None  # float32 (n, D) when asked for, else None
    retired: list[bool] = field(default_factory=list)  # one per id: retired by retire_responses

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class Comparisons:
    """Labeled comparisons, in insertion order. Parallel columns, one row per comparison."""

    a_ids: list[str]
    b_ids: list[str]
    outcomes: list[str]  # "a" | "b" | "tie"
    annotator_ids: list[str | None]  # None: unknown annotator
    weights: np.ndarray  # float64 (n,)
    create_times: list[datetime]  # UTC, when the server stored each one
    ids: list[str] = field(default_factory=list)  # comparison ids (given, or assigned by the server)

    def __len__(self) -> int:
        return len(self.a_ids)


@dataclass(frozen=True)
class FitReport:
    """What a Fit did, and the model version it created."""

    model_version: int
    head: str
    loss: float  # mean weighted BT loss on the training comparisons, without the penalty
    iterations: int  # Newton iterations (linear) or epochs (mlp; Adam steps = epochs x ceil(n / min(batch, n)))
    gradient_norm: float
    converged: bool
    train_accuracy: float
    validation_accuracy: float
    wall_time_s: float
    num_comparisons: int
    create_time: datetime


@dataclass(frozen=True, eq=False)
class PairScores:
    """The model's view of pairs of stored responses, in request order."""

    model_version: int
    a_ids: list[str]
    b_ids: list[str]
    probabilities: np.ndarray  # float64 (n,): P(a preferred over b)
    reward_diff_stddevs: np.ndarray  # float64 (n,): Laplace stddev of r_a - r_b

    def __len__(self) -> int:
        return len(self.a_ids)


@dataclass(frozen=True)
class BatchInformation:
    """What a selection's batch adds to what the model already knows (a stopping signal),
    under the model it was selected with: log det(lambda I + F(labeled, pending and batch)) -
    log det(lambda I + F(labeled and pending)) in nats, per chosen pair, and per pair
    relative to the reference (the project's first measured selection)."""

    log_det_gain: float
    gain_per_label: float
    relative_gain_per_label: float
    reference_selection_id: str


@dataclass(frozen=True)
class PoolUncertainty:
    """How uncertain the model still is over the pool: the Laplace posterior variance of
    r_a - r_b over num_pairs seeded pool pairs (PairScores.reward_diff_stddevs squared),
    and the mean p (1 - p) of those pairs (0.25: all undecided)."""

    model_version: int
    num_pairs: int
    mean_variance: float
    median_variance: float
    p90_variance: float
    max_variance: float
    mean_bernoulli_variance: float


@dataclass(frozen=True)
class ScoredPair:
    a_id: str
    b_id: str
    score: float
    state: str = "unspecified"  # "pending" | "labeled" | "released", when the selection was read


@dataclass(frozen=True, eq=False)
class Selection:
    """A batch of pairs chosen by SelectBatch, in the order chosen."""

    selection_id: str
    model_version: int
    strategy: str  # e.g. "greedy_dopt"
    seed: int
    batch_size: int
    num_candidates: int
    pairs: list[ScoredPair]
    create_time: datetime
    wall_time_s: float
    candidates: str = "cross_prompt"  # "cross_prompt" | "within_prompt" | "explicit_pairs"
    num_prompts: int = 0  # distinct prompts the candidates were restricted to (prompt_ids=); 0: every prompt
    max_candidates: int = 0  # the cap used
    include_labeled: bool = False
    include_pending: bool = False
    params: StrategyParams | None = None  # the strategy knobs used, the server's defaults filled in
    pending_ttl_s: float | None = None  # the pending TTL used; None: no expiry
    expire_time: datetime | None = None  # create_time + pending TTL (UTC); None: no expiry
    num_labeled: int = 0  # of its pairs, when read: labeled,
    num_pending: int = 0  # pending,
    num_released: int = 0  # released (ReleasePairs, expired, or label deleted)
    information: BatchInformation | None = None  # None: not measured (no model yet, registered, older server)
    computed_on: str = ""  # "" for SelectBatch; what computed a registered batch (e.g. "spark")

    @property
    def a_ids(self) -> list[str]:
        return [p.a_id for p in self.pairs]

    @property
    def b_ids(self) -> list[str]:
        return [p.b_id for p in self.pairs]

    @property
    def scores(self) -> np.ndarray:
        return np.fromiter((p.score for p in self.pairs), dtype=np.float64, count=len(self.pairs))

    def __len__(self) -> int:
        return len(self.pairs)


@dataclass(frozen=True)
class SelectionState:
    """What a selection computed off the server (e.g. the Spark job) needs for the latest
    model (Project.export_selection_state); pass model_version back to register_selection."""

    model_version: int
    head: str  # "linear" or "mlp"
    embedding_dim: int
    l2: float  # prior precision lambda
    layer_sizes: tuple[int, ...]  # [D] for linear, [D, h_1, ..., h_L] for mlp
    parameters: bytes  # as the server stores them (linear: D little-endian float64 w)
    feature_dim: int  # h = dim phi
    information: np.ndarray  # lambda I + F(labeled and pending), float64 (h, h)
    information_factor: np.ndarray  # its lower Cholesky factor L, float64 (h, h)
    labeled_pairs: list[tuple[str, str]]
    pending_pairs: list[tuple[str, str]]
    retired_response_ids: list[str]
