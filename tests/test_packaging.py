"""What the Docker image and `pip install .` rely on: the wheel's contents and the Dockerfile.

No Docker engine runs on our CI machines, so the image's contract is checked here instead:
the wheel `pip install .` builds holds every module and the console script, and the Dockerfile
runs that install on a slim base as a non-root user, with `archive/` as a volume, the daemon as
its command (exec form, so SIGTERM reaches it) and `aggregator status --check` as its health check.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dockerfile() -> dict[str, list[str]]:
    """Instruction -> its arguments (continuation lines joined), in order."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.setdefault(word.upper(), []).append(" ".join(rest.split()))
    return found


def test_dockerfile_runs_the_daemon_as_a_non_root_user_with_a_health_check() -> None:
    image = dockerfile()
    (base,) = image["FROM"]
    assert re.fullmatch(r"python:3\.1\d+-slim", base)
    assert image["USER"] == ["app"]
    assert any("useradd" in run and "app" in run for run in image["RUN"])
    assert any("pip install ." in run for run in image["RUN"])
    assert image["VOLUME"] == ['["/app/archive"]']
    assert image["WORKDIR"] == ["/app"]
    assert image["ENTRYPOINT"] == ['["aggregator"]']
    assert image["CMD"] == ['["run"]']
    (health,) = image["HEALTHCHECK"]
    assert health.endswith('CMD ["aggregator", "status", "--check"]')
    assert "curl" not in " ".join(image["RUN"]) + health


@pytest.mark.slow
def test_the_wheel_holds_every_module_its_data_and_the_console_script(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("aggregator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "aggregator").rglob("*.py")}
    assert modules <= names
    # Package data, such as what `aggregator serve` hands datasette (metadata, canned queries).
    data = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "aggregator").rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"}
    }
    assert {"aggregator/datasette/metadata.json", "aggregator/datasette/queries/search.sql"} <= data
    assert data <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "aggregator = aggregator.cli:main" in text
    assert not any(n.startswith(("tests/", "archive/", "benchmarks/")) for n in names)
