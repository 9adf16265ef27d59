# mypy: disable-error-code="assignment"
# (each method below replaces the sync surface method of the same name by its coroutine form)
"""The asyncio variant of the activerm client (grpc.aio), with the same surface as
:class:`activerm.Client`; every call is a coroutine.

    import activerm.aio
    async with activerm.aio.Client("localhost:50051") as client:
        project = await client.create_project("hh-helpful", embedding_dim=2048)
        await project.add_responses(ids, prompt_ids, embeddings)

The methods are the sync client's own (``_surface``), each exposed here as a coroutine
function with the same signature and docstring; the operations they run are awaited.
"""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Concatenate, Coroutine, ParamSpec, TypeVar, cast

import grpc
import grpc.aio

from ._ops import Call, Op, Steps, T
from ._surface import ClientSurface, ProjectSurface

__all__ = ["Client", "Project"]

_S = TypeVar("_S")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _awaitable(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], Coroutine[Any, Any, _R]]:
    """A surface method as a coroutine function: same signature and docstring. On an asyncio
    client the method hands back the driver's coroutine, which this awaits."""

    @functools.wraps(method)
    async def call(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return await cast(Awaitable[_R], method(self, *args, **kwargs))

    return call


class Project(ProjectSurface):
    """The asyncio twin of :class:`activerm.Project`."""

    _name = "activerm.aio.Project"

    refresh = _awaitable(ProjectSurface.refresh)
    delete = _awaitable(ProjectSurface.delete)
    add_responses = _awaitable(ProjectSurface.add_responses)
    list_responses = _awaitable(ProjectSurface.list_responses)
    retire_responses = _awaitable(ProjectSurface.retire_responses)
    add_comparisons = _awaitable(ProjectSurface.add_comparisons)
    list_comparisons = _awaitable(ProjectSurface.list_comparisons)
    delete_comparisons = _awaitable(ProjectSurface.delete_comparisons)
    fit = _awaitable(ProjectSurface.fit)
    score = _awaitable(ProjectSurface.score)
    score_pairs = _awaitable(ProjectSurface.score_pairs)
    pool_uncertainty = _awaitable(ProjectSurface.pool_uncertainty)
    select_batch = _awaitable(ProjectSurface.select_batch)
    get_selection = _awaitable(ProjectSurface.get_selection)
    list_selections = _awaitable(ProjectSurface.list_selections)
    release_pairs = _awaitable(ProjectSurface.release_pairs)
    export_selection_state = _awaitable(ProjectSurface.export_selection_state)
    register_selection = _awaitable(ProjectSurface.register_selection)


class Client(ClientSurface[Project]):
    """An asyncio connection to one activerm server; see :class:`activerm.Client` for the arguments.

    Create it inside a running event loop (grpc.aio channels belong to the loop that made them).
    """

    _grpc = grpc.aio
    _name = "activerm.aio.Client"
    _project_type = Project

    create_project = _awaitable(ClientSurface.create_project)
    get_project = _awaitable(ClientSurface.get_project)
    list_projects = _awaitable(ClientSurface.list_projects)
    delete_project = _awaitable(ClientSurface.delete_project)

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled. Safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._channel.close()

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run(self, op: Op[T], timeout: float | None) -> T:  # type: ignore[override]
        steps = Steps(op)
        for call in steps:
            steps.reply(await self._invoke(call, timeout))
        return steps.result

    async def _invoke(self, call: Call, timeout: float | None):
        rpc, deadline = self._begin(call, timeout)
        with self._sending(call, deadline) as request:
            return await rpc(request, timeout=deadline, metadata=self._metadata)
