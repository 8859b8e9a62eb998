"""Run Python inside a network namespace of its own, for tests about addresses we must never reach.

The namespace has no interface but a (down) loopback, so nothing sent there can leave the
machine, even if the code under test were wrong. Its ``/etc/hosts`` is replaced by the names the
test gives, so name resolution never asks a DNS server either (it fails at once instead).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# `$0` is the hosts file; the remaining arguments are the command to run.
_ENTER = 'mount --bind "$0" /etc/hosts && exec "$@"'


@functools.cache
def unavailable() -> str | None:
    """Why no isolated namespace can be made here (None when one can)."""
    if shutil.which("unshare") is None:
        return "the unshare command is not installed"
    probe = subprocess.run(
        ["unshare", "-rnm", "true"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode:
        return f"unshare cannot create a network namespace: {probe.stderr.strip()}"
    return None


def run_python(code: str, *args: str, hosts: Mapping[str, str] | None = None) -> str:
    """Run ``python -c code args...`` isolated, with ``hosts`` (name -> address) as its hosts file.

    Returns its standard output; skips the calling test when namespaces are unavailable.
    """
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    lines = [
        "127.0.0.1 localhost",
        *(f"{address} {name}" for name, address in (hosts or {}).items()),
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".hosts") as hosts_file:
        hosts_file.write("\n".join(lines) + "\n")
        hosts_file.flush()
        command = ["unshare", "-rnm", "sh", "-c", _ENTER, hosts_file.name]
        done = subprocess.run(
            [*command, sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert done.returncode == 0, f"isolated run failed:\n{done.stderr}"
    return done.stdout
