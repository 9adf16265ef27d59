"""Input checks, request building and response parsing shared by the sync and asyncio clients.

Everything numpy-shaped is checked here before a single byte is sent: dtype, ndim,
shape, finiteness, and that ids and rows line up.
"""
from __future__ import annotations

import math
import numbers
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

import grpc
import numpy as np

from ._errors import ActiveRmError, FieldViolation, InvalidInputError, invalid
from ._types import (
    AddComparisonsResult,
    AddResponsesResult,
    Comparisons,
    FitReport,
    PairScores,
    ProjectInfo,
    Responses,
    ScoredPair,
    Selection,
    StrategyParams,
)
from .v1 import activerm_pb2 as pb

MIB = 1 << 20
DEFAULT_CHUNK_BYTES = 8 * MIB
# Reads are paged so that one response stays well under the 64 MiB message limit.
READ_PAGE_BYTES = 32 * MIB
_DATA_LOSS = grpc.StatusCode.DATA_LOSS
MAX_IDS_PER_READ = 100_000
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

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
CANDIDATE_KINDS = ("cross_prompt", "within_prompt")
MAX_PROMPT_IDS = 1_000_000  # SelectBatch's Candidates.{cross,within}_prompt.prompt_ids
CANDIDATE_SOURCE_NAMES = {
    pb.CANDIDATE_SOURCE_EXPLICIT_PAIRS: "explicit_pairs",
    pb.CANDIDATE_SOURCE_WITHIN_PROMPT: "within_prompt",
    pb.CANDIDATE_SOURCE_CROSS_PROMPT: "cross_prompt",
    pb.CANDIDATE_SOURCE_UNSPECIFIED: "unspecified",
}


# ---------------------------------------------------------------------------- checks


def check_int(field: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(field, f"must be an int, got {type(value).__name__}")
    v = int(value)
    if not lo <= v <= hi:
        raise invalid(field, f"is {v}; use {lo}..{hi}")
    return v


def check_optional_int(field: str, value: Any, lo: int, hi: int) -> int:
    """None -> 0 (the proto's "use the server default")."""
    return 0 if value is None else check_int(field, value, lo, hi)


def check_float(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(field, f"must be a number, got {type(value).__name__}")
    return float(value)


def check_positive_float(field: str, value: Any) -> float:
    """For fields where 0 on the wire means "default": an explicit 0 would be silently replaced."""
    v = check_float(field, value)
    if v == 0.0:
        raise invalid(field, "is 0; it must be > 0 (leave it out to use the server's default)")
    return v


def check_finite_positive(field: str, value: Any) -> float:
    """Finite and > 0 (0 on the wire means "default", so an explicit 0 is refused too)."""
    v = check_float(field, value)
    if not (math.isfinite(v) and v > 0):
        raise invalid(field, f"is {v}; it must be finite and > 0 (leave it out to use the server's default)")
    return v


def check_id(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(field, f"must be a str, got {type(value).__name__}")
    return value


def check_ids(field: str, ids: Any, n: int | None = None) -> list[str]:
    """A sequence of str ids (list, tuple or numpy string array); never a bare str."""
    if isinstance(ids, (str, bytes)):
        raise invalid(field, "must be a sequence of ids, not a single string")
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise invalid(field, f"must be 1-D, got shape {ids.shape}")
        if ids.dtype.kind != "U" and ids.dtype != object:
            raise invalid(field, f"must hold str ids, got a numpy array of dtype {ids.dtype}")
        ids = ids.tolist()
    try:
        out = list(ids)
    except TypeError:
        raise invalid(field, f"must be a sequence of str ids, got {type(ids).__name__}") from None
    for i, x in enumerate(out):
        if not isinstance(x, str):
            raise InvalidInputError(
                f"{field}[{i}] must be a str, got {type(x).__name__} ({x!r})",
                [FieldViolation(f"{field}[{i}]", f"must be a str, got {type(x).__name__}")],
            )
    if n is not None and len(out) != n:
        raise invalid(field, f"has {len(out)} entries but there are {n} rows; give one per row")
    return out


def as_float32_matrix(field: str, x: Any, dim: int | None) -> np.ndarray:
    """Checks an (n, D) matrix and returns it as C-contiguous little-endian float32.

    Accepted: float16/32/64 (float64 is rounded to float32, the wire format) and
    integer dtypes that convert to float32 exactly (int8/16, uint8/16). Rejected: bool,
    complex, object, str, wide integers, 1-D or 3-D input, the wrong D, NaN and Inf
    (also values that overflow float32).
    """
    if not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple)):
            x = np.asarray(x)
        else:
            raise invalid(field, f"must be a numpy array of shape (n, D), got {type(x).__name__}")
    dt = x.dtype
    if dt.kind == "f":
        pass
    elif dt.kind in "iu" and np.can_cast(dt, np.float32, casting="safe"):
        pass
    else:
        raise invalid(
            field,
            f"has dtype {dt}, which does not convert safely to float32; "
            "pass float32 (or float16/float64, or int8/int16/uint8/uint16)",
        )
    if x.ndim != 2:
        raise invalid(field, f"must be 2-D (n, D), got shape {x.shape}" + (
            "; use x.reshape(1, -1) for one row" if x.ndim == 1 else ""))
    if dim is not None and x.shape[0] > 0 and x.shape[1] != dim:
        raise invalid(field, f"has {x.shape[1]} columns but the project's embedding_dim is {dim}")
    if x.shape[1] == 0 and x.shape[0] > 0:
        raise invalid(field, "has 0 columns")
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(x, dtype="<f4")
    # min and max propagate NaN and reach +-Inf, so both are finite exactly when every value
    # is; two reductions without the n x D temporary that np.isfinite(out).all() allocates.
    if out.size and not (np.isfinite(out.min()) and np.isfinite(out.max())):
        bad = np.argwhere(~np.isfinite(out))
        r, c = (int(v) for v in bad[0])
        original = x[r, c]
        what = f"{original}" if not np.isfinite(original) else f"{original} (overflows float32)"
        raise InvalidInputError(
            f"{field} must be finite; {len(bad)} values are not, the first at row {r}, column {c}: {what}",
            [FieldViolation(f"{field}[{r}, {c}]", f"is {what}; embeddings must be finite")],
        )
    return out


def check_chunk_bytes(chunk_bytes: Any) -> int:
    return check_int("chunk_bytes", chunk_bytes, 1, 60 * MIB)


def check_seed(seed: Any) -> int:
    return check_int("seed", seed, 0, UINT64_MAX)


def check_model_version(version: Any) -> int:
    return check_optional_int("model_version", version, 1, INT64_MAX)


def check_pairs(field: str, pairs: Any) -> tuple[list[str], list[str]]:
    """Pairs as a sequence of (a_id, b_id) or an (n, 2) string array."""
    if isinstance(pairs, np.ndarray):
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise invalid(field, f"must have shape (n, 2), got {pairs.shape}")
        pairs = pairs.tolist()
    if isinstance(pairs, (str, bytes)):
        raise invalid(field, "must be a sequence of (a_id, b_id) pairs")
    a_ids: list[str] = []
    b_ids: list[str] = []
    try:
        items = list(pairs)
    except TypeError:
        raise invalid(field, f"must be a sequence of (a_id, b_id) pairs, got {type(pairs).__name__}") from None
    for i, p in enumerate(items):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
            raise InvalidInputError(
                f"{field}[{i}] must be an (a_id, b_id) pair, got {p!r}",
                [FieldViolation(f"{field}[{i}]", "must be an (a_id, b_id) pair")],
            )
        a, b = p
        a_ids.append(check_id(f"{field}[{i}][0]", a))
        b_ids.append(check_id(f"{field}[{i}][1]", b))
    return a_ids, b_ids


# ---------------------------------------------------------------------------- requests


def create_project_request(project_id: Any, embedding_dim: Any, head: Any, l2: Any, hidden_sizes: Any):
    head_name = head.lower() if isinstance(head, str) else head
    if head_name not in HEADS:
        raise invalid("head", f"is {head!r}; use one of {sorted(HEADS)}")
    sizes = [] if hidden_sizes is None else [
        check_int(f"hidden_sizes[{i}]", s, -(2**31), INT32_MAX) for i, s in enumerate(hidden_sizes)]
    return pb.CreateProjectRequest(
        project_id=check_id("project_id", project_id),
        embedding_dim=check_int("embedding_dim", embedding_dim, -(2**31), INT32_MAX),
        head=pb.HeadConfig(type=HEADS[head_name], hidden_sizes=sizes),
        l2=check_positive_float("l2", l2),
    )


def add_responses_chunks(
    project_id: str, ids: list[str], prompt_ids: list[str], x: np.ndarray, chunk_bytes: int
) -> Iterator[tuple[bytes, int]]:
    """Yields (serialized AddResponsesRequest, rows in it); each chunk is about chunk_bytes.

    The bytes are exactly ``AddResponsesRequest(..., embeddings=Matrix(rows, cols,
    data=x[a:b].tobytes())).SerializeToString()`` (a test checks this), but built by
    framing the ids (serialized by protobuf) and the Matrix field by hand around the
    array's own buffer: upb's serializer copies an 8 MiB bytes field several times,
    which made it the slowest step of an upload. x must be C-contiguous little-endian
    float32 (as_float32_matrix returns that).
    """
    n, dim = x.shape
    row_bytes = dim * 4 + 64  # embedding plus a generous allowance for the two ids
    rows_per_chunk = max(1, chunk_bytes // row_bytes)
    for start in range(0, n, rows_per_chunk):
        stop = min(n, start + rows_per_chunk)
        head = pb.AddResponsesRequest(
            project_id=project_id if start == 0 else "",
            response_ids=ids[start:stop],
            prompt_ids=prompt_ids[start:stop],
        ).SerializeToString()
        data = memoryview(x[start:stop]).cast("B")
        matrix_head = b"".join((_MATRIX_ROWS, _varint(stop - start), _MATRIX_COLS, _varint(dim),
                                _MATRIX_DATA, _varint(len(data))))
        yield b"".join((head, _REQUEST_EMBEDDINGS, _varint(len(matrix_head) + len(data)), matrix_head, data)), \
            stop - start


# Protobuf wire tags: (field number << 3) | wire type; 0 = varint, 2 = length-delimited.
_REQUEST_EMBEDDINGS = bytes([(pb.AddResponsesRequest.EMBEDDINGS_FIELD_NUMBER << 3) | 2])
_MATRIX_ROWS = bytes([(pb.Matrix.ROWS_FIELD_NUMBER << 3) | 0])
_MATRIX_COLS = bytes([(pb.Matrix.COLS_FIELD_NUMBER << 3) | 0])
_MATRIX_DATA = bytes([(pb.Matrix.DATA_FIELD_NUMBER << 3) | 2])


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def add_comparisons_request(project_id: str, a_ids, b_ids, outcomes, annotator_ids, weights):
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
            for i, x in enumerate(_as_list("annotator_ids", annotator_ids, n))
        ]
    w = np.zeros(n)  # 0 on the wire: the server's default weight 1.0
    if weights is not None:
        w = _as_weight_vector(weights, n)
    comps = [
        pb.Comparison(a_id=a[i], b_id=b[i], outcome=codes[i], annotator_id=annotators[i], weight=float(w[i]))
        for i in range(n)
    ]
    return pb.AddComparisonsRequest(project_id=project_id, comparisons=comps)


def _as_list(field: str, values: Any, n: int) -> list:
    if isinstance(values, (str, bytes)):
        raise invalid(field, "must be a sequence, not a single string")
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if len(out) != n:
        raise invalid(field, f"has {len(out)} entries but there are {n} comparisons")
    return out


def _as_weight_vector(weights: Any, n: int) -> np.ndarray:
    w = np.asarray(weights)
    if w.dtype.kind not in "fiu":
        raise invalid("weights", f"has dtype {w.dtype}; pass numbers")
    if w.ndim != 1 or w.shape[0] != n:
        raise invalid("weights", f"must have shape ({n},), got {w.shape}")
    w = w.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(
            f"weights must be finite and > 0, but weights[{i}] is {w[i]} ({bad.size} of {n} are bad)",
            [FieldViolation(f"weights[{i}]", f"is {w[i]}; must be finite and > 0")],
        )
    return w


def fit_request(project_id: str, *, seed, warm_start, max_iterations, tolerance, learning_rate, epochs,
                batch_size, weight_decay, validation_fraction, patience) -> pb.FitRequest:
    linear = pb.LinearFitOptions(
        max_iterations=check_optional_int("max_iterations", max_iterations, 1, INT32_MAX),
        tolerance=0.0 if tolerance is None else check_positive_float("tolerance", tolerance),
    )
    mlp = pb.MlpFitOptions(
        learning_rate=0.0 if learning_rate is None else check_positive_float("learning_rate", learning_rate),
        epochs=check_optional_int("epochs", epochs, 1, INT32_MAX),
        batch_size=check_optional_int("batch_size", batch_size, 1, INT32_MAX),
        weight_decay=0.0 if weight_decay is None else check_float("weight_decay", weight_decay),
        validation_fraction=0.0 if validation_fraction is None else check_float(
            "validation_fraction", validation_fraction),
        patience=check_optional_int("patience", patience, 1, INT32_MAX),
    )
    return pb.FitRequest(
        project_id=project_id, warm_start=bool(warm_start), seed=check_seed(seed), linear=linear, mlp=mlp)


def score_request(project_id: str, ids, embeddings, dim: int | None, model_version) -> pb.ScoreRequest:
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


def score_pairs_request(project_id: str, pairs, model_version) -> pb.ScoreRequest:
    a, b = check_pairs("pairs", pairs)
    if not a:
        raise invalid("pairs", "is empty; give at least one (a_id, b_id) pair")
    return pb.ScoreRequest(
        project_id=project_id,
        model_version=check_model_version(model_version),
        pairs=[pb.ResponsePair(a_id=x, b_id=y) for x, y in zip(a, b)],
    )


def strategy_params(*, ridge=None, coreset_clusters=None, coreset_radius=None, posterior_samples=None,
                    batchbald_pool=None, batchbald_configurations=None) -> pb.StrategyParams:
    """The optional strategy knobs; None leaves the server's default (0 on the wire)."""
    return pb.StrategyParams(
        ridge=0.0 if ridge is None else check_finite_positive("ridge", ridge),
        coreset_clusters=check_optional_int("coreset_clusters", coreset_clusters, 1, 1000),
        coreset_radius=0.0 if coreset_radius is None else check_finite_positive("coreset_radius", coreset_radius),
        posterior_samples=check_optional_int("posterior_samples", posterior_samples, 1, 100_000),
        batchbald_pool=check_optional_int("batchbald_pool", batchbald_pool, 1, 1_000_000),
        batchbald_configurations=check_optional_int("batchbald_configurations", batchbald_configurations, 1, 65536),
    )


def check_prompt_ids(prompt_ids: Any) -> list[str]:
    """SelectBatch's prompt restriction: 1..MAX_PROMPT_IDS str ids (None, not [], means every prompt)."""
    ids = check_ids("prompt_ids", prompt_ids)
    if not ids:
        raise invalid("prompt_ids", "is empty; list at least one prompt id, or leave prompt_ids out (None) "
                                    "to draw candidates from every prompt")
    if len(ids) > MAX_PROMPT_IDS:
        raise invalid("prompt_ids", f"has {len(ids)} ids; send at most {MAX_PROMPT_IDS} "
                                    "(leave prompt_ids out to use every prompt)")
    return ids


def select_batch_request(project_id: str, *, size, strategy, candidates, max_candidates, seed, include_labeled,
                         include_pending, model_version, params: pb.StrategyParams | None = None,
                         prompt_ids=None) -> pb.SelectBatchRequest:
    name = strategy.lower() if isinstance(strategy, str) else strategy
    if name not in STRATEGIES:
        raise invalid("strategy", f"is {strategy!r}; use one of {sorted(STRATEGIES)}")
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
    else:
        if prompt_ids is not None:
            raise invalid("prompt_ids", "only restricts candidates='cross_prompt' or 'within_prompt'; with explicit "
                                        "(a_id, b_id) pairs, pass only the pairs of those prompts and leave "
                                        "prompt_ids out")
        a, b = check_pairs("candidates", candidates)
        if not a:
            raise invalid("candidates", "is empty; give at least one (a_id, b_id) pair")
        cands.explicit_pairs.pairs.extend(pb.ResponsePair(a_id=x, b_id=y) for x, y in zip(a, b))
    return pb.SelectBatchRequest(
        project_id=project_id,
        batch_size=check_int("size", size, -(2**31), INT32_MAX),
        strategy=STRATEGIES[name],
        candidates=cands,
        max_candidates=check_optional_int("max_candidates", max_candidates, 1, INT64_MAX),
        seed=check_seed(seed),
        include_labeled=bool(include_labeled),
        include_pending=bool(include_pending),
        model_version=check_model_version(model_version),
        params=params,
    )


def read_page_size(dim: int, include_embeddings: bool, page_size: Any) -> int:
    if page_size is not None:
        return check_int("page_size", page_size, 1, MAX_IDS_PER_READ)
    if not include_embeddings:
        return 10_000
    return max(1, min(MAX_IDS_PER_READ, READ_PAGE_BYTES // (dim * 4)))


# ---------------------------------------------------------------------------- responses


def timestamp(ts) -> datetime:
    return datetime.fromtimestamp(ts.seconds, tz=timezone.utc).replace(microsecond=ts.nanos // 1000)


def seconds(duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def project_info(p: pb.Project) -> ProjectInfo:
    return ProjectInfo(
        project_id=p.project_id,
        embedding_dim=p.embedding_dim,
        head=HEAD_NAMES.get(p.head.type, f"unknown({p.head.type})"),
        hidden_sizes=tuple(p.head.hidden_sizes),
        l2=p.l2,
        create_time=timestamp(p.create_time),
        num_responses=p.num_responses,
        num_comparisons=p.num_comparisons,
        num_prompts=p.num_prompts,
        num_pending_pairs=p.num_pending_pairs,
        latest_model_version=p.latest_model_version,
    )


def matrix(m: pb.Matrix, field: str, method: str) -> np.ndarray:
    """A Matrix message as a read-only float32 (rows, cols) view of its bytes."""
    expected = m.rows * m.cols * 4
    if m.rows < 0 or m.cols < 0 or len(m.data) != expected:
        raise ActiveRmError(
            _DATA_LOSS,
            f"the server sent {field} of shape {m.rows} x {m.cols} with {len(m.data)} bytes "
            f"(expected {expected}); client and server disagree on the Matrix format",
            method=method,
        )
    return np.frombuffer(m.data, dtype="<f4").reshape(m.rows, m.cols)


def responses(pages: Sequence[pb.ListResponsesResponse], include_embeddings: bool, dim: int, method: str) -> Responses:
    ids: list[str] = []
    prompts: list[str] = []
    blocks: list[np.ndarray] = []
    for page in pages:
        ids.extend(page.response_ids)
        prompts.extend(page.prompt_ids)
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
    return Responses(ids=ids, prompt_ids=prompts, embeddings=embeddings)


def comparisons(pages: Sequence[pb.ListComparisonsResponse]) -> Comparisons:
    items = [c for page in pages for c in page.comparisons]
    return Comparisons(
        a_ids=[c.a_id for c in items],
        b_ids=[c.b_id for c in items],
        outcomes=[OUTCOME_NAMES.get(c.outcome, f"unknown({c.outcome})") for c in items],
        annotator_ids=[c.annotator_id or None for c in items],
        weights=np.fromiter((c.weight for c in items), dtype=np.float64, count=len(items)),
        create_times=[timestamp(c.create_time) for c in items],
    )


def add_responses_result(r: pb.AddResponsesResponse) -> AddResponsesResult:
    return AddResponsesResult(num_added=r.num_added, num_responses=r.num_responses)


def add_comparisons_result(r: pb.AddComparisonsResponse) -> AddComparisonsResult:
    return AddComparisonsResult(
        num_added=r.num_added, num_comparisons=r.num_comparisons, num_pending_resolved=r.num_pending_resolved)


def fit_report(r: pb.FitResponse) -> FitReport:
    m, rep = r.model, r.model.report
    return FitReport(
        model_version=m.version,
        head=HEAD_NAMES.get(m.head_type, f"unknown({m.head_type})"),
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


def selection(s: pb.Selection) -> Selection:
    return Selection(
        selection_id=s.selection_id,
        model_version=s.model_version,
        strategy=STRATEGY_NAMES.get(s.strategy, f"unknown({s.strategy})"),
        seed=s.seed,
        batch_size=s.batch_size,
        num_candidates=s.num_candidates,
        pairs=[ScoredPair(p.a_id, p.b_id, p.score) for p in s.pairs],
        create_time=timestamp(s.create_time),
        wall_time_s=seconds(s.wall_time),
        candidates=CANDIDATE_SOURCE_NAMES.get(s.candidate_source, f"unknown({s.candidate_source})"),
        num_prompts=s.num_prompts,
        max_candidates=s.max_candidates,
        include_labeled=s.include_labeled,
        include_pending=s.include_pending,
        params=StrategyParams(
            ridge=s.params.ridge, coreset_clusters=s.params.coreset_clusters, coreset_radius=s.params.coreset_radius,
            posterior_samples=s.params.posterior_samples, batchbald_pool=s.params.batchbald_pool,
            batchbald_configurations=s.params.batchbald_configurations),
    )

