"""Responses from the formats pools live in: a pyarrow Table (or RecordBatch) or a Hugging Face
``datasets.Dataset``, with an id column, a prompt id column and an embedding column.

``project.add_responses(table)`` calls this. The embedding column is a fixed-size list of
float32 (``pa.list_(pa.float32(), D)``; a Dataset's ``Sequence(Value("float32"), length=D)``)
or a variable-size list whose rows all have D values. Its Arrow buffers are sent as they are,
one block per Arrow chunk, without copying (float16/float64 values are converted to float32,
which copies). Nulls are refused: a missing embedding or id has no meaning on the server.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import invalid
from . import require


def is_table(obj: Any) -> bool:
    """True for a pyarrow Table / RecordBatch or a datasets.Dataset; imports neither library."""
    module = type(obj).__module__
    return (module.startswith("pyarrow") and hasattr(obj, "column_names")) or (
        module.startswith("datasets") and hasattr(obj, "with_format"))


def arrow_table(obj: Any) -> Any:
    """The pyarrow Table behind obj. A Dataset's rows are taken through its format "arrow", so
    a select / shuffle / filter (an indices mapping) is honoured; without one it is a view."""
    pa = require("pyarrow", "arrow", "add_responses from a table")
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    return obj.with_format("arrow")[:]


def columns(obj: Any, id_column: str, prompt_id_column: str, embedding_column: str,
            dim: int) -> tuple[list[str], list[str], list[np.ndarray]]:
    """(ids, prompt ids, embedding blocks of shape (n_i, D)) from a table, checked for nulls,
    types and D; the blocks are views of the Arrow buffers where the values are float32."""
    table = arrow_table(obj)
    names = table.column_names
    for field, name in (("id_column", id_column), ("prompt_id_column", prompt_id_column),
                        ("embedding_column", embedding_column)):
        if name not in names:
            raise invalid(field, f"is {name!r}, which is not a column of the table; its columns are {names}; "
                                 f"pass {field}= naming the right one")
    ids = _strings(table.column(id_column), id_column)
    prompt_ids = _strings(table.column(prompt_id_column), prompt_id_column)
    blocks = [_block(chunk, embedding_column, dim) for chunk in table.column(embedding_column).chunks]
    if table.num_rows == 0:
        raise invalid(embedding_column, "has no rows; there is nothing to upload")
    return ids, prompt_ids, [b for b in blocks if b.shape[0]]


def _strings(column: Any, name: str) -> list[str]:
    import pyarrow as pa

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise invalid(name, f"has type {column.type}; ids must be strings (cast with "
                            f"table.set_column(..., pc.cast(col, pa.string())))")
    if column.null_count:
        raise invalid(name, f"has {column.null_count} nulls; every response needs an id and a prompt id")
    return column.to_pylist()


def _block(chunk: Any, name: str, dim: int) -> np.ndarray:
    """One Arrow chunk of the embedding column as an (n, D) array (a view when float32)."""
    import pyarrow as pa

    t = chunk.type
    if not (pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t)):
        raise invalid(name, f"has type {t}; embeddings must be a list of floats per row, "
                            f"ideally pa.list_(pa.float32(), {dim})")
    if not pa.types.is_floating(t.value_type):
        raise invalid(name, f"holds {t.value_type} values; embeddings must be float32 (or float16/float64)")
    n = len(chunk)
    if chunk.null_count:
        raise invalid(name, f"has {chunk.null_count} null rows; every response needs an embedding")
    if pa.types.is_fixed_size_list(t):
        if t.list_size != dim:
            raise invalid(name, f"has {t.list_size} values per row but the project's embedding_dim is {dim}")
    else:
        lengths = np.diff(chunk.offsets.to_numpy())
        wrong = np.flatnonzero(lengths != dim)
        if wrong.size:
            raise invalid(name, f"row {int(wrong[0])} of a chunk has {int(lengths[wrong[0]])} values but the "
                                f"project's embedding_dim is {dim}; every row needs exactly {dim}")
    values = chunk.flatten()  # honours the chunk's offset and length (slices)
    if values.null_count:
        raise invalid(name, f"has {values.null_count} null values inside its rows; embeddings must be finite")
    flat = values.to_numpy(zero_copy_only=values.type == pa.float32())
    return flat.reshape(n, dim)
