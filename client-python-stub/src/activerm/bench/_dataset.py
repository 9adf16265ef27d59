"""Bring your own pool: read a user's responses (and recorded preferences) for --dataset.

Two tables, one schema whatever the file format (docs/benchmarks.md, "Your own pool"):

responses (one row per response)
    response_id  string or integer, unique
    prompt_id    string or integer; every prompt needs >= 2 responses
    embedding    list of numbers, the same length D on every row (npz: a 2-D array)
    split        "train" (the pool, uploaded) or "test" (held-out prompts, scored with
                 Score(embeddings=), never stored); a prompt is in one split only
    reward       number, optional: the golden reward (simulated Bradley–Terry annotators)
preferences (optional; present = replay mode: labels come from the record)
    a_id, b_id   response_ids of one recorded comparison
    label        "a" (a preferred), "b" or "tie"

Formats: ``.npz`` (arrays named like the columns; preferences may sit in the same file),
``.parquet``, ``.arrow`` / ``.feather`` (Arrow IPC file or stream), and a Hugging Face
``datasets`` folder written by ``Dataset.save_to_disk``. The folder is read with pyarrow
over the Arrow stream files its state.json lists, not with ``datasets.load_from_disk``:
load_from_disk memory-maps exactly those files (save_to_disk flattens any indices
mapping first), so both give the same table, and pyarrow alone keeps the benchmark's
extra small (``pip install 'activerm[bench-data]'``) and has one code path to test
(tests/test_bench_dataset.py checks it against load_from_disk).

Every malformed input raises DatasetError naming the table, the column or key, what was
found and how to fix it; nothing is sent to a server before the whole file is valid.
"""
from __future__ import annotations

import functools
import json
import pathlib
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "test")
LABELS = ("a", "b", "tie")
RESPONSE_COLUMNS = ("response_id", "prompt_id", "embedding", "split")
PREFERENCE_COLUMNS = ("a_id", "b_id", "label")


class DatasetError(ValueError):
    """A --dataset / --preferences file the benchmark cannot use; the message says how to fix it."""


@dataclass(frozen=True)
class Pool:
    """A validated pool: rows in file order."""

    response_ids: np.ndarray  # object (n,) of str
    prompt_ids: np.ndarray  # object (n,) of str
    embeddings: np.ndarray  # float32 (n, D)
    held_out: np.ndarray  # bool (n,): split == "test"
    reward: np.ndarray | None  # float64 (n,) or None
    pref_a: np.ndarray | None  # int64 rows of the recorded comparisons, or None
    pref_b: np.ndarray | None
    pref_label: np.ndarray | None  # object (m,) of "a" | "b" | "tie"

    @property
    def replay(self) -> bool:
        return self.pref_a is not None


# ---------------------------------------------------------------- reading the formats

def _require_pyarrow(path: pathlib.Path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DatasetError(f"{path}: reading Parquet / Arrow / datasets folders needs pyarrow; "
                           "pip install 'activerm[bench-data]' (or use an .npz file)") from None
    import pyarrow as pa
    return pa


def _read_arrow_file(pa, path: pathlib.Path):
    import pyarrow.ipc as ipc
    source = pa.memory_map(str(path))
    try:
        return ipc.open_file(source).read_all()
    except pa.ArrowInvalid:
        source = pa.memory_map(str(path))
        try:
            return ipc.open_stream(source).read_all()
        except pa.ArrowInvalid as e:
            raise DatasetError(f"{path}: not an Arrow IPC file or stream ({e}); write it with "
                               "pyarrow.feather.write_feather or pyarrow.ipc") from None


def _read_hf_folder(pa, path: pathlib.Path):
    if (path / "dataset_dict.json").exists():
        splits = json.loads((path / "dataset_dict.json").read_text()).get("splits", [])
        raise DatasetError(f"{path} is a DatasetDict folder with splits {splits}; pass one dataset's folder "
                           f"(e.g. {path / (splits[0] if splits else 'train')}) and mark held-out prompts "
                           "with a 'split' column")
    state = path / "state.json"
    if not state.exists():
        raise DatasetError(f"{path} is a folder without state.json: not a Hugging Face dataset saved with "
                           "Dataset.save_to_disk; pass an .npz, .parquet or .arrow file, or such a folder")
    files = [f["filename"] for f in json.loads(state.read_text()).get("_data_files", [])]
    if not files:
        raise DatasetError(f"{state} lists no _data_files; re-save the dataset with Dataset.save_to_disk")
    return pa.concat_tables([_read_arrow_file(pa, path / f) for f in files])


def _read_table(path: pathlib.Path) -> tuple[str, dict]:
    """(format, {column: ("arrow", pyarrow.ChunkedArray) | ("npz", numpy array)})."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_dir():
        pa = _require_pyarrow(path)
        table = _read_hf_folder(pa, path)
    elif path.suffix == ".npz":
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DatasetError(f"{path}: not a readable .npz ({e}); write it with numpy.savez") from None
        out = {}
        for k in z.files:
            try:
                out[k] = ("npz", z[k])
            except ValueError:  # an object array: numpy refuses it without pickle
                out[k] = ("npz-object", None)
        return "npz", out
    elif path.suffix == ".parquet":
        pa = _require_pyarrow(path)
        import pyarrow.parquet as pq
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise DatasetError(f"{path}: not a readable Parquet file ({e})") from None
    elif path.suffix in (".arrow", ".feather", ".ipc"):
        pa = _require_pyarrow(path)
        table = _read_arrow_file(pa, path)
    else:
        raise DatasetError(f"{path}: unknown format {path.suffix!r}; use .npz, .parquet, .arrow / .feather, "
                           "or a folder written by datasets' save_to_disk")
    return "arrow", {name: ("arrow", table.column(name)) for name in table.column_names}


# ---------------------------------------------------------------- columns to numpy

class _Table:
    """One table's columns with the checks that name what is wrong."""

    def __init__(self, what: str, path: pathlib.Path, columns: dict) -> None:
        self.what, self.path, self.columns = what, path, columns

    def where(self) -> str:
        return f"{self.what} table ({self.path})"

    def has(self, name: str) -> bool:
        return name in self.columns

    def _get(self, name: str):
        if name not in self.columns:
            raise DatasetError(f"{self.where()}: no column {name!r}; found {sorted(self.columns)}. "
                               f"Add it (or rename yours): see activerm.bench._dataset for the schema")
        kind, col = self.columns[name]
        if kind == "npz-object":
            raise DatasetError(f"{self.where()}: key {name!r} is an object array (ragged rows or mixed types); "
                               f"store it as a regular array (strings as numpy unicode, embeddings as one 2-D "
                               f"float array of shape (n, D))")
        return kind, col

    def _nulls(self, name: str, col) -> None:
        if col.null_count:
            import pyarrow.compute as pc
            row = int(pc.index(pc.is_null(col), True).as_py())
            raise DatasetError(f"{self.where()}: column {name!r} has {col.null_count} null value(s), first at row "
                               f"{row}; fill or drop those rows")

    def ids(self, name: str) -> np.ndarray:
        """Strings or integers, as str."""
        kind, col = self._get(name)
        if kind == "arrow":
            import pyarrow as pa
            self._nulls(name, col)
            t = col.type
            if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t):
                arr = col.to_numpy(zero_copy_only=False)
            else:
                raise DatasetError(f"{self.where()}: column {name!r} has type {t}; ids must be strings or integers")
        else:
            arr = col
            if arr.ndim != 1 or arr.dtype.kind not in "USiu":
                raise DatasetError(f"{self.where()}: key {name!r} is {arr.dtype} of shape {arr.shape}; ids must be strings or "
                                   "integers, one per row (a 1-D array)")
        return np.asarray([str(v) for v in arr.tolist()], dtype=object)

    def numbers(self, name: str) -> np.ndarray:
        kind, col = self._get(name)
        if kind == "arrow":
            import pyarrow as pa
            self._nulls(name, col)
            if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                raise DatasetError(f"{self.where()}: column {name!r} has type {col.type}; it must be numeric "
                                   "(float or integer)")
            arr = col.to_numpy().astype(np.float64)
        else:
            if col.ndim != 1 or col.dtype.kind not in "fiu":
                raise DatasetError(f"{self.where()}: key {name!r} is {col.dtype} of shape {col.shape}; it must be a "
                                   "1-D numeric array")
            arr = col.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DatasetError(f"{self.where()}: column {name!r} has {bad.size} non-finite value(s) (nan or inf), "
                               f"first at row {bad[0]} ({arr[bad[0]]}); drop or fix those rows")
        return arr

    def matrix(self, name: str) -> np.ndarray:
        """Equal-length numeric lists (Arrow list / large_list / fixed_size_list) or a 2-D npz array."""
        kind, col = self._get(name)
        if kind == "arrow":
            import pyarrow as pa
            import pyarrow.compute as pc
            self._nulls(name, col)
            t = col.type
            if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
                raise DatasetError(f"{self.where()}: column {name!r} has type {t}; embeddings must be a list of "
                                   "numbers per row (e.g. pa.list_(pa.float32()))")
            vt = t.value_type
            if not (pa.types.is_floating(vt) or pa.types.is_integer(vt)):
                raise DatasetError(f"{self.where()}: column {name!r} holds lists of {vt}; embeddings must be lists "
                                   "of numbers")
            col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
            lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
            if lengths.size == 0:
                raise DatasetError(f"{self.where()}: the table has no rows")
            if np.any(lengths != lengths[0]):
                row = int(np.flatnonzero(lengths != lengths[0])[0])
                raise DatasetError(f"{self.where()}: ragged column {name!r}: row 0 has {lengths[0]} values, row {row} "
                                   f"has {lengths[row]}; every embedding must have the same length D")
            if np.any(pc.is_null(pc.list_flatten(col)).to_numpy(zero_copy_only=False)):
                raise DatasetError(f"{self.where()}: column {name!r} has null values inside an embedding; "
                                   "fill or drop those rows")
            values = pc.list_flatten(col).to_numpy(zero_copy_only=False)
            m = values.astype(np.float64).reshape(len(col), int(lengths[0]))
        else:
            if col.ndim != 2 or col.dtype.kind not in "fiu":
                raise DatasetError(f"{self.where()}: key {name!r} is {col.dtype} of shape {col.shape}; embeddings "
                                   "must be one numeric 2-D array of shape (n, D)")
            m = col.astype(np.float64)
        if m.shape[1] < 1:
            raise DatasetError(f"{self.where()}: column {name!r} has embeddings of length 0")
        bad = np.flatnonzero(~np.all(np.isfinite(m), axis=1))
        if bad.size:
            raise DatasetError(f"{self.where()}: column {name!r} has non-finite values (nan or inf) in {bad.size} "
                               f"row(s), first row {bad[0]}; drop or fix those rows")
        if np.max(np.abs(m)) > np.finfo(np.float32).max:
            raise DatasetError(f"{self.where()}: column {name!r} has values beyond float32's range; rescale them")
        return m.astype(np.float32)

    def strings(self, name: str, allowed: tuple[str, ...]) -> np.ndarray:
        kind, col = self._get(name)
        if kind == "arrow":
            import pyarrow as pa
            self._nulls(name, col)
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                raise DatasetError(f"{self.where()}: column {name!r} has type {col.type}; it must hold the strings "
                                   f"{list(allowed)}")
            arr = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
        else:
            if col.ndim != 1 or col.dtype.kind not in "US":
                raise DatasetError(f"{self.where()}: key {name!r} is {col.dtype} of shape {col.shape}; it must be a "
                                   f"1-D array of the strings {list(allowed)}")
            arr = np.asarray([str(v) for v in col.tolist()], dtype=object)
        bad = [i for i, v in enumerate(arr) if v not in allowed]
        if bad:
            raise DatasetError(f"{self.where()}: column {name!r} row {bad[0]} is {arr[bad[0]]!r} "
                               f"({len(bad)} such row(s)); use one of {list(allowed)}")
        return arr

    def length(self, name: str, arr: np.ndarray, n: int, first: str) -> None:
        if len(arr) != n:
            raise DatasetError(f"{self.where()}: key {name!r} has {len(arr)} rows, {first!r} has {n}; "
                               "every array must have one entry per row")


# ---------------------------------------------------------------- validation

def _validate(resp: _Table, prefs: _Table | None) -> Pool:
    rid = resp.ids("response_id")
    n = len(rid)
    pid = resp.ids("prompt_id")
    resp.length("prompt_id", pid, n, "response_id")
    emb = resp.matrix("embedding")
    resp.length("embedding", emb, n, "response_id")
    split = resp.strings("split", SPLITS)
    resp.length("split", split, n, "response_id")
    reward = None
    if resp.has("reward"):
        reward = resp.numbers("reward")
        resp.length("reward", reward, n, "response_id")
    uniq, first, counts = np.unique(rid.astype(str), return_index=True, return_counts=True)
    if np.any(counts > 1):
        dup = str(uniq[counts > 1][0])
        rows = np.flatnonzero(rid == dup)[:3].tolist()
        raise DatasetError(f"{resp.where()}: response_id {dup!r} appears {counts[counts > 1][0]} times (rows "
                           f"{rows}); response ids must be unique")
    held = split == "test"
    prompts, inverse, pcounts = np.unique(pid.astype(str), return_inverse=True, return_counts=True)
    small = np.flatnonzero(pcounts < 2)
    if small.size:
        p = str(prompts[small[0]])
        raise DatasetError(f"{resp.where()}: prompt_id {p!r} has {pcounts[small[0]]} response (row "
                           f"{int(np.flatnonzero(pid == p)[0])}; {small.size} such prompt(s)); a prompt needs at least "
                           "2 responses to make a pair: add responses or drop the prompt")
    held_frac = np.bincount(inverse, weights=held.astype(np.float64)) / pcounts
    mixed = np.flatnonzero((held_frac > 0) & (held_frac < 1))
    if mixed.size:
        raise DatasetError(f"{resp.where()}: prompt_id {str(prompts[mixed[0]])!r} has responses in both splits; "
                           "held-out prompts are whole prompts: give all of a prompt's rows the same 'split'")
    n_train, n_test = int(np.sum(held_frac == 0)), int(np.sum(held_frac == 1))
    if n_train < 2 or n_test < 1:
        raise DatasetError(f"{resp.where()}: column 'split' gives {n_train} training and {n_test} held-out "
                           "('test') prompts; need at least 2 training prompts and 1 held-out prompt")
    pa_rows = pb_rows = labels = None
    if prefs is not None:
        a = prefs.ids("a_id")
        b = prefs.ids("b_id")
        prefs.length("b_id", b, len(a), "a_id")
        labels = prefs.strings("label", LABELS)
        prefs.length("label", labels, len(a), "a_id")
        row_of = {r: i for i, r in enumerate(rid)}
        for name, ids in (("a_id", a), ("b_id", b)):
            unknown = [i for i, r in enumerate(ids) if r not in row_of]
            if unknown:
                raise DatasetError(f"{prefs.where()}: row {unknown[0]}: {name} {ids[unknown[0]]!r} names no response "
                                   f"in the responses table ({len(unknown)} such row(s)); drop those rows or add "
                                   "the responses")
        pa_rows = np.fromiter((row_of[r] for r in a), dtype=np.int64, count=len(a))
        pb_rows = np.fromiter((row_of[r] for r in b), dtype=np.int64, count=len(b))
        same = np.flatnonzero(pa_rows == pb_rows)
        if same.size:
            raise DatasetError(f"{prefs.where()}: row {same[0]} compares response {a[same[0]]!r} with itself; "
                               "drop such rows")
        leak = np.flatnonzero(held[pa_rows] != held[pb_rows])
        if leak.size:
            raise DatasetError(f"{prefs.where()}: row {leak[0]} compares a training response with a held-out one "
                               f"({a[leak[0]]!r}, {b[leak[0]]!r}); a comparison belongs to one split")
        if not np.any(~held[pa_rows]):
            raise DatasetError(f"{prefs.where()}: no comparison between training responses; replay needs "
                               "recorded labels on the training split")
        if reward is None and not np.any(held[pa_rows] & (labels != "tie")):
            raise DatasetError(f"{prefs.where()}: no non-tie comparison between held-out responses and no "
                               "'reward' column in the responses table: nothing to evaluate on; record some "
                               "held-out comparisons or add rewards")
    elif reward is None:
        raise DatasetError(f"{resp.where()}: no column 'reward' and no preferences: give a golden reward per "
                           "response (simulated annotators) or recorded preferences (--preferences, or "
                           "a_id / b_id / label keys in the .npz) to replay")
    return Pool(rid, pid, emb, held, reward, pa_rows, pb_rows, labels)


@functools.lru_cache(maxsize=4)
def load_pool(path: str, preferences: str | None = None) -> Pool:
    """Reads and validates --dataset (and --preferences); raises DatasetError."""
    p = pathlib.Path(path)
    fmt, cols = _read_table(p)
    resp = _Table("responses", p, cols)
    prefs = None
    if preferences is not None:
        q = pathlib.Path(preferences)
        prefs = _Table("preferences", q, _read_table(q)[1])
    elif fmt == "npz" and any(k in cols for k in PREFERENCE_COLUMNS):
        prefs = _Table("preferences", p, {k: cols[k] for k in PREFERENCE_COLUMNS if k in cols})
        resp = _Table("responses", p, {k: v for k, v in cols.items() if k not in PREFERENCE_COLUMNS})
    return _validate(resp, prefs)
