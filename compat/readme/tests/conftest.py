"""The server the README's snippets talk to, and how a snippet is made to point at it.

Substitutions (the only edits made to a snippet before it runs): the README's addresses
`127.0.0.1:8080` / `localhost:8080` and `localhost:7443` become the test server's ports,
`<access_token from the banner>` its token; `TOKEN` and `ORG_ID` are defined for every
snippet (as the README says: the token and org id from the banner); snippets run in a
directory whose `.forcebus/` is the server's data dir, so `.forcebus/ca.pem` and
`forcebus env` find it, with the built `forcebus` first on `PATH`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

COMPAT_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = COMPAT_DIR.parent
BIN = os.environ.get("FORCEBUS_BIN") or str(REPO_DIR / "target" / "debug" / "forcebus")
LOG_DIR = Path(os.environ.get("COMPAT_LOG_DIR") or COMPAT_DIR / ".work" / "logs")


class Readme:
    """A running server and the directory snippets run in."""

    def __init__(self, workdir: Path, proc: subprocess.Popen, info: dict):
        self.workdir = workdir
        self.proc = proc
        self.info = info
        self.http = info["http"]
        self.grpc_port = info["grpc"].rsplit(":", 1)[1]
        self.http_port = self.http.rsplit(":", 1)[1]

    def substitute(self, code: str) -> str:
        return (
            code.replace("127.0.0.1:8080", self.http)
            .replace("localhost:8080", f"localhost:{self.http_port}")
            .replace("localhost:7443", f"localhost:{self.grpc_port}")
            .replace("<access_token from the banner>", self.info["access_token"])
        )

    def env(self, **extra: str) -> dict:
        env = dict(os.environ)
        # The harness's own variables would be read as server configuration.
        for k in [k for k in env if k.startswith("FORCEBUS_")]:
            del env[k]
        env["PATH"] = f"{Path(BIN).parent}{os.pathsep}{env['PATH']}"
        env["TOKEN"] = self.info["access_token"]
        env["ORG_ID"] = self.info["org_id"]
        env["ADMIN_KEY"] = self.info["admin_key"]
        env.update(extra)
        return env


def start(args: list[str], cwd: Path, log_name: str) -> tuple[subprocess.Popen, dict]:
    """Starts `forcebus serve ARGS` in `cwd` and waits for its ready line."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"readme-{log_name}.log", "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORCEBUS_")}
    proc = subprocess.Popen(
        [BIN, "serve", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=log, text=True, env=env
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(60)
    if not line or not line[0].strip():
        proc.kill()
        raise AssertionError(f"no ready line from forcebus {args} (log: {log.name})")
    return proc, json.loads(line[0])


@pytest.fixture(scope="session")
def readme():
    workdir = Path(tempfile.mkdtemp(prefix="forcebus-readme-"))
    proc, info = start(
        [
            "--in-memory",
            "--data-dir",
            str(workdir / ".forcebus"),
            "--listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "127.0.0.1:0",
        ],
        workdir,
        "server",
    )
    yield Readme(workdir, proc, info)
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)
