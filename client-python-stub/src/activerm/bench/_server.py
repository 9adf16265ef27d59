"""Starts the packaged server jar on a free loopback port with a temporary data directory."""
from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import tempfile
import time

_LISTENING = re.compile(r"activerm listening on port (\d+)")


class JarServer:
    """``with JarServer(jar) as s: s.target`` -> "127.0.0.1:PORT"; stopped and cleaned up on exit."""

    def __init__(self, jar: str | pathlib.Path, *, java_opts: tuple[str, ...] = ("-Xmx2g",),
                 start_timeout_s: float = 120.0) -> None:
        self.jar = pathlib.Path(jar).resolve()
        if not self.jar.is_file():
            raise FileNotFoundError(f"server jar not found at {self.jar}; build it with: "
                                    "mvn -B -q -pl server -am package -DskipTests")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is not on PATH; --server-jar needs it (or pass --target HOST:PORT)")
        self._work = pathlib.Path(tempfile.mkdtemp(prefix="activerm-bench-"))
        self.log_path = self._work / "server.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [java, *java_opts, "-jar", str(self.jar), "--bind", "127.0.0.1", "--port", "0",
             "--data-dir", str(self._work / "data")],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout_s
        while True:
            m = _LISTENING.search(self.log_path.read_text(errors="replace"))
            if m:
                self.target = f"127.0.0.1:{m.group(1)}"
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                text = self.log_path.read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"the server did not start listening:\n{text}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self._work, ignore_errors=True)

    def __enter__(self) -> "JarServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
