"""Every RPC of the client, described once, for the sync and the asyncio client alike.

An operation is a generator: it checks its arguments and builds the request (_requests),
yields a Call naming the stub method, receives the server's answer at that yield, and
returns the typed result (_parse). A paged read yields one Call per page (_pages). The
sync client steps through an operation with blocking calls and the asyncio client with
awaited ones (Steps); neither knows any request or response message.

Nothing runs until the first step, so every input check happens before the client looks
at its channel, its deadline, or sends a byte.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Generator, Generic, Iterator, TypeVar

import numpy as np

from . import _parse, _requests
from ._checks import (MAX_IDS_PER_READ, check_id, check_ids, check_model_version, check_optional_int, check_seed,
                      check_upload, read_page_size)
from ._errors import invalid
from ._framing import Upload, add_responses_chunks
from ._types import (AddComparisonsResult, AddResponsesResult, Comparisons, DeleteComparisonsResult, FitReport,
                     PairScores, PoolUncertainty, ProjectInfo, ReleasePairsResult, Responses, RetireResponsesResult,
                     Selection, SelectionState)
from .integrations.arrow import columns as table_columns
from .integrations.arrow import is_table
from .v1 import activerm_pb2 as pb

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One RPC an operation asks for: the stub method (which also names it in errors) and
    its request message, or for AddResponses the Upload that streams it."""

    method: str
    request: Any

    def opened(self) -> ContextManager[Any]:
        """The request to send, for the duration of the call (an Upload's bar lives this long)."""
        return self.request if isinstance(self.request, Upload) else nullcontext(self.request)


Op = Generator[Call, Any, T]


class Steps(Generic[T]):
    """Steps through an operation: iterating gives its calls, reply() answers the last one,
    and result holds what the operation returned once the iteration ends."""

    def __init__(self, op: Op[T]) -> None:
        self._op = op
        self._answer: Any = None
        self.result: T

    def __iter__(self) -> Iterator[Call]:
        while True:
            try:
                call = self._op.send(self._answer)
            except StopIteration as done:
                self.result = done.value
                return
            self._answer = None
            yield call

    def reply(self, answer: Any) -> None:
        self._answer = answer


def _pages(method: str, request: Callable[[str], Any]) -> Op[list]:
    """Every page of a paged read: request(token) for each page until next_page_token is empty."""
    pages = []
    token = ""
    while True:
        page = yield Call(method, request(token))
        pages.append(page)
        token = page.next_page_token
        if not token:
            return pages


# -- projects


def create_project(project_id, embedding_dim, head, l2, hidden_sizes, pending_ttl=None) -> Op[ProjectInfo]:
    req = _requests.create_project(project_id, embedding_dim, head, l2, hidden_sizes, pending_ttl)
    return _parse.project_info((yield Call("CreateProject", req)).project)


def get_project(project_id) -> Op[ProjectInfo]:
    return _parse.project_info((yield Call("GetProject", _requests.get_project(project_id))).project)


def list_projects(page_size) -> Op[list[ProjectInfo]]:
    size = check_optional_int("page_size", page_size, 1, 1000)
    pages = yield from _pages("ListProjects", lambda token: pb.ListProjectsRequest(page_size=size, page_token=token))
    return [_parse.project_info(p) for page in pages for p in page.projects]


def delete_project(project_id) -> Op[None]:
    yield Call("DeleteProject", _requests.delete_project(project_id))


# -- responses and comparisons


def add_responses(project_id: str, dim: int, ids, prompt_ids, embeddings, chunk_bytes,
                  progress: bool, columns: tuple[str, str, str]) -> Op[AddResponsesResult]:
    if is_table(ids):
        if prompt_ids is not None or embeddings is not None:
            raise invalid("prompt_ids", "must be left out when the first argument is a table; name its columns "
                                        "with id_column=, prompt_id_column=, embedding_column= instead")
        ids, prompt_ids, embeddings = table_columns(ids, *columns, dim)
    x, ids_, prompts, size = check_upload(dim, ids, prompt_ids, embeddings, chunk_bytes)
    rows = len(ids_)
    upload = Upload(add_responses_chunks(project_id, ids_, prompts, x, size), rows, progress)
    return _parse.add_responses_result((yield Call("AddResponses", upload)))


def list_responses(project_id: str, dim: int, ids, include_embeddings: bool, page_size,
                   include_retired: bool = True) -> Op[Responses]:
    size = read_page_size(dim, include_embeddings, page_size)
    if ids is None:
        pages = yield from _pages("ListResponses", lambda token: pb.ListResponsesRequest(
            project_id=project_id, page_size=size, page_token=token, include_embeddings=include_embeddings,
            exclude_retired=not include_retired))
    else:
        wanted = check_ids("ids", ids)
        pages = []
        for start in range(0, len(wanted), size):
            pages.append((yield Call("ListResponses", pb.ListResponsesRequest(
                project_id=project_id, response_ids=wanted[start:start + size], include_embeddings=include_embeddings))))
    return _parse.responses(pages, include_embeddings, dim, "ListResponses")


def retire_responses(project_id: str, ids) -> Op[RetireResponsesResult]:
    req = _requests.retire_responses(project_id, ids)
    return _parse.retire_responses_result((yield Call("RetireResponses", req)))


def add_comparisons(project_id: str, a_ids, b_ids, outcomes, annotator_ids, weights,
                    comparison_ids=None) -> Op[AddComparisonsResult]:
    req = _requests.add_comparisons(project_id, a_ids, b_ids, outcomes, annotator_ids, weights, comparison_ids)
    return _parse.add_comparisons_result((yield Call("AddComparisons", req)))


def list_comparisons(project_id: str, page_size, annotator_id=None) -> Op[Comparisons]:
    size = check_optional_int("page_size", page_size, 1, MAX_IDS_PER_READ) or 10_000
    who = "" if annotator_id is None else check_id("annotator_id", annotator_id)
    pages = yield from _pages("ListComparisons", lambda token: pb.ListComparisonsRequest(
        project_id=project_id, page_size=size, page_token=token, annotator_id=who))
    return _parse.comparisons(pages)


def delete_comparisons(project_id: str, ids, annotator_id) -> Op[DeleteComparisonsResult]:
    req = _requests.delete_comparisons(project_id, ids, annotator_id)
    return _parse.delete_comparisons_result((yield Call("DeleteComparisons", req)))


# -- models and selections


def fit(project_id: str, options, keywords: dict[str, Any]) -> Op[FitReport]:
    req = _requests.fit(project_id, options, **keywords)
    return _parse.fit_report((yield Call("Fit", req)))


def score(project_id: str, dim: int, ids, embeddings, model_version) -> Op[np.ndarray]:
    req = _requests.score(project_id, ids, embeddings, dim, model_version)
    n = len(req.response_ids.ids) if req.HasField("response_ids") else req.embeddings.rows
    return _parse.rewards((yield Call("Score", req)), n, "Score")


def score_pairs(project_id: str, pairs, model_version) -> Op[PairScores]:
    req = _requests.score_pairs(project_id, pairs, model_version)
    return _parse.pair_scores((yield Call("Score", req)))


def pool_uncertainty(project_id: str, num_pairs, seed, model_version) -> Op[PoolUncertainty]:
    req = pb.GetPoolUncertaintyRequest(
        project_id=project_id, model_version=check_model_version(model_version),
        num_pairs=check_optional_int("num_pairs", num_pairs, 1, 100_000), seed=check_seed(seed))
    return _parse.pool_uncertainty((yield Call("GetPoolUncertainty", req)))


def select_batch(project_id: str, size, params, knobs: dict[str, Any], **request) -> Op[Selection]:
    req = _requests.select_batch(project_id, size=size, params=_requests.strategy_params(params, **knobs), **request)
    return _parse.selection((yield Call("SelectBatch", req)).selection, "SelectBatch")


def get_selection(project_id: str, selection_id) -> Op[Selection]:
    req = _requests.get_selection(project_id, selection_id)
    return _parse.selection((yield Call("GetSelection", req)).selection, "GetSelection")


def list_selections(project_id: str, include_pairs: bool, page_size) -> Op[list[Selection]]:
    size = check_optional_int("page_size", page_size, 1, 1000)
    pages = yield from _pages("ListSelections", lambda token: pb.ListSelectionsRequest(
        project_id=project_id, page_size=size, page_token=token, include_pairs=bool(include_pairs)))
    return [_parse.selection(s, "ListSelections") for page in pages for s in page.selections]


def release_pairs(project_id: str, selection_id, pairs) -> Op[ReleasePairsResult]:
    req = _requests.release_pairs(project_id, selection_id, pairs)
    return _parse.release_pairs_result((yield Call("ReleasePairs", req)))


def export_selection_state(project_id: str) -> Op[SelectionState]:
    req = pb.ExportSelectionStateRequest(project_id=project_id)
    return _parse.selection_state((yield Call("ExportSelectionState", req)))


def register_selection(project_id: str, dim: int, **request) -> Op[Selection]:
    req = _requests.register_selection(project_id, dim, **request)
    return _parse.selection((yield Call("RegisterSelection", req)).selection, "RegisterSelection")
