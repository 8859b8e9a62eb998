"""A datasette (``aggregator serve``, or datasette itself) in a process of its own, until a
block ends: for tests/test_serve.py and docs/screenshot.py."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_datasette(
    argv: list[str],
    port: int,
    log: Path,
    *,
    host: str = "127.0.0.1",
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    wait: float = 20,
    timeout: float = 10,
) -> Iterator[httpx.Client]:
    """Run ``argv``, a datasette on ``host:port`` (its output to ``log``), until the block ends;
    a client of it once it answers. Raises RuntimeError, with the log, when it exits or does
    not answer within ``wait`` seconds."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(
            base_url=f"http://{host}:{port}", trust_env=False, timeout=timeout
        ) as client:
            deadline = time.monotonic() + wait
            while True:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"datasette exited with {process.returncode}:\n{log.read_text()}"
                    )
                try:
                    if client.get("/-/versions.json").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"datasette did not answer within {wait:g} s:\n{log.read_text()}"
                    )
                time.sleep(0.1)
            yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
