"""Input checks: everything a caller hands the client is checked here before a byte is sent.

numpy input is checked for dtype, ndim, shape and finiteness; ids for type and that they
line up with the rows. Each check raises InvalidInputError naming the offending field and
returns the value in the form the request builders use.
"""
from __future__ import annotations

import math
import numbers
from datetime import timedelta
from typing import Any

import numpy as np

from ._errors import FieldViolation, InvalidInputError, invalid

MIB = 1 << 20
MAX_IDS_PER_READ = 100_000
# Reads are paged so that one response stays well under the 64 MiB message limit.
READ_PAGE_BYTES = 32 * MIB
MAX_PROMPT_IDS = 1_000_000  # SelectBatch's Candidates.{cross,within}_prompt.prompt_ids
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


def check_timeout(timeout: Any) -> float:
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise invalid("timeout", f"is {timeout!r}; give a deadline in seconds, > 0")
    return float(timeout)


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


def check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(field, f"must be a bool, got {type(value).__name__}")
    return bool(value)


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


def check_upload(dim: int, ids: Any, prompt_ids: Any, embeddings: Any, chunk_bytes: Any):
    """Every client-side check of an upload, before the first byte is sent:
    (float32 rows, ids, prompt ids, chunk size). embeddings is an (n, D) matrix, or a list
    of (n_i, D) blocks (an Arrow column's chunks), which stay separate arrays."""
    size = check_int("chunk_bytes", chunk_bytes, 1, 60 * MIB)
    if isinstance(embeddings, list) and embeddings and all(isinstance(b, np.ndarray) for b in embeddings):
        x: np.ndarray | list[np.ndarray] = [as_float32_matrix("embeddings", b, dim) for b in embeddings]
        n = sum(b.shape[0] for b in x)
    else:
        x = as_float32_matrix("embeddings", embeddings, dim)
        n = x.shape[0]
    if n == 0:
        raise invalid("embeddings", "has no rows; there is nothing to upload")
    return x, check_ids("ids", ids, n), check_ids("prompt_ids", prompt_ids, n), size


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


def check_nonempty_pairs(field: str, pairs: Any) -> tuple[list[str], list[str]]:
    a, b = check_pairs(field, pairs)
    if not a:
        raise invalid(field, "is empty; give at least one (a_id, b_id) pair")
    return a, b


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


MAX_TTL_S = 3650 * 86400


def check_ttl(field: str, value: Any) -> float:
    """A pending TTL in seconds (number or datetime.timedelta), 0.001 .. 3650 days."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise invalid(field, f"must be seconds (a number or a datetime.timedelta), got {type(value).__name__}")
    s = float(value)
    if not (0.001 <= s <= MAX_TTL_S):
        raise invalid(field, f"is {s} s; use 0.001 s .. 3650 days (None: no expiry / the project's default)")
    return s


def check_column(field: str, values: Any, n: int) -> list:
    """One value per comparison (annotator ids): a sequence of exactly n, never a bare str."""
    if isinstance(values, (str, bytes)):
        raise invalid(field, "must be a sequence, not a single string")
    out = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if len(out) != n:
        raise invalid(field, f"has {len(out)} entries but there are {n} comparisons")
    return out


def check_weights(weights: Any, n: int) -> np.ndarray:
    """float64 (n,), every weight finite and > 0."""
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


def read_page_size(dim: int, include_embeddings: bool, page_size: Any) -> int:
    """ListResponses' page: page_size when given, else as many rows as fit in READ_PAGE_BYTES."""
    if page_size is not None:
        return check_int("page_size", page_size, 1, MAX_IDS_PER_READ)
    if not include_embeddings:
        return 10_000
    return max(1, min(MAX_IDS_PER_READ, READ_PAGE_BYTES // (dim * 4)))
