"""pytest fixtures for forcebus: a server for the session, a fresh org for each test.

``forcebus_server`` reuses the server at ``FORCEBUS_URL`` (with ``FORCEBUS_ADMIN_KEY``) or
starts ``forcebus serve --in-memory`` on free ports; ``forcebus_org`` makes an org through
the server's admin API (``POST /forcebus/v1/orgs``) and deletes it after the test, so
tests, and pytest-xdist workers, never see each other's records or events.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

__all__ = ["ForcebusServer", "ForcebusOrg"]

# Variables this plugin reads; a server it starts does not see them (it reads FORCEBUS_*
# as its own configuration).
_OWN = ("FORCEBUS_BIN", "FORCEBUS_URL", "FORCEBUS_ADMIN_KEY")
_READY_TIMEOUT = 60.0


@dataclass
class ForcebusOrg:
    """One org's credentials: the keys of the server's ready line."""

    org_id: str
    name: str
    user_id: str
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    access_token: str
    instance_url: str
    api_version: str
    raw: Dict[str, Any] = field(repr=False, default_factory=dict)

    def create_user(self, username: str, *, profile: Optional[str] = None,
                    permission_sets: Optional[List[str]] = None,
                    permission_set: Optional[dict] = None,
                    password: Optional[str] = None) -> Dict[str, Any]:
        """Makes a user of this org in one call (``POST /forcebus/v1/control/users``): with
        ``profile`` (Standard User when unset), the ``permission_sets`` it names, and
        ``permission_set`` (``{"name", "objects", "fields", "user_permissions"}``) made
        first. Returns ``{"id", "username", "profile", "access_token", "instance_url"}``:
        the token signs a client in as that user."""
        body: Dict[str, Any] = {"username": username, "permission_sets": permission_sets or []}
        if profile:
            body["profile"] = profile
        if permission_set:
            body["permission_set"] = permission_set
        if password:
            body["password"] = password
        request = urllib.request.Request(
            self.instance_url.rstrip("/") + "/forcebus/v1/control/users",
            data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.access_token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"forcebus answered {e.code} to a new user: {e.read().decode()}") from None


class ForcebusServer:
    """A running server and its admin API."""

    def __init__(self, url: str, admin_key: str, process: Optional[subprocess.Popen] = None,
                 ready: Optional[Dict[str, Any]] = None, data_dir: Optional[str] = None) -> None:
        self.url = url.rstrip("/")
        self.admin_key = admin_key
        self.process = process
        self.ready = ready or {}
        self.data_dir = data_dir

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.admin_key}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"forcebus answered {e.code} to {method} {path}: {e.read().decode()}") from None
        return json.loads(text) if text else None

    def create_org(self, name: Optional[str] = None, config: Optional[dict] = None) -> ForcebusOrg:
        """Makes an org; `config` takes the config file's users, app, objects,
        platform_events and cdc_entities sections."""
        body: Dict[str, Any] = {}
        if name:
            body["name"] = name[:80]
        if config:
            body["config"] = config
        made = self._call("POST", "/forcebus/v1/orgs", body)
        keys = ForcebusOrg.__dataclass_fields__.keys() - {"raw"}
        return ForcebusOrg(**{k: made.get(k, "") for k in keys}, raw=made)

    def delete_org(self, org_id: str) -> None:
        self._call("DELETE", f"/forcebus/v1/orgs/{org_id}")

    def reset_org(self, org_id: str) -> dict:
        return self._call("POST", f"/forcebus/v1/orgs/{org_id}/reset")

    def orgs(self) -> List[dict]:
        return self._call("GET", "/forcebus/v1/orgs")["orgs"]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_server(binary: Optional[str] = None, args: Optional[List[str]] = None) -> ForcebusServer:
    """Starts `forcebus serve --in-memory` on free ports and waits for its ready line."""
    binary = binary or os.environ.get("FORCEBUS_BIN") or shutil.which("forcebus")
    if not binary:
        raise RuntimeError("no forcebus binary: set FORCEBUS_BIN, put forcebus on PATH, "
                           "or point FORCEBUS_URL and FORCEBUS_ADMIN_KEY at a running server")
    env = {k: v for k, v in os.environ.items() if k not in _OWN}
    # Its certificates go to a directory of its own, removed when it stops.
    data_dir = tempfile.mkdtemp(prefix="forcebus-")
    command = [binary, "serve", "--in-memory", "--data-dir", data_dir, "--listen", "127.0.0.1:0",
               "--grpc-listen", "127.0.0.1:0", *(args or [])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=env, text=True)
    ready: Dict[str, Any] = {}

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{") and '"ready"' in line:
                ready.update(json.loads(line))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(_READY_TIMEOUT)
    if not ready:
        process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
        raise RuntimeError(f"forcebus did not print its ready line within {_READY_TIMEOUT:.0f} s")
    return ForcebusServer(ready["instance_url"], ready["admin_key"], process, ready, data_dir)


@pytest.fixture(scope="session")
def forcebus_server() -> Iterator[ForcebusServer]:
    """A forcebus server for the session: the one at FORCEBUS_URL, or one started here."""
    url, key = os.environ.get("FORCEBUS_URL"), os.environ.get("FORCEBUS_ADMIN_KEY")
    if url and key:
        yield ForcebusServer(url, key)
        return
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def forcebus_org_factory(forcebus_server: ForcebusServer, request) -> Iterator[Callable[..., ForcebusOrg]]:
    """Makes orgs (`factory(name=None, config=None)`), each deleted after the test."""
    made: List[ForcebusOrg] = []

    def factory(name: Optional[str] = None, config: Optional[dict] = None) -> ForcebusOrg:
        org = forcebus_server.create_org(name or request.node.name, config)
        made.append(org)
        return org

    yield factory
    for org in made:
        try:
            forcebus_server.delete_org(org.org_id)
        except RuntimeError:
            pass


@pytest.fixture
def forcebus_org(forcebus_org_factory) -> ForcebusOrg:
    """A fresh org for this test, deleted after it."""
    return forcebus_org_factory()
