"""The synchronous activerm client: the shared surface (_surface) driven by blocking calls."""
from __future__ import annotations

import grpc

from ._ops import Call, Op, Steps, T
from ._surface import ClientSurface, ProjectSurface


class Project(ProjectSurface):
    """A handle on one project. ``info`` is a snapshot taken when the handle was made;
    ``refresh()`` reads a new one."""

    _name = "activerm.Project"


class Client(ClientSurface[Project]):
    """A connection to one activerm server.

    >>> with activerm.Client("localhost:50051") as client:
    ...     project = client.create_project("hh-helpful", embedding_dim=2048)

    Args:
        target: ``host:port`` of the server.
        timeout: default deadline in seconds for every call (override per call with ``timeout=``).
        api_key: sent as ``authorization: Bearer <key>`` with every call (servers started
            with --api-keys-file; UNAUTHENTICATED without it, PERMISSION_DENIED outside its scope).
        tls: use TLS, trusting the system's CAs. tls_ca_file: use TLS, trusting this PEM
            (CA or self-signed server certificate). Plaintext when neither is given.
        credentials: ready-made ``grpc.ChannelCredentials`` instead of tls/tls_ca_file.
        max_message_bytes: largest message sent or received (the server's limit is 64 MiB by default).
        options: extra gRPC channel options, overriding the client's defaults.
    """

    _grpc = grpc
    _name = "activerm.Client"
    _project_type = Project

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, op: Op[T], timeout: float | None) -> T:
        steps = Steps(op)
        for call in steps:
            steps.reply(self._invoke(call, timeout))
        return steps.result

    def _invoke(self, call: Call, timeout: float | None):
        rpc, deadline = self._begin(call, timeout)
        with self._sending(call, deadline) as request:
            return rpc(request, timeout=deadline, metadata=self._metadata)
