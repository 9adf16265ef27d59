"""The one exception type of the activerm client, and its conversion from gRPC errors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import grpc
from google.rpc import error_details_pb2, status_pb2

from ._service import IDEMPOTENT_METHODS

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
# Every status an activerm server closes carries this trailer (RequestContextInterceptor.ANSWERED_BY).
_ANSWERED_BY_KEY = "x-activerm-answered-by"


@dataclass(frozen=True)
class FieldViolation:
    """One offending request field, as the server (or the client's own checks) named it.

    ``field`` is a path such as ``"embedding_dim"`` or ``"comparisons[3].b_id"``;
    ``description`` says what is wrong with it.
    """

    field: str
    description: str


class ActiveRmError(Exception):
    """Every failure of an activerm call.

    Attributes:
        code: the ``grpc.StatusCode`` (INVALID_ARGUMENT, NOT_FOUND, ...). Never lost.
        message: the server's message, which says how to fix the request.
        field_violations: the ``google.rpc.BadRequest`` details, one per offending field.
        method: the RPC that failed (e.g. ``"AddResponses"``), or None.
        client_side: True when the client rejected the input before sending anything.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        field_violations: Iterable[FieldViolation] = (),
        *,
        method: str | None = None,
        client_side: bool = False,
    ) -> None:
        self.code = code
        self.message = message
        self.field_violations: tuple[FieldViolation, ...] = tuple(field_violations)
        self.method = method
        self.client_side = client_side
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method}: " if self.method else ""
        text = f"{where}{self.code.name}: {self.message}"
        # The server usually lists its violations in the message already; add the others.
        extra = [v for v in self.field_violations if f"{v.field}: {v.description}" not in self.message]
        for v in extra:
            text += f"\n  {v.field}: {v.description}"
        return text

    @classmethod
    def from_rpc_error(
        cls,
        error: grpc.RpcError,
        *,
        method: str,
        timeout: float | None = None,
        target: str | None = None,
    ) -> "ActiveRmError":
        """Builds the error from a failed call (sync ``grpc.RpcError`` or ``grpc.aio.AioRpcError``)."""
        code = _call_attr(error, "code") or grpc.StatusCode.UNKNOWN
        message = _call_attr(error, "details") or ""
        trailers = _call_attr(error, "trailing_metadata")
        violations = _field_violations(trailers)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED and timeout is not None:
            message += (f" (the client's deadline was {timeout:g} s; pass a larger timeout= to the call "
                        "or to Client(timeout=...)")
            if method not in IDEMPOTENT_METHODS:
                message += (". The server may still have applied this write: check (e.g. Project.refresh()) "
                            "before sending it again")
            message += ")"
        elif code == grpc.StatusCode.UNAVAILABLE and target is not None and not _answered_by_server(trailers):
            # Only the transport's own UNAVAILABLE (nothing answered) gets the hint; a server that
            # answered UNAVAILABLE (its data dir gone, say) has said why.
            message = f"{message} (is an activerm server running at {target}?)"
        return cls(code, message, violations, method=method)


class InvalidInputError(ActiveRmError, ValueError):
    """Input the client rejected before sending any bytes (wrong dtype, shape, NaN, lengths...).

    An :class:`ActiveRmError` with code INVALID_ARGUMENT, and also a ``ValueError``.
    """

    def __init__(self, message: str, field_violations: Sequence[FieldViolation] = (), *, method: str | None = None):
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, message, field_violations, method=method, client_side=True)


def invalid(field: str, description: str) -> InvalidInputError:
    """Shorthand: one client-side violation, with the message naming the field."""
    return InvalidInputError(f"{field} {description}", [FieldViolation(field, description)])


def _call_attr(error: grpc.RpcError, name: str):
    fn = getattr(error, name, None)
    if fn is None:
        return None
    try:
        return fn()
    except Exception:  # a broken call object must not hide the original failure
        return None


def _answered_by_server(trailing_metadata) -> bool:
    return any(key == _ANSWERED_BY_KEY for key, _ in (trailing_metadata or ()))


def _field_violations(trailing_metadata) -> list[FieldViolation]:
    if not trailing_metadata:
        return []
    out: list[FieldViolation] = []
    for key, value in trailing_metadata:
        if key != _STATUS_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                out.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
    return out
