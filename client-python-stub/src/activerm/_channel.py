"""Channel options, in one place, for the sync and asyncio clients."""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

import grpc

from ._errors import invalid
from ._service import IDEMPOTENT_METHODS, SERVICE
from ._version import __version__

DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20  # the server's default --max-message-mib

# Only the calls in _service.IDEMPOTENT_METHODS are retried, on UNAVAILABLE only.
RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.2s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config() -> str:
    return json.dumps({
        "methodConfig": [{
            "name": [{"service": SERVICE, "method": m} for m in IDEMPOTENT_METHODS],
            "retryPolicy": RETRY_POLICY,
        }]
    })


def channel_options(max_message_bytes: int, extra: Sequence[tuple[str, Any]] | None = None) -> list[tuple[str, Any]]:
    """Every channel option the client sets; `extra` entries override same-named defaults."""
    options: dict[str, Any] = {
        "grpc.max_send_message_length": max_message_bytes,
        "grpc.max_receive_message_length": max_message_bytes,
        "grpc.enable_retries": 1,
        "grpc.service_config": service_config(),
        # grpc-java servers accept a keepalive ping at most every 5 minutes by default.
        "grpc.keepalive_time_ms": 300_000,
        "grpc.keepalive_timeout_ms": 20_000,
        "grpc.primary_user_agent": f"activerm-python/{__version__}",
    }
    for key, value in extra or ():
        options[key] = value
    return list(options.items())


def channel_credentials(
    tls: bool, tls_ca_file: str | os.PathLike | None, credentials: grpc.ChannelCredentials | None
) -> grpc.ChannelCredentials | None:
    """None for plaintext; TLS with the system CAs (tls=True), with a CA/self-signed
    certificate from a PEM file (tls_ca_file=...), or caller-made credentials."""
    if credentials is not None:
        if tls or tls_ca_file is not None:
            raise invalid("credentials", "is given together with tls/tls_ca_file; pass one or the other")
        return credentials
    if tls_ca_file is not None:
        try:
            with open(tls_ca_file, "rb") as f:
                return grpc.ssl_channel_credentials(root_certificates=f.read())
        except OSError as e:
            raise invalid("tls_ca_file", f"cannot be read: {e}") from None
    if tls:
        return grpc.ssl_channel_credentials()
    return None


def call_metadata(api_key: str | None) -> tuple[tuple[str, str], ...] | None:
    """'authorization: Bearer KEY' for servers started with --api-keys-file."""
    if api_key is None:
        return None
    if not isinstance(api_key, str) or not api_key.strip() or not api_key.isascii() or any(
            c.isspace() or not c.isprintable() for c in api_key):
        raise invalid("api_key", "must be a non-empty printable ASCII string without spaces")
    return (("authorization", f"Bearer {api_key}"),)
