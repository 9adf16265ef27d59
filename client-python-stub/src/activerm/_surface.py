"""The public calls, written once for the sync and the asyncio client.

ClientSurface and ProjectSurface hold every public method: its signature, its docstring,
and the operation (_ops) it runs. How an operation runs belongs to the flavour:
activerm.Client (_client.py) blocks on each call, activerm.aio.Client awaits it, and
activerm.aio exposes these same methods as coroutine functions (aio._awaitable). The
channel setup, deadlines and error mapping that both flavours share live here too.

Longer than 300 lines on purpose: this is the client's whole public surface, each
signature and docstring written once; most of the length is those signatures.
"""
from __future__ import annotations

import contextlib
import os
from datetime import timedelta
from typing import Any, Generic, Iterator, Sequence, TypeVar

import grpc
import numpy as np

from . import _channel, _ops
from ._checks import check_timeout
from ._errors import ActiveRmError
from ._framing import DEFAULT_CHUNK_BYTES
from ._options import FitOptions, StrategyParams
from ._service import ADD_RESPONSES_PATH
from ._types import (AddComparisonsResult, AddResponsesResult, Comparisons, DeleteComparisonsResult, FitReport,
                     PairScores, PoolUncertainty, ProjectInfo, ReleasePairsResult, Responses, RetireResponsesResult,
                     Selection, SelectionState)
from .v1 import activerm_pb2 as pb
from .v1 import activerm_pb2_grpc as pb_grpc

T = TypeVar("T")
ProjectT = TypeVar("ProjectT", bound="ProjectSurface")


class ClientSurface(Generic[ProjectT]):
    """What activerm.Client and activerm.aio.Client share; each sets the class attributes
    below and implements _run (and close and the context manager protocol)."""

    _grpc: Any  # grpc or grpc.aio: where secure_channel and insecure_channel come from
    _name: str  # "activerm.Client" or "activerm.aio.Client", for repr and messages
    _project_type: type[ProjectT]

    def __init__(
        self,
        target: str = _channel.DEFAULT_TARGET,
        *,
        timeout: float = _channel.DEFAULT_TIMEOUT_S,
        api_key: str | None = None,
        tls: bool = False,
        tls_ca_file: str | os.PathLike | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        max_message_bytes: int = _channel.DEFAULT_MAX_MESSAGE_BYTES,
        options: Sequence[tuple[str, Any]] | None = None,
    ) -> None:
        self.timeout = check_timeout(timeout)
        self.target = target
        self.max_message_bytes = max_message_bytes
        opts = _channel.channel_options(max_message_bytes, options)
        self._metadata = _channel.call_metadata(api_key)
        creds = _channel.channel_credentials(tls, tls_ca_file, credentials)
        self._channel = (self._grpc.secure_channel(target, creds, options=opts) if creds is not None
                         else self._grpc.insecure_channel(target, options=opts))
        self._stub = pb_grpc.ActiveRewardModelingServiceStub(self._channel)
        # AddResponses chunks arrive already serialized (see _framing.add_responses_chunks).
        self._raw_methods = {"AddResponses": self._channel.stream_unary(
            ADD_RESPONSES_PATH,
            request_serializer=None,
            response_deserializer=pb.AddResponsesResponse.FromString,
        )}
        self._closed = False

    def __repr__(self) -> str:
        return f"{self._name}({self.target!r}{', closed' if self._closed else ''})"

    # -- projects

    def create_project(
        self,
        project_id: str,
        embedding_dim: int,
        *,
        head: str = "linear",
        l2: float = 1.0,
        hidden_sizes: Sequence[int] | None = None,
        pending_ttl: float | timedelta | None = None,
        timeout: float | None = None,
    ) -> ProjectT:
        """Creates a project; ALREADY_EXISTS if the id is taken.

        head: "linear" or "mlp"; hidden_sizes: MLP widths (default [512, 512, 512]);
        l2: prior precision lambda, > 0. pending_ttl: default time (seconds or a timedelta)
        after which a selection's unlabeled pairs are released by themselves; None: never.
        """
        return self._run(self._handle(_ops.create_project(project_id, embedding_dim, head, l2, hidden_sizes,
                                                          pending_ttl)), timeout)

    def get_project(self, project_id: str, *, timeout: float | None = None) -> ProjectT:
        """The project with its current counters; NOT_FOUND if it does not exist."""
        return self._run(self._handle(_ops.get_project(project_id)), timeout)

    def list_projects(self, *, page_size: int | None = None, timeout: float | None = None) -> list[ProjectT]:
        """All projects in id order (every page; page_size only tunes the round trips)."""
        return self._run(self._handles(_ops.list_projects(page_size)), timeout)

    def delete_project(self, project_id: str, *, timeout: float | None = None) -> None:
        """Deletes a project and everything in it; NOT_FOUND if it does not exist."""
        return self._run(_ops.delete_project(project_id), timeout)

    # -- plumbing shared by the drivers

    def _run(self, op: _ops.Op[T], timeout: float | None) -> T:
        """Runs an operation to its result: the flavour's driver (blocking or awaited)."""
        raise NotImplementedError

    def _handle(self, op: _ops.Op[ProjectInfo]) -> _ops.Op[ProjectT]:
        info = yield from op
        return self._project_type(self, info)

    def _handles(self, op: _ops.Op[list[ProjectInfo]]) -> _ops.Op[list[ProjectT]]:
        infos = yield from op
        return [self._project_type(self, info) for info in infos]

    def _deadline(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else check_timeout(timeout)

    def _begin(self, call: _ops.Call, timeout: float | None) -> tuple[Any, float]:
        """The callable for one call and its deadline; refused once the client is closed."""
        if self._closed:
            raise ActiveRmError(grpc.StatusCode.CANCELLED,
                                f"this Client is closed; create a new {self._name}", method=call.method)
        deadline = self._deadline(timeout)
        rpc = self._raw_methods.get(call.method) or getattr(self._stub, call.method)
        return rpc, deadline

    @contextlib.contextmanager
    def _sending(self, call: _ops.Call, deadline: float) -> Iterator[Any]:
        """The request for the duration of a call; a gRPC failure becomes an ActiveRmError."""
        with call.opened() as request:
            try:
                yield request
            except grpc.RpcError as e:
                raise ActiveRmError.from_rpc_error(e, method=call.method, timeout=deadline, target=self.target) from e


class ProjectSurface:
    """What activerm.Project and activerm.aio.Project share: a handle on one project.
    ``info`` is a snapshot taken when the handle was made; ``refresh()`` reads a new one."""

    _name: str  # "activerm.Project" or "activerm.aio.Project"

    def __init__(self, client: ClientSurface, info: ProjectInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.project_id

    def __repr__(self) -> str:
        i = self.info
        return (f"{self._name}({i.project_id!r}, dim={i.embedding_dim}, head={i.head!r}, "
                f"responses={i.num_responses}, comparisons={i.num_comparisons})")

    def _run(self, op: _ops.Op[T], timeout: float | None) -> T:
        return self._client._run(op, timeout)

    def refresh(self, *, timeout: float | None = None) -> ProjectInfo:
        """Reads the project again and returns (and keeps) its new info."""
        return self._run(self._keep(_ops.get_project(self.id)), timeout)

    def _keep(self, op: _ops.Op[ProjectInfo]) -> _ops.Op[ProjectInfo]:
        self.info = yield from op
        return self.info

    def delete(self, *, timeout: float | None = None) -> None:
        return self._run(_ops.delete_project(self.id), timeout)

    # -- responses

    def add_responses(
        self,
        ids: Sequence[str] | Any,
        prompt_ids: Sequence[str] | None = None,
        embeddings: np.ndarray | None = None,
        *,
        id_column: str = "id",
        prompt_id_column: str = "prompt_id",
        embedding_column: str = "embedding",
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        progress: bool = False,
        timeout: float | None = None,
    ) -> AddResponsesResult:
        """Uploads responses: one id, one prompt id and one embedding row each.

        embeddings is an (n, D) array, float32 (float16/float64 and small ints are
        converted), finite. It streams in chunks of about chunk_bytes; the call is atomic
        (all rows are stored, or none). progress=True shows a tqdm bar (pip install
        'activerm[progress]'). Input is checked before anything is sent.

        Or one pyarrow Table / RecordBatch or Hugging Face datasets.Dataset instead of the
        three: its columns id_column, prompt_id_column (strings) and embedding_column (a
        fixed-size list of D float32, sent from the Arrow buffers without a copy); see
        activerm.integrations.arrow.
        """
        return self._run(_ops.add_responses(self.id, self.info.embedding_dim, ids, prompt_ids, embeddings,
                                            chunk_bytes, progress, (id_column, prompt_id_column, embedding_column)),
                         timeout)

    def list_responses(
        self,
        ids: Sequence[str] | None = None,
        *,
        include_embeddings: bool = False,
        include_retired: bool = True,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Responses:
        """Responses in insertion order (all pages), or exactly ``ids`` in that order
        (NOT_FOUND if one is unknown). Embeddings only when include_embeddings.
        ``.retired`` flags the retired ones; include_retired=False leaves them out
        (ignored when ids are given)."""
        return self._run(_ops.list_responses(self.id, self.info.embedding_dim, ids, include_embeddings, page_size,
                                             include_retired), timeout)

    def retire_responses(self, ids: Sequence[str], *, timeout: float | None = None) -> RetireResponsesResult:
        """Retires responses: no longer candidates of select_batch (any candidates, explicit
        pairs too), but their labels stay and they can still be scored. Atomic; NOT_FOUND
        (nothing retired) if an id is unknown; retiring twice is a no-op."""
        return self._run(_ops.retire_responses(self.id, ids), timeout)

    # -- comparisons

    def add_comparisons(
        self,
        a_ids: Sequence[str],
        b_ids: Sequence[str],
        outcomes: Sequence[str],
        annotator_ids: Sequence[str | None] | None = None,
        weights: np.ndarray | Sequence[float] | None = None,
        *,
        comparison_ids: Sequence[str | None] | None = None,
        timeout: float | None = None,
    ) -> AddComparisonsResult:
        """Adds labeled comparisons, atomically. outcomes[i] is "a" (a_ids[i] preferred),
        "b" or "tie"; weights (default 1.0) must be finite and > 0.

        comparison_ids: one id per comparison (None entries: the server assigns one); the
        result's .comparison_ids has them all. Sending an id again with the same content
        stores nothing (counted in .num_unchanged, or .num_deleted_before if it was
        deleted), so a retried call never double-counts; with other content the call is
        ALREADY_EXISTS and stores nothing.
        """
        return self._run(_ops.add_comparisons(self.id, a_ids, b_ids, outcomes, annotator_ids, weights,
                                              comparison_ids), timeout)

    def list_comparisons(
        self,
        *,
        annotator_id: str | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Comparisons:
        """All comparisons in insertion order (with their .ids), or only annotator_id's."""
        return self._run(_ops.list_comparisons(self.id, page_size, annotator_id), timeout)

    def delete_comparisons(
        self,
        ids: Sequence[str] | None = None,
        annotator_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> DeleteComparisonsResult:
        """Deletes comparisons by id, or every comparison of annotator_id (exactly one of
        the two). Atomic and durable; NOT_FOUND (nothing deleted) if an id is unknown. The
        next fit and select_batch use what remains; pairs whose label is deleted become
        candidates again."""
        return self._run(_ops.delete_comparisons(self.id, ids, annotator_id), timeout)

    # -- models

    def fit(
        self,
        *,
        seed: int = 0,
        warm_start: bool = False,
        max_iterations: int | None = None,
        tolerance: float | None = None,
        learning_rate: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        weight_decay: float | None = None,
        validation_fraction: float | None = None,
        patience: int | None = None,
        until_converged: bool = False,
        options: FitOptions | None = None,
        timeout: float | None = None,
    ) -> FitReport:
        """Fits the reward head on every comparison; returns the report of the new model version.

        Linear heads use max_iterations/tolerance; MLP heads use the others. None: server default.
        options: the same knobs as one activerm.FitOptions (0: server default), instead of
        the keywords; giving both is an InvalidInputError.
        """
        return self._run(_ops.fit(self.id, options, dict(
            seed=seed, warm_start=warm_start, max_iterations=max_iterations, tolerance=tolerance,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
            validation_fraction=validation_fraction, patience=patience, until_converged=until_converged)), timeout)

    def score(
        self,
        ids: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Rewards, float64 (n,): of stored responses by id, or of embeddings= not stored."""
        return self._run(_ops.score(self.id, self.info.embedding_dim, ids, embeddings, model_version), timeout)

    def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> PairScores:
        """P(a preferred over b) and the Laplace stddev of r_a - r_b for pairs of stored responses."""
        return self._run(_ops.score_pairs(self.id, pairs, model_version), timeout)

    def pool_uncertainty(
        self,
        *,
        num_pairs: int | None = None,
        seed: int = 0,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> PoolUncertainty:
        """How uncertain the model still is over the pool (a stopping signal): the Laplace
        variance of r_a - r_b over num_pairs (default 4096) pool pairs drawn with seed; keep the
        seed fixed across rounds so rounds differ only by the model and its labels."""
        return self._run(_ops.pool_uncertainty(self.id, num_pairs, seed, model_version), timeout)

    def select_batch(
        self,
        size: int,
        *,
        strategy: str = "greedy_dopt",
        candidates: str | Sequence[tuple[str, str]] = "cross_prompt",
        prompt_ids: Sequence[str] | None = None,
        max_candidates: int | None = None,
        seed: int = 0,
        include_labeled: bool = False,
        include_pending: bool = False,
        model_version: int | None = None,
        ridge: float | None = None,
        coreset_clusters: int | None = None,
        coreset_radius: float | None = None,
        posterior_samples: int | None = None,
        batchbald_pool: int | None = None,
        batchbald_configurations: int | None = None,
        params: StrategyParams | None = None,
        pending_ttl: float | timedelta | None = None,
        timeout: float | None = None,
    ) -> Selection:
        """Chooses the next `size` pairs to label; they become pending.

        strategy: one of "random", "max_entropy", "max_difference", "ols_dopt", "dopt",
        "past_aware_dopt", "greedy_dopt", "coreset", "bald", "batchbald", "batch_dopt", "vopt".
        candidates: "cross_prompt", "within_prompt", or explicit [(a_id, b_id), ...].
        prompt_ids: with "cross_prompt" / "within_prompt", use only responses to these prompts
        (e.g. this round's; duplicates are ignored, an unknown id is NOT_FOUND); None: every
        prompt. With explicit pairs it is a ValueError (InvalidInputError).
        Strategy knobs (None: the server's default): ridge (epsilon of ols_dopt / dopt /
        past_aware_dopt, default 1e-6 * trace / h), coreset_clusters (10), coreset_radius
        (norm of w), posterior_samples (batchbald, 256), batchbald_pool (max(1000, 10 * size)),
        batchbald_configurations (1024).
        params: the same knobs as one activerm.StrategyParams (0: server default), instead of
        the knob keywords; giving both is an InvalidInputError. A Selection's .params can be
        passed back to repeat its knobs.
        pending_ttl: seconds (or a timedelta) after which the chosen pairs still unlabeled
        are released by themselves; None: the project's pending_ttl (default: never).
        """
        return self._run(_ops.select_batch(
            self.id, size, params, dict(
                ridge=ridge, coreset_clusters=coreset_clusters, coreset_radius=coreset_radius,
                posterior_samples=posterior_samples, batchbald_pool=batchbald_pool,
                batchbald_configurations=batchbald_configurations),
            strategy=strategy, candidates=candidates, prompt_ids=prompt_ids, max_candidates=max_candidates, seed=seed,
            include_labeled=include_labeled, include_pending=include_pending, model_version=model_version,
            pending_ttl=pending_ttl), timeout)

    def get_selection(self, selection_id: str, *, timeout: float | None = None) -> Selection:
        """A stored selection, by the id SelectBatch returned."""
        return self._run(_ops.get_selection(self.id, selection_id), timeout)

    def list_selections(
        self,
        *,
        include_pairs: bool = False,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> list[Selection]:
        """Every selection, newest first, with .num_labeled / .num_pending / .num_released;
        .pairs (each with its .state) only when include_pairs."""
        return self._run(_ops.list_selections(self.id, include_pairs, page_size), timeout)

    def release_pairs(
        self,
        selection_id: str,
        pairs: Sequence[tuple[str, str]] | None = None,
        *,
        timeout: float | None = None,
    ) -> ReleasePairsResult:
        """Releases pending pairs of a selection (all of them when pairs is None; either
        orientation): they are candidates again and no longer count as information.
        NOT_FOUND (nothing released) if a pair is not in the selection. A released pair
        can still be labeled."""
        return self._run(_ops.release_pairs(self.id, selection_id, pairs), timeout)

    def export_selection_state(self, *, timeout: float | None = None) -> SelectionState:
        """What a selection computed off the server (e.g. the Spark job, spark/) needs for the
        latest model: its parameters, lambda I + F(labeled and pending) and its Cholesky factor
        (float64 (h, h) arrays), and the labeled, pending and retired ids to leave out.
        FAILED_PRECONDITION before the first fit."""
        return self._run(_ops.export_selection_state(self.id), timeout)

    def register_selection(
        self,
        pairs: Sequence[tuple[str, str]],
        scores: Sequence[float] | np.ndarray,
        *,
        model_version: int,
        computed_on: str,
        strategy: str = "greedy_dopt",
        seed: int = 0,
        num_candidates: int | None = None,
        candidates: str = "cross_prompt",
        max_candidates: int | None = None,
        ridge: float | None = None,
        pending_ttl: float | timedelta | None = None,
        new_response_ids: Sequence[str] | None = None,
        new_prompt_ids: Sequence[str] | None = None,
        new_embeddings: np.ndarray | None = None,
        timeout: float | None = None,
    ) -> Selection:
        """Stores a batch computed off the server as a selection: its pairs become pending, as
        select_batch's. model_version: the export's; if the project's latest model is another,
        FAILED_PRECONDITION and nothing is stored (export again and recompute). Ids neither
        held by the project nor sent in new_response_ids are NOT_FOUND; labeled, pending,
        retired or repeated pairs are INVALID_ARGUMENT; nothing is stored on any error.
        computed_on: 1..64 of [a-z0-9_-] (shown as Selection.computed_on). candidates:
        "cross_prompt", "within_prompt" or "explicit_pairs"; num_candidates (None: len(pairs)),
        seed, max_candidates and ridge are recorded as given.

        new_response_ids, new_prompt_ids, new_embeddings (all three or none): the rows of
        chosen responses the project does not hold yet, checked as add_responses checks them
        ((n, D) float32, finite); they are stored in the same commit as the selection, or not
        at all. Every id must be named by a pair; an id the project holds is accepted only with
        its stored prompt id and embedding, bit for bit. The request must fit the server's
        message limit (64 MiB by default): add more rows with add_responses first."""
        return self._run(_ops.register_selection(
            self.id, self.info.embedding_dim, pairs=pairs, scores=scores, model_version=model_version,
            strategy=strategy, computed_on=computed_on, seed=seed, num_candidates=num_candidates,
            candidates=candidates, max_candidates=max_candidates, ridge=ridge, pending_ttl=pending_ttl,
            new_response_ids=new_response_ids, new_prompt_ids=new_prompt_ids, new_embeddings=new_embeddings),
            timeout)
