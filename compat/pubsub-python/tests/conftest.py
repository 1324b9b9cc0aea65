"""A forcebus server for the suite, and Python stubs generated from the proto shipped
inside the npm package salesforce-pubsub-api-client (compat/pubsub-node installs it)."""

from __future__ import annotations

import importlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

COMPAT_DIR = Path(__file__).resolve().parents[2]
REPO_DIR = COMPAT_DIR.parent
BIN = os.environ.get("FORCEBUS_BIN") or str(REPO_DIR / "target" / "debug" / "forcebus")
CONFIG = os.environ.get("COMPAT_FORCEBUS_CONFIG") or str(COMPAT_DIR / "fixtures" / "forcebus-pubsub.toml")
LOG_DIR = Path(os.environ.get("COMPAT_LOG_DIR") or COMPAT_DIR / ".work" / "logs")
READY_TIMEOUT = float(os.environ.get("COMPAT_READY_TIMEOUT_MS", "30000")) / 1000
PROTO = COMPAT_DIR / "pubsub-node" / "node_modules" / "salesforce-pubsub-api-client" / "pubsub_api.proto"


@dataclass
class Server:
    info: dict[str, Any]
    proc: subprocess.Popen
    data_dir: str

    def metadata(self, token: str | None = None, tenant: str | None = None) -> tuple:
        """The three keys every Salesforce example sends on every call."""
        return (
            ("accesstoken", token if token is not None else self.info["access_token"]),
            ("instanceurl", f"https://{self.info['http']}"),
            ("tenantid", tenant if tenant is not None else self.info["org_id"]),
        )

    def rest(self, method: str, path: str, body: dict | None = None) -> Any:
        req = urllib.request.Request(
            f"http://{self.info['http']}/services/data/v59.0{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.info['access_token']}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_server(name: str) -> Server:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"pubsub-python-{name}.log", "wb")  # noqa: SIM115 - closed by the pump
    data_dir = tempfile.mkdtemp(prefix=f"forcebus-pubsub-python-{name}-")
    args = [BIN, "serve", "--in-memory", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
            "--grpc-listen", "127.0.0.1:0", "--config", CONFIG]
    log.write(("$ " + " ".join(args) + "\n").encode())
    log.flush()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    lines: queue.Queue[bytes | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            log.write(b"[stdout] " + raw)
            log.flush()
            lines.put(raw)
        lines.put(None)
        log.close()

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            raw = lines.get(timeout=READY_TIMEOUT)
        except queue.Empty:
            proc.kill()
            raise RuntimeError(f"forcebus printed no ready line within {READY_TIMEOUT}s") from None
        if raw is None:
            raise RuntimeError(f"forcebus exited with {proc.wait()} before it was ready")
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("event") == "ready":
            return Server(info=msg, proc=proc, data_dir=data_dir)


@pytest.fixture(scope="session")
def pb():
    """(pubsub_api_pb2, pubsub_api_pb2_grpc), generated with grpc_tools from the npm
    package's proto."""
    if not PROTO.exists():
        pytest.fail(f"{PROTO} is missing: run `compat/run pubsub-python` (it installs compat/pubsub-node)")
    from grpc_tools import protoc

    out = Path(tempfile.mkdtemp(prefix="forcebus-pubsub-gen-"))
    rc = protoc.main(["protoc", f"-I{PROTO.parent}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO)])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("pubsub_api_pb2"), importlib.import_module("pubsub_api_pb2_grpc")
    finally:
        shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = start_server("suite")
    yield srv
    srv.stop()


@pytest.fixture
def stub(server: Server, pb):
    """A stub on a plaintext channel to the gRPC port."""
    channel = grpc.insecure_channel(server.info["grpc"])
    yield pb[1].PubSubStub(channel)
    channel.close()
