"""The proto enums and the strings the client speaks for them, in both directions."""
from __future__ import annotations

from .v1 import activerm_pb2 as pb

HEADS = {"linear": pb.HEAD_TYPE_LINEAR, "mlp": pb.HEAD_TYPE_MLP}
HEAD_NAMES = {pb.HEAD_TYPE_LINEAR: "linear", pb.HEAD_TYPE_MLP: "mlp", pb.HEAD_TYPE_UNSPECIFIED: "linear"}
OUTCOMES = {"a": pb.OUTCOME_A, "b": pb.OUTCOME_B, "tie": pb.OUTCOME_TIE}
OUTCOME_NAMES = {v: k for k, v in OUTCOMES.items()}
STRATEGIES = {
    name[len("STRATEGY_"):].lower(): value
    for name, value in pb.Strategy.items()
    if value != pb.STRATEGY_UNSPECIFIED
}
STRATEGY_NAMES = {v: k for k, v in STRATEGIES.items()}
CANDIDATE_SOURCE_NAMES = {
    pb.CANDIDATE_SOURCE_EXPLICIT_PAIRS: "explicit_pairs",
    pb.CANDIDATE_SOURCE_WITHIN_PROMPT: "within_prompt",
    pb.CANDIDATE_SOURCE_CROSS_PROMPT: "cross_prompt",
    pb.CANDIDATE_SOURCE_UNSPECIFIED: "unspecified",
}
PAIR_STATE_NAMES = {
    pb.PAIR_STATE_PENDING: "pending",
    pb.PAIR_STATE_LABELED: "labeled",
    pb.PAIR_STATE_RELEASED: "released",
    pb.PAIR_STATE_UNSPECIFIED: "unspecified",
}


def name_of(names: dict, value: int) -> str:
    """The client's string for an enum value; "unknown(N)" for one newer than the client."""
    return names.get(value, f"unknown({value})")
