"""Wire framing of AddResponses: an upload split into serialized chunks of about chunk_bytes,
and the stream (Upload) that sends them with an optional progress bar.

The chunks go to a raw stream_unary callable (request_serializer=None), so the sync and the
asyncio client send these bytes as they are.
"""
from __future__ import annotations

import os
import sys
import warnings
from types import FrameType
from typing import Iterator, Sequence

import numpy as np

from ._checks import MIB
from .v1 import activerm_pb2 as pb

DEFAULT_CHUNK_BYTES = 8 * MIB

# Protobuf wire tags: (field number << 3) | wire type; 0 = varint, 2 = length-delimited.
_REQUEST_EMBEDDINGS = bytes([(pb.AddResponsesRequest.EMBEDDINGS_FIELD_NUMBER << 3) | 2])
_MATRIX_ROWS = bytes([(pb.Matrix.ROWS_FIELD_NUMBER << 3) | 0])
_MATRIX_COLS = bytes([(pb.Matrix.COLS_FIELD_NUMBER << 3) | 0])
_MATRIX_DATA = bytes([(pb.Matrix.DATA_FIELD_NUMBER << 3) | 2])


def add_responses_chunks(
    project_id: str, ids: list[str], prompt_ids: list[str], x: np.ndarray | Sequence[np.ndarray], chunk_bytes: int
) -> Iterator[tuple[bytes, int]]:
    """Yields (serialized AddResponsesRequest, rows in it); each chunk is about chunk_bytes.

    The bytes are exactly ``AddResponsesRequest(..., embeddings=Matrix(rows, cols,
    data=x[a:b].tobytes())).SerializeToString()`` (a test checks this), but built by
    framing the ids (serialized by protobuf) and the Matrix field by hand around the
    array's own buffer: upb's serializer copies an 8 MiB bytes field several times,
    which made it the slowest step of an upload. x must be C-contiguous little-endian
    float32 (_checks.as_float32_matrix returns that), or a sequence of such (n_i, D)
    blocks whose rows follow each other (an Arrow column's chunks, sent without joining
    them into one array); a chunk never spans two blocks.
    """
    blocks = [x] if isinstance(x, np.ndarray) else list(x)
    dim = blocks[0].shape[1]
    row_bytes = dim * 4 + 64  # embedding plus a generous allowance for the two ids
    rows_per_chunk = max(1, chunk_bytes // row_bytes)
    first = 0  # row of ids where the current block starts
    for block in blocks:
        for start in range(0, block.shape[0], rows_per_chunk):
            stop = min(block.shape[0], start + rows_per_chunk)
            a, b = first + start, first + stop
            head = pb.AddResponsesRequest(
                project_id=project_id if a == 0 else "",
                response_ids=ids[a:b],
                prompt_ids=prompt_ids[a:b],
            ).SerializeToString()
            data = memoryview(block[start:stop]).cast("B")
            matrix_head = b"".join((_MATRIX_ROWS, _varint(stop - start), _MATRIX_COLS, _varint(dim),
                                    _MATRIX_DATA, _varint(len(data))))
            yield b"".join((head, _REQUEST_EMBEDDINGS, _varint(len(matrix_head) + len(data)), matrix_head,
                            data)), stop - start
        first += block.shape[0]


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


class Upload:
    """AddResponses' request stream: the serialized chunks, and a tqdm bar over rows when asked for.

    Entering it (right before the call) opens the bar and gives the chunk iterator; leaving it
    closes the bar, whether the call succeeded or not.
    """

    def __init__(self, chunks: Iterator[tuple[bytes, int]], rows: int, progress: bool) -> None:
        self._chunks = chunks
        self._rows = rows
        self._progress = progress
        self._bar = None

    def __enter__(self) -> Iterator[bytes]:
        self._bar = _progress_bar(self._progress, self._rows)
        return self._stream()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def _stream(self) -> Iterator[bytes]:
        for chunk, rows in self._chunks:
            yield chunk
            if self._bar is not None:
                self._bar.update(rows)


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
            warnings.warn("progress=True needs tqdm: pip install 'activerm[progress]'", stacklevel=_outside_package())
            _warned_no_tqdm = True
        return None
    return tqdm(total=total, unit="rows", unit_scale=True, desc="add_responses")


def _outside_package() -> int:
    """The stacklevel of the first frame outside activerm, so the warning names the caller's line."""
    here = os.path.dirname(__file__)
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1
    return level
