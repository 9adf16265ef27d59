"""Fixtures: the packaged server jar as a real process, clients, fresh projects."""
from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import numpy as np
import pytest

# The tests make every Hugging Face dataset locally; never ask the hub (read at import of datasets).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import activerm

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_JAR = PACKAGE_ROOT.parent / "server" / "target" / "activerm-server.jar"
LISTENING = re.compile(r"activerm listening on port (\d+)")
START_TIMEOUT_S = 120  # the machine is shared; a cold JVM can be slow
DIM = 8


def pytest_addoption(parser):
    parser.addoption(
        "--server-jar",
        default=os.environ.get("ACTIVERM_SERVER_JAR", str(DEFAULT_JAR)),
        help="the packaged server jar to test against (default: ../server/target/activerm-server.jar)",
    )
    parser.addoption(
        "--target",
        default=os.environ.get("ACTIVERM_TARGET"),
        help="HOST:PORT of a running server (e.g. a container) for the `server` fixture instead of "
        "starting the jar; fixtures that need special server flags still start their own jar",
    )


class RunningServer:
    """A server someone else started (the container suite points pytest at one)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def stop(self) -> None:
        pass


class ServerProcess:
    def __init__(self, jar: pathlib.Path, work: pathlib.Path, extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = work / "data"
        self.log_path = work / "server.log"
        self._log = open(self.log_path, "wb")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not on PATH; the tests start the server jar with it")
        self.proc = subprocess.Popen(
            [java, "-Xmx1g", "-jar", str(jar), "--bind", "127.0.0.1", "--port", "0",
             "--data-dir", str(self.data_dir), *extra_args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.port = self._wait_for_port()
        self.target = f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            match = LISTENING.search(self.log_text())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode} before listening:\n{self.log_text()}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not log 'activerm listening on port N' within {START_TIMEOUT_S} s:\n"
                           f"{self.log_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


def _server_jar(request) -> pathlib.Path:
    jar = pathlib.Path(request.config.getoption("--server-jar")).resolve()
    if not jar.is_file():
        pytest.fail(f"server jar not found at {jar}; build it with: mvn -B -pl server -am package", pytrace=False)
    return jar


@pytest.fixture(scope="session")
def server(request):
    target = request.config.getoption("--target")
    if target:
        yield RunningServer(target)
        return
    work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-pytest-"))
    proc = ServerProcess(_server_jar(request), work)
    yield proc
    proc.stop()
    shutil.rmtree(work, ignore_errors=True)


ADMIN_KEY = "admin-key-0123456789"
TEAM_KEY = "team-a-key-0123456789"


@pytest.fixture(scope="session")
def secure_server(request):
    """A second server with TLS (a self-signed certificate for 127.0.0.1) and API keys:
    ADMIN_KEY reaches every project, TEAM_KEY only projects starting with 'team-a'."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-pytest-tls-"))
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    keys = work / "keys.txt"
    keys.write_text(
        f"sha256:{hashlib.sha256(ADMIN_KEY.encode()).hexdigest()} ops admin\n"
        f"sha256:{hashlib.sha256(TEAM_KEY.encode()).hexdigest()} team-a team-a*\n")
    proc = ServerProcess(_server_jar(request), work,
                         ("--tls-cert", str(cert), "--tls-key", str(key), "--api-keys-file", str(keys)))
    proc.cert = cert
    yield proc
    proc.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def client(server):
    with activerm.Client(server.target, timeout=60) as c:
        yield c


def unique_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def project(client):
    p = client.create_project(unique_id("proj"), embedding_dim=DIM)
    yield p
    try:
        client.delete_project(p.id)
    except activerm.ActiveRmError:
        pass


@pytest.fixture
def offline_project():
    """A project handle on a client that cannot reach any server (nothing listens on port 1):
    an error other than UNAVAILABLE from it proves the client rejected the input itself."""
    with activerm.Client("127.0.0.1:1", timeout=5) as c:
        info = activerm.ProjectInfo(
            project_id="offline", embedding_dim=DIM, head="linear", hidden_sizes=(), l2=1.0,
            create_time=None, num_responses=0, num_comparisons=0, num_prompts=0, num_pending_pairs=0,
            latest_model_version=0)
        yield activerm.Project(c, info)


def random_rows(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)


def fill(project, n: int = 6, seed: int = 0, prefix: str = "r"):
    """Adds n responses (two per prompt); returns (ids, prompt_ids, embeddings)."""
    ids = [f"{prefix}{i}" for i in range(n)]
    prompts = [f"p{i // 2}" for i in range(n)]
    x = random_rows(n, project.info.embedding_dim, seed)
    project.add_responses(ids, prompts, x)
    return ids, prompts, x


def violations(err: activerm.ActiveRmError) -> dict[str, str]:
    return {v.field: v.description for v in err.field_violations}


@pytest.fixture(scope="session")
def limited_server(request):
    """A third server with tight resource limits: 2 projects, 2 MiB of embeddings per
    project, 1 MiB of embeddings per AddResponses call."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-pytest-limits-"))
    proc = ServerProcess(_server_jar(request), work,
                         ("--max-projects", "2", "--max-pool-mib-per-project", "2", "--max-call-mib", "1"))
    yield proc
    proc.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def silent_target():
    """HOST:PORT of a socket that takes TCP connections but never answers HTTP/2: a call there
    waits until its own deadline, so deadline tests get DEADLINE_EXCEEDED from the client
    every time. (Against the real server a tiny deadline races the server's own cancellation
    and the server's speed; both made such tests flaky.)"""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        yield f"127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()


# -- Label Studio (tests/label_studio_server.py)

_label_studio = None


def pytest_collection_finish(session):
    """Starts Label Studio in the background once collection (after -k / deselection) shows a
    test that needs it, so its migrations run while the other tests do; the fixture below
    waits for it."""
    global _label_studio
    if _label_studio is None and any("label_studio" in getattr(item, "fixturenames", ()) for item in session.items):
        from label_studio_server import LabelStudioServer

        _label_studio = LabelStudioServer()


def pytest_unconfigure(config):
    if _label_studio is not None:
        _label_studio.stop()


@pytest.fixture(scope="session")
def label_studio():
    """The session's Label Studio server (url, token), ready to take API calls."""
    if _label_studio is None:
        pytest.fail("the Label Studio server was not started at collection", pytrace=False)
    try:
        return _label_studio.wait_ready()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def ls(label_studio):
    """A label_studio_sdk client on the session's server."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=label_studio.url, api_key=label_studio.token, timeout=60)
