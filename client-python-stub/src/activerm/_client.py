"""The synchronous activerm client."""
from __future__ import annotations

import os
import warnings
from typing import Any, Sequence

import grpc
import numpy as np

from . import _channel
from . import _convert as cv
from ._errors import ActiveRmError, invalid
from ._types import (
    AddComparisonsResult,
    AddResponsesResult,
    Comparisons,
    FitReport,
    PairScores,
    ProjectInfo,
    Responses,
    Selection,
)
from .v1 import activerm_pb2 as pb
from .v1 import activerm_pb2_grpc as pb_grpc


class Client:
    """A connection to one activerm server.

    >>> with activerm.Client("localhost:50051") as client:
    ...     project = client.create_project("hh-helpful", embedding_dim=2048)

    Args:
        target: ``host:port`` of the server.
        timeout: default deadline in seconds for every call (override per call with ``timeout=``).
        api_key: sent as ``authorization: Bearer <key>`` with every call (servers started
            with --api-keys-file; UNAUTHENTICATED without it, PERMISSION_DENIED outside its scope).
        tls: use TLS, trusting the system's CAs. tls_ca_file: use TLS, trusting this PEM
            (CA or self-signed server certificate). Plaintext when neither is given.
        credentials: ready-made ``grpc.ChannelCredentials`` instead of tls/tls_ca_file.
        max_message_bytes: largest message sent or received (the server's limit is 64 MiB by default).
        options: extra gRPC channel options, overriding the client's defaults.
    """

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
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise invalid("timeout", f"is {timeout!r}; give a deadline in seconds, > 0")
        self.target = target
        self.timeout = float(timeout)
        self.max_message_bytes = max_message_bytes
        opts = _channel.channel_options(max_message_bytes, options)
        self._metadata = _channel.call_metadata(api_key)
        creds = _channel.channel_credentials(tls, tls_ca_file, credentials)
        self._channel = (grpc.secure_channel(target, creds, options=opts) if creds is not None
                         else grpc.insecure_channel(target, options=opts))
        self._stub = pb_grpc.ActiveRewardModelingServiceStub(self._channel)
        # AddResponses chunks arrive already serialized (see _convert.add_responses_chunks).
        self._add_responses = self._channel.stream_unary(
            _channel.ADD_RESPONSES_PATH,
            request_serializer=None,
            response_deserializer=pb.AddResponsesResponse.FromString,
        )
        self._closed = False

    # -- lifecycle

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"activerm.Client({self.target!r}{', closed' if self._closed else ''})"

    # -- projects

    def create_project(
        self,
        project_id: str,
        embedding_dim: int,
        *,
        head: str = "linear",
        l2: float = 1.0,
        hidden_sizes: Sequence[int] | None = None,
        timeout: float | None = None,
    ) -> "Project":
        """Creates a project; ALREADY_EXISTS if the id is taken.

        head: "linear" or "mlp"; hidden_sizes: MLP widths (default [512, 512, 512]);
        l2: prior precision lambda, > 0.
        """
        req = cv.create_project_request(project_id, embedding_dim, head, l2, hidden_sizes)
        resp = self._call("CreateProject", req, timeout)
        return Project(self, cv.project_info(resp.project))

    def get_project(self, project_id: str, *, timeout: float | None = None) -> "Project":
        """The project with its current counters; NOT_FOUND if it does not exist."""
        resp = self._call("GetProject", pb.GetProjectRequest(project_id=cv.check_id("project_id", project_id)),
                          timeout)
        return Project(self, cv.project_info(resp.project))

    def list_projects(self, *, page_size: int | None = None, timeout: float | None = None) -> list["Project"]:
        """All projects in id order (every page; page_size only tunes the round trips)."""
        size = cv.check_optional_int("page_size", page_size, 1, 1000)
        out: list[Project] = []
        token = ""
        while True:
            resp = self._call("ListProjects", pb.ListProjectsRequest(page_size=size, page_token=token), timeout)
            out.extend(Project(self, cv.project_info(p)) for p in resp.projects)
            token = resp.next_page_token
            if not token:
                return out

    def delete_project(self, project_id: str, *, timeout: float | None = None) -> None:
        """Deletes a project and everything in it; NOT_FOUND if it does not exist."""
        self._call("DeleteProject", pb.DeleteProjectRequest(project_id=cv.check_id("project_id", project_id)),
                   timeout)

    # -- plumbing

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:
            return self.timeout
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise invalid("timeout", f"is {timeout!r}; give a deadline in seconds, > 0")
        return float(timeout)

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise ActiveRmError(grpc.StatusCode.CANCELLED,
                                "this Client is closed; create a new activerm.Client", method=method)

    def _call(self, method: str, request: Any, timeout: float | None) -> Any:
        self._check_open(method)
        deadline = self._deadline(timeout)
        try:
            return getattr(self._stub, method)(request, timeout=deadline, metadata=self._metadata)
        except grpc.RpcError as e:
            raise ActiveRmError.from_rpc_error(e, method=method, timeout=deadline, target=self.target) from e


class Project:
    """A handle on one project. ``info`` is a snapshot taken when the handle was made;
    ``refresh()`` reads a new one."""

    def __init__(self, client: Client, info: ProjectInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.project_id

    def __repr__(self) -> str:
        i = self.info
        return (f"activerm.Project({i.project_id!r}, dim={i.embedding_dim}, head={i.head!r}, "
                f"responses={i.num_responses}, comparisons={i.num_comparisons})")

    def refresh(self, *, timeout: float | None = None) -> ProjectInfo:
        """Reads the project again and returns (and keeps) its new info."""
        self.info = self._client.get_project(self.id, timeout=timeout).info
        return self.info

    def delete(self, *, timeout: float | None = None) -> None:
        self._client.delete_project(self.id, timeout=timeout)

    # -- responses

    def add_responses(
        self,
        ids: Sequence[str],
        prompt_ids: Sequence[str],
        embeddings: np.ndarray,
        *,
        chunk_bytes: int = cv.DEFAULT_CHUNK_BYTES,
        progress: bool = False,
        timeout: float | None = None,
    ) -> AddResponsesResult:
        """Uploads responses: one id, one prompt id and one embedding row each.

        embeddings is an (n, D) array, float32 (float16/float64 and small ints are
        converted), finite. It streams in chunks of about chunk_bytes; the call is atomic
        (all rows are stored, or none). progress=True shows a tqdm bar (pip install
        'activerm[progress]'). Input is checked before anything is sent.
        """
        x, ids_, prompts, size = _prepare_responses(self.info.embedding_dim, ids, prompt_ids, embeddings, chunk_bytes)
        client = self._client
        client._check_open("AddResponses")
        deadline = client._deadline(timeout)
        bar = _progress_bar(progress, x.shape[0])

        def chunks():
            for chunk, rows in cv.add_responses_chunks(self.id, ids_, prompts, x, size):
                yield chunk
                if bar is not None:
                    bar.update(rows)

        try:
            resp = client._add_responses(chunks(), timeout=deadline, metadata=client._metadata)
        except grpc.RpcError as e:
            raise ActiveRmError.from_rpc_error(e, method="AddResponses", timeout=deadline,
                                               target=client.target) from e
        finally:
            if bar is not None:
                bar.close()
        return cv.add_responses_result(resp)

    def list_responses(
        self,
        ids: Sequence[str] | None = None,
        *,
        include_embeddings: bool = False,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Responses:
        """Responses in insertion order (all pages), or exactly ``ids`` in that order
        (NOT_FOUND if one is unknown). Embeddings only when include_embeddings."""
        dim = self.info.embedding_dim
        size = cv.read_page_size(dim, include_embeddings, page_size)
        pages = []
        if ids is not None:
            wanted = cv.check_ids("ids", ids)
            for start in range(0, len(wanted), size):
                req = pb.ListResponsesRequest(project_id=self.id, response_ids=wanted[start:start + size],
                                              include_embeddings=include_embeddings)
                pages.append(self._client._call("ListResponses", req, timeout))
        else:
            token = ""
            while True:
                req = pb.ListResponsesRequest(project_id=self.id, page_size=size, page_token=token,
                                              include_embeddings=include_embeddings)
                page = self._client._call("ListResponses", req, timeout)
                pages.append(page)
                token = page.next_page_token
                if not token:
                    break
        return cv.responses(pages, include_embeddings, dim, "ListResponses")

    # -- comparisons

    def add_comparisons(
        self,
        a_ids: Sequence[str],
        b_ids: Sequence[str],
        outcomes: Sequence[str],
        annotator_ids: Sequence[str | None] | None = None,
        weights: np.ndarray | Sequence[float] | None = None,
        *,
        timeout: float | None = None,
    ) -> AddComparisonsResult:
        """Adds labeled comparisons, atomically. outcomes[i] is "a" (a_ids[i] preferred),
        "b" or "tie"; weights (default 1.0) must be finite and > 0."""
        req = cv.add_comparisons_request(self.id, a_ids, b_ids, outcomes, annotator_ids, weights)
        return cv.add_comparisons_result(self._client._call("AddComparisons", req, timeout))

    def list_comparisons(self, *, page_size: int | None = None, timeout: float | None = None) -> Comparisons:
        """All comparisons in insertion order."""
        size = cv.check_optional_int("page_size", page_size, 1, cv.MAX_IDS_PER_READ) or 10_000
        pages = []
        token = ""
        while True:
            page = self._client._call(
                "ListComparisons", pb.ListComparisonsRequest(project_id=self.id, page_size=size, page_token=token),
                timeout)
            pages.append(page)
            token = page.next_page_token
            if not token:
                return cv.comparisons(pages)

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
        timeout: float | None = None,
    ) -> FitReport:
        """Fits the reward head on every comparison; returns the report of the new model version.

        Linear heads use max_iterations/tolerance; MLP heads use the others. None: server default.
        """
        req = cv.fit_request(
            self.id, seed=seed, warm_start=warm_start, max_iterations=max_iterations, tolerance=tolerance,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
            validation_fraction=validation_fraction, patience=patience)
        return cv.fit_report(self._client._call("Fit", req, timeout))

    def score(
        self,
        ids: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        """Rewards, float64 (n,): of stored responses by id, or of embeddings= not stored."""
        req = cv.score_request(self.id, ids, embeddings, self.info.embedding_dim, model_version)
        n = len(req.response_ids.ids) if req.HasField("response_ids") else req.embeddings.rows
        return cv.rewards(self._client._call("Score", req, timeout), n, "Score")

    def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> PairScores:
        """P(a preferred over b) and the Laplace stddev of r_a - r_b for pairs of stored responses."""
        req = cv.score_pairs_request(self.id, pairs, model_version)
        return cv.pair_scores(self._client._call("Score", req, timeout))

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
        timeout: float | None = None,
    ) -> Selection:
        """Chooses the next `size` pairs to label; they become pending.

        strategy: one of "random", "max_entropy", "max_difference", "ols_dopt", "dopt",
        "past_aware_dopt", "greedy_dopt", "coreset", "bald", "batchbald".
        candidates: "cross_prompt", "within_prompt", or explicit [(a_id, b_id), ...].
        prompt_ids: with "cross_prompt" / "within_prompt", use only responses to these prompts
        (e.g. this round's; duplicates are ignored, an unknown id is NOT_FOUND); None: every
        prompt. With explicit pairs it is a ValueError (InvalidInputError).
        Strategy knobs (None: the server's default): ridge (epsilon of ols_dopt / dopt /
        past_aware_dopt, default 1e-6 * trace / h), coreset_clusters (10), coreset_radius
        (norm of w), posterior_samples (batchbald, 256), batchbald_pool (max(1000, 10 * size)),
        batchbald_configurations (1024).
        """
        req = cv.select_batch_request(
            self.id, size=size, strategy=strategy, candidates=candidates, prompt_ids=prompt_ids,
            max_candidates=max_candidates, seed=seed, include_labeled=include_labeled,
            include_pending=include_pending, model_version=model_version,
            params=cv.strategy_params(
                ridge=ridge, coreset_clusters=coreset_clusters, coreset_radius=coreset_radius,
                posterior_samples=posterior_samples, batchbald_pool=batchbald_pool,
                batchbald_configurations=batchbald_configurations))
        return cv.selection(self._client._call("SelectBatch", req, timeout).selection)

    def get_selection(self, selection_id: str, *, timeout: float | None = None) -> Selection:
        """A stored selection, by the id SelectBatch returned."""
        req = pb.GetSelectionRequest(project_id=self.id, selection_id=cv.check_id("selection_id", selection_id))
        return cv.selection(self._client._call("GetSelection", req, timeout).selection)


def _prepare_responses(dim: int, ids, prompt_ids, embeddings, chunk_bytes):
    """Every client-side check of an upload, before the first byte is sent."""
    size = cv.check_chunk_bytes(chunk_bytes)
    x = cv.as_float32_matrix("embeddings", embeddings, dim)
    n = x.shape[0]
    if n == 0:
        raise invalid("embeddings", "has no rows; there is nothing to upload")
    ids_ = cv.check_ids("ids", ids, n)
    prompts = cv.check_ids("prompt_ids", prompt_ids, n)
    return x, ids_, prompts, size


_warned_no_tqdm = False


def _progress_bar(progress: bool, total: int):
    """A tqdm bar over rows when asked for and tqdm is installed; else None."""
    global _warned_no_tqdm
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if not _warned_no_tqdm:
            warnings.warn("progress=True needs tqdm: pip install 'activerm[progress]'", stacklevel=3)
            _warned_no_tqdm = True
        return None
    return tqdm(total=total, unit="rows", unit_scale=True, desc="add_responses")


