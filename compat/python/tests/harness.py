"""Starting a forcebus server, and helpers shared by the tests.

Contract: ``$FORCEBUS_BIN serve ...`` prints one JSON line
``{"event": "ready", "http": "127.0.0.1:PORT", ...}`` on stdout once it
listens; the port answers plain HTTP and TLS (CA in ``ca_cert``).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

COMPAT_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = COMPAT_DIR.parent
BIN = os.environ.get("FORCEBUS_BIN") or str(REPO_DIR / "target" / "debug" / "forcebus")
CONFIG = os.environ.get("COMPAT_FORCEBUS_CONFIG") or str(COMPAT_DIR / "fixtures" / "forcebus.toml")
LOG_DIR = Path(os.environ.get("COMPAT_LOG_DIR") or COMPAT_DIR / ".work" / "logs")
READY_TIMEOUT = float(os.environ.get("COMPAT_READY_TIMEOUT_MS", "30000")) / 1000

API_VERSION = "59.0"
# Hosts simple-salesforce builds its login URLs from; `forcebus.my` is the
# "My Domain" used for the client-credentials flow (which refuses login/test).
MY_DOMAIN = "forcebus.my"
LOGIN_HOSTS = (
    "https://login.salesforce.com",
    "https://test.salesforce.com",
    f"https://{MY_DOMAIN}.salesforce.com",
)


@dataclass
class Server:
    """A running forcebus and what its ready line told us."""

    info: dict[str, Any]
    proc: subprocess.Popen
    data_dir: str
    log_path: Path
    owns_data_dir: bool = True

    @property
    def port(self) -> int:
        return int(self.info["http"].rsplit(":", 1)[1])

    @property
    def https_base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def instance(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> str:
        return self.info["ca_cert"]

    def kill(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGKILL after 5 s) and wait for the exit; keeps the
        data directory. Returns the exit status (negative: the signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_server(name: str, config: str | None = None, *, data_dir: str | None = None,
                 in_memory: bool = True, listen: tuple[str, str] | None = None,
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> Server:
    """Spawn forcebus and wait for its ready line (``config``: a server config
    file other than the suite's default ``CONFIG``; ``data_dir``: a data
    directory of the caller's, which ``stop()`` keeps; ``in_memory=False``: keep
    the data on disk, so a later server on the same ``data_dir`` sees it;
    ``listen``: the HTTP and gRPC addresses instead of free ports; ``extra``:
    more flags; ``env``: more environment variables)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"python-{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed when the process ends
    owns_data_dir = data_dir is None
    data_dir = data_dir or tempfile.mkdtemp(prefix=f"forcebus-python-{name}-")
    args = [
        BIN, "serve", *(["--in-memory"] if in_memory else []),
        "--data-dir", data_dir,
        "--listen", (listen or ("127.0.0.1:0", ""))[0],
        "--grpc-listen", (listen or ("", "127.0.0.1:0"))[1],
        "--config", config or CONFIG,
        *(extra or []),
    ]
    log.write(("$ " + " ".join(args) + "\n").encode())
    log.flush()
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                env={**os.environ, **(env or {})})
    except OSError as exc:
        raise RuntimeError(f"cannot start {BIN}: {exc}") from exc

    lines: queue.Queue[bytes | None] = queue.Queue()

    def pump() -> None:
        # Keep draining stdout for the whole life of the server.
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(b"[stdout] " + raw)
            log.flush()
            lines.put(raw)
        lines.put(None)
        log.close()

    threading.Thread(target=pump, daemon=True).start()

    ready = None
    try:
        while ready is None:
            raw = lines.get(timeout=READY_TIMEOUT)
            if raw is None:
                raise RuntimeError(
                    f"forcebus exited with {proc.wait()} before it was ready (log: {log_path})")
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get("event") == "ready":
                ready = msg
    except queue.Empty:
        proc.kill()
        raise RuntimeError(
            f"forcebus printed no ready line within {READY_TIMEOUT}s (log: {log_path})") from None
    return Server(info=ready, proc=proc, data_dir=data_dir, log_path=log_path, owns_data_dir=owns_data_dir)


class LocalLoginSession(requests.Session):
    """A requests session that sends simple-salesforce's hard-coded login
    hosts to the local server instead, keeping https, and remembers every
    request it made."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self.server = server
        self.verify = server.ca_cert
        self.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE from outside
        self.calls: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        for host in LOGIN_HOSTS:
            if url.startswith(host):
                url = self.server.https_base + url[len(host):]
                break
        self.calls.append((method.upper(), url))
        return super().request(method, url, *args, **kwargs)

    def login_calls(self) -> list[tuple[str, str]]:
        return [
            c for c in self.calls
            if "/services/Soap/u/" in c[1] or c[1].endswith("/services/oauth2/token")
        ]


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def revoke(server: Server, token: str) -> None:
    resp = requests.post(
        f"{server.https_base}/services/oauth2/revoke",
        data={"token": token},
        verify=server.ca_cert,
        timeout=10,
    )
    assert resp.status_code == 200, f"revoke answered {resp.status_code}: {resp.text}"


class Postgres:
    """A real PostgreSQL server in a temporary directory (``initdb``, ``pg_ctl``
    on a free port), stopped and removed by ``stop()``. As root it runs as the
    ``postgres`` user (PostgreSQL refuses root)."""

    def __init__(self) -> None:
        import glob
        import socket

        found = shutil.which("initdb")
        bindir = str(Path(found).parent) if found else None
        if bindir is None:
            versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                              key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
            bindir = str(Path(versions[-1]).parent) if versions else None
        if bindir is None:
            raise RuntimeError("PostgreSQL's initdb is not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="forcebus-python-pg-")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._run("initdb", "-D", f"{self.dir}/data", "-U", "forcebus", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    @property
    def url(self) -> str:
        return f"postgres://forcebus@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        cmd = [f"{self.bindir}/{program}", *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.dir)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
