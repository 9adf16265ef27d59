"""The asyncio variant of the activerm client (grpc.aio), with the same surface as
:class:`activerm.Client`; every call is a coroutine.

    import activerm.aio
    async with activerm.aio.Client("localhost:50051") as client:
        project = await client.create_project("hh-helpful", embedding_dim=2048)
        await project.add_responses(ids, prompt_ids, embeddings)
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import grpc
import grpc.aio
import numpy as np

from . import _channel
from . import _convert as cv
from ._client import _prepare_responses, _progress_bar
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

__all__ = ["Client", "Project"]


class Client:
    """An asyncio connection to one activerm server; see :class:`activerm.Client` for the arguments.

    Create it inside a running event loop (grpc.aio channels belong to the loop that made them).
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
        self._channel = (grpc.aio.secure_channel(target, creds, options=opts) if creds is not None
                         else grpc.aio.insecure_channel(target, options=opts))
        self._stub = pb_grpc.ActiveRewardModelingServiceStub(self._channel)
        # AddResponses chunks arrive already serialized (see _convert.add_responses_chunks).
        self._add_responses = self._channel.stream_unary(
            _channel.ADD_RESPONSES_PATH,
            request_serializer=None,
            response_deserializer=pb.AddResponsesResponse.FromString,
        )
        self._closed = False

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled. Safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"activerm.aio.Client({self.target!r}{', closed' if self._closed else ''})"

    async def create_project(
        self,
        project_id: str,
        embedding_dim: int,
        *,
        head: str = "linear",
        l2: float = 1.0,
        hidden_sizes: Sequence[int] | None = None,
        timeout: float | None = None,
    ) -> "Project":
        req = cv.create_project_request(project_id, embedding_dim, head, l2, hidden_sizes)
        resp = await self._call("CreateProject", req, timeout)
        return Project(self, cv.project_info(resp.project))

    async def get_project(self, project_id: str, *, timeout: float | None = None) -> "Project":
        resp = await self._call(
            "GetProject", pb.GetProjectRequest(project_id=cv.check_id("project_id", project_id)), timeout)
        return Project(self, cv.project_info(resp.project))

    async def list_projects(self, *, page_size: int | None = None, timeout: float | None = None) -> list["Project"]:
        size = cv.check_optional_int("page_size", page_size, 1, 1000)
        out: list[Project] = []
        token = ""
        while True:
            resp = await self._call("ListProjects", pb.ListProjectsRequest(page_size=size, page_token=token), timeout)
            out.extend(Project(self, cv.project_info(p)) for p in resp.projects)
            token = resp.next_page_token
            if not token:
                return out

    async def delete_project(self, project_id: str, *, timeout: float | None = None) -> None:
        await self._call(
            "DeleteProject", pb.DeleteProjectRequest(project_id=cv.check_id("project_id", project_id)), timeout)

    def _deadline(self, timeout: float | None) -> float:
        if timeout is None:
            return self.timeout
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise invalid("timeout", f"is {timeout!r}; give a deadline in seconds, > 0")
        return float(timeout)

    def _check_open(self, method: str) -> None:
        if self._closed:
            raise ActiveRmError(grpc.StatusCode.CANCELLED,
                                "this Client is closed; create a new activerm.aio.Client", method=method)

    async def _call(self, method: str, request: Any, timeout: float | None) -> Any:
        self._check_open(method)
        deadline = self._deadline(timeout)
        try:
            return await getattr(self._stub, method)(request, timeout=deadline, metadata=self._metadata)
        except grpc.RpcError as e:
            raise ActiveRmError.from_rpc_error(e, method=method, timeout=deadline, target=self.target) from e


class Project:
    """The asyncio twin of :class:`activerm.Project`."""

    def __init__(self, client: Client, info: ProjectInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.project_id

    def __repr__(self) -> str:
        i = self.info
        return (f"activerm.aio.Project({i.project_id!r}, dim={i.embedding_dim}, head={i.head!r}, "
                f"responses={i.num_responses}, comparisons={i.num_comparisons})")

    async def refresh(self, *, timeout: float | None = None) -> ProjectInfo:
        self.info = (await self._client.get_project(self.id, timeout=timeout)).info
        return self.info

    async def delete(self, *, timeout: float | None = None) -> None:
        await self._client.delete_project(self.id, timeout=timeout)

    async def add_responses(
        self,
        ids: Sequence[str],
        prompt_ids: Sequence[str],
        embeddings: np.ndarray,
        *,
        chunk_bytes: int = cv.DEFAULT_CHUNK_BYTES,
        progress: bool = False,
        timeout: float | None = None,
    ) -> AddResponsesResult:
        x, ids_, prompts, size = _prepare_responses(self.info.embedding_dim, ids, prompt_ids, embeddings, chunk_bytes)
        client = self._client
        client._check_open("AddResponses")
        deadline = client._deadline(timeout)
        bar = _progress_bar(progress, x.shape[0])

        async def chunks():
            for chunk, rows in cv.add_responses_chunks(self.id, ids_, prompts, x, size):
                yield chunk
                if bar is not None:
                    bar.update(rows)

        try:
            resp = await client._add_responses(chunks(), timeout=deadline, metadata=client._metadata)
        except grpc.RpcError as e:
            raise ActiveRmError.from_rpc_error(e, method="AddResponses", timeout=deadline,
                                               target=client.target) from e
        finally:
            if bar is not None:
                bar.close()
        return cv.add_responses_result(resp)

    async def list_responses(
        self,
        ids: Sequence[str] | None = None,
        *,
        include_embeddings: bool = False,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> Responses:
        dim = self.info.embedding_dim
        size = cv.read_page_size(dim, include_embeddings, page_size)
        pages = []
        if ids is not None:
            wanted = cv.check_ids("ids", ids)
            for start in range(0, len(wanted), size):
                req = pb.ListResponsesRequest(project_id=self.id, response_ids=wanted[start:start + size],
                                              include_embeddings=include_embeddings)
                pages.append(await self._client._call("ListResponses", req, timeout))
        else:
            token = ""
            while True:
                req = pb.ListResponsesRequest(project_id=self.id, page_size=size, page_token=token,
                                              include_embeddings=include_embeddings)
                page = await self._client._call("ListResponses", req, timeout)
                pages.append(page)
                token = page.next_page_token
                if not token:
                    break
        return cv.responses(pages, include_embeddings, dim, "ListResponses")

    async def add_comparisons(
        self,
        a_ids: Sequence[str],
        b_ids: Sequence[str],
        outcomes: Sequence[str],
        annotator_ids: Sequence[str | None] | None = None,
        weights: np.ndarray | Sequence[float] | None = None,
        *,
        timeout: float | None = None,
    ) -> AddComparisonsResult:
        req = cv.add_comparisons_request(self.id, a_ids, b_ids, outcomes, annotator_ids, weights)
        return cv.add_comparisons_result(await self._client._call("AddComparisons", req, timeout))

    async def list_comparisons(self, *, page_size: int | None = None, timeout: float | None = None) -> Comparisons:
        size = cv.check_optional_int("page_size", page_size, 1, cv.MAX_IDS_PER_READ) or 10_000
        pages = []
        token = ""
        while True:
            page = await self._client._call(
                "ListComparisons", pb.ListComparisonsRequest(project_id=self.id, page_size=size, page_token=token),
                timeout)
            pages.append(page)
            token = page.next_page_token
            if not token:
                return cv.comparisons(pages)

    async def fit(
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
        req = cv.fit_request(
            self.id, seed=seed, warm_start=warm_start, max_iterations=max_iterations, tolerance=tolerance,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size, weight_decay=weight_decay,
            validation_fraction=validation_fraction, patience=patience)
        return cv.fit_report(await self._client._call("Fit", req, timeout))

    async def score(
        self,
        ids: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> np.ndarray:
        req = cv.score_request(self.id, ids, embeddings, self.info.embedding_dim, model_version)
        n = len(req.response_ids.ids) if req.HasField("response_ids") else req.embeddings.rows
        return cv.rewards(await self._client._call("Score", req, timeout), n, "Score")

    async def score_pairs(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        model_version: int | None = None,
        timeout: float | None = None,
    ) -> PairScores:
        req = cv.score_pairs_request(self.id, pairs, model_version)
        return cv.pair_scores(await self._client._call("Score", req, timeout))

    async def select_batch(
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
        req = cv.select_batch_request(
            self.id, size=size, strategy=strategy, candidates=candidates, prompt_ids=prompt_ids,
            max_candidates=max_candidates, seed=seed, include_labeled=include_labeled,
            include_pending=include_pending, model_version=model_version,
            params=cv.strategy_params(
                ridge=ridge, coreset_clusters=coreset_clusters, coreset_radius=coreset_radius,
                posterior_samples=posterior_samples, batchbald_pool=batchbald_pool,
                batchbald_configurations=batchbald_configurations))
        return cv.selection((await self._client._call("SelectBatch", req, timeout)).selection)

    async def get_selection(self, selection_id: str, *, timeout: float | None = None) -> Selection:
        req = pb.GetSelectionRequest(project_id=self.id, selection_id=cv.check_id("selection_id", selection_id))
        return cv.selection((await self._client._call("GetSelection", req, timeout)).selection)
