"""Starting, waiting for and stopping credwatch processes in the reliability tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

CREDWATCH = str(Path(sys.executable).with_name("credwatch"))


class Process:
    """One credwatch command running in the background, its output in a file."""

    def __init__(self, args: list[str], *, env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(
            [CREDWATCH, *self.args],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        handle.close()
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up, as in a crash or an OOM kill."""
        if self.running:
            assert self.popen is not None
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL if it will not go."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Server(Process):
    """`credwatch serve` on a loopback port."""

    def __init__(self, *, port: int, env: dict[str, str], log: Path) -> None:
        super().__init__(
            ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, log=log
        )
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, timeout: float = 60.0) -> Server:
        wait_until(
            lambda: self._ready(),
            timeout,
            f"{self.url} did not become ready:\n{self.output()[-3000:]}",
        )
        return self

    def _ready(self) -> bool:
        if not self.running:
            raise AssertionError(f"server exited:\n{self.output()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def wait_until(
    condition: Callable[[], bool], timeout: float, message: str, pause: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(pause)
    raise AssertionError(message)
