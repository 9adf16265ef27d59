"""A real Label Studio server for the integration tests: loopback only, nothing sent outside.

Started once per pytest session, in the background as soon as collection shows a test that
needs it (its ~60 s of database migrations on a fresh data dir then overlap the other tests),
and stopped with SIGTERM to its own pid at the end; its temp dir (HOME and data dir) is removed.

The environment is built from scratch rather than inherited: Label Studio also reads the
unprefixed USERNAME, PASSWORD, HOST and PORT. With the variables below it makes no outbound
connection (no version check, no analytics, no Sentry), and the fixed token works only with
the legacy API token switched on.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

USERNAME = "activerm-test@example.com"
PASSWORD = "activerm-test-password"
TOKEN = "activerm0test0token0123456789abcdef"
START_TIMEOUT_S = 300  # fresh migrations take ~60 s alone; the machine is shared


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabelStudioServer:
    def __init__(self) -> None:
        exe = pathlib.Path(sys.executable).with_name("label-studio")
        if not exe.is_file():
            raise RuntimeError(f"label-studio is not installed next to {sys.executable}; "
                               "install the test extra: pip install -e '.[test]'")
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-label-studio-"))
        self.port = _free_loopback_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = TOKEN
        self.log_path = self.work / "label-studio.log"
        env = {
            "PATH": f"{exe.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "LANG": "C.UTF-8",
            "HOME": str(self.work / "home"),
            "LABEL_STUDIO_BASE_DATA_DIR": str(self.work / "data"),
            "LABEL_STUDIO_USERNAME": USERNAME,
            "LABEL_STUDIO_PASSWORD": PASSWORD,
            "LABEL_STUDIO_USER_TOKEN": TOKEN,
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
        }
        (self.work / "home").mkdir()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(self.port)],
            env=env, cwd=self.work, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        self._ready = False

    def wait_ready(self) -> "LabelStudioServer":
        """Blocks until /health answers and the token is accepted (or fails with the log)."""
        if self._ready:
            return self
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"label-studio exited with {self.proc.returncode}:\n{self.log_text()}")
            if self._answers("/api/current-user/whoami", auth=True):
                self._check_loopback_only()
                self._ready = True
                return self
            time.sleep(0.5)
        raise RuntimeError(f"label-studio did not answer within {START_TIMEOUT_S} s:\n{self.log_text()}")

    def _answers(self, path: str, auth: bool) -> bool:
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Token {self.token}"} if auth else {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def _check_loopback_only(self) -> None:
        """Every socket listening on our port is bound to 127.0.0.1 (from /proc/net/tcp{,6})."""
        wanted = f"{self.port:04X}"
        bound = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = pathlib.Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, port = local.rsplit(":", 1)
                if port == wanted and state == "0A":  # 0A: LISTEN
                    bound.append(address)
        if not bound or any(a != "0100007F" for a in bound):
            self.stop()
            raise RuntimeError(f"label-studio listens on {bound} (hex), not only on 127.0.0.1")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.work, ignore_errors=True)
