"""Schemathesis (a kept OpenAPI fuzzer) against the live server, as an API client would try it:
every operation, every check, signed in with a bearer token and signed out. It must find nothing:
no server error, no undocumented status or header, no valid request refused, no invalid one
accepted, an Allow header on every 405, writes refused without credentials."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS
from webfixtures import kb_cli as kb, LiveServer

EXAMPLES = 25  # per operation and phase: the two runs take about half a minute together
SEED = 12




@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    (base / "corpus").mkdir()
    for name in ("002_001294e5f676bdea", "004_5fcda69d96d769ba"):
        for suffix in (".txt", ".meta.json"):
            if (CORPUS / (name + suffix)).exists():
                (base / "corpus" / (name + suffix)).write_bytes((CORPUS / (name + suffix)).read_bytes())
    assert kb("index", base / "corpus", "--index", base / "index").returncode == 0
    env = {"KB_BASKET_DB": str(base / "var" / "basket.sqlite")}
    assert kb("admin", "add", "fuzzer", "--password-stdin", env=env, stdin="correct horse\n").returncode == 0
    token = kb("admin", "token", "fuzzer", env=env).stdout.strip()
    live = LiveServer(base / "index", base / "var" / "basket.sqlite")
    yield live, token, base
    live.stop()


def schemathesis(url: str, cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    st = [sys.executable, "-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"]
    command = [*st, "run", url + "/api/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES),
               "--seed", str(SEED), "--workers", "1", "--request-timeout", "30", *extra]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""})


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_schemathesis_finds_nothing(served, signed_in):
    live, token, base = served
    extra = ["-H", f"Authorization: Bearer {token}"] if signed_in else []
    run = schemathesis(live.url, base, *extra)
    summary = run.stdout[-3000:]
    print(summary)
    assert run.returncode == 0, summary + run.stderr[-2000:]
    assert " generated, " in summary and " passed" in summary
    assert "Traceback" not in live.output()
