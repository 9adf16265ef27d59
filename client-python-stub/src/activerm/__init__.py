"""activerm: a numpy-first client for the activerm selection server.

    import activerm
    with activerm.Client("localhost:50051") as client:
        project = client.create_project("hh-helpful", embedding_dim=2048)
        project.add_responses(ids, prompt_ids, embeddings)    # float32 (n, D)

``activerm.aio.Client`` is the asyncio variant with the same surface.
"""
from ._version import __version__
from ._client import Client, Project
from ._errors import ActiveRmError, FieldViolation, InvalidInputError
from ._options import FitOptions, StrategyParams
from ._types import (
    AddComparisonsResult,
    AddResponsesResult,
    BatchInformation,
    Comparisons,
    DeleteComparisonsResult,
    FitReport,
    PairScores,
    PoolUncertainty,
    ProjectInfo,
    ReleasePairsResult,
    Responses,
    RetireResponsesResult,
    ScoredPair,
    Selection,
    SelectionState,
)

__all__ = [
    "ActiveRmError",
    "AddComparisonsResult",
    "AddResponsesResult",
    "BatchInformation",
    "Client",
    "Comparisons",
    "DeleteComparisonsResult",
    "FieldViolation",
    "FitOptions",
    "FitReport",
    "InvalidInputError",
    "PairScores",
    "PoolUncertainty",
    "Project",
    "ProjectInfo",
    "ReleasePairsResult",
    "Responses",
    "RetireResponsesResult",
    "ScoredPair",
    "Selection",
    "SelectionState",
    "StrategyParams",
    "__version__",
]
