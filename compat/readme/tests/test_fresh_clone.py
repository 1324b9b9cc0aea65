"""The README's first block, run as a newcomer would: from a fresh copy of the
repository (its tracked files as they are in this working tree, so an unstaged edit is
tested too but an untracked file a clone would lack is not there), command by command.

`cargo run --release -- serve` runs exactly as written, with the build cache of this
checkout (`CARGO_TARGET_DIR`) so it stays fast, and `FORCEBUS_LISTEN` /
`FORCEBUS_GRPC_LISTEN` picking free ports. `./scripts/test` is what CI runs, and this test
is part of it, so it is not run again from here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
import requests

from blocks import FIRST_COMMANDS, blocks
from conftest import REPO_DIR


def fresh_copy() -> Path:
    """The tracked files, not a `git clone`: a clone would test the last commit and miss
    the edit under test. Modification times are kept (copy2) so cargo's fingerprints of
    the workspace crates still match the shared target dir and nothing is rebuilt."""
    root = Path(tempfile.mkdtemp(prefix="forcebus-clone-"))
    files = subprocess.run(["git", "-C", str(REPO_DIR), "ls-files", "-z"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = REPO_DIR / f
        if src.is_file():
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / f)
    return root


def first_commands() -> list[str]:
    return next(b for b in blocks() if b.kind == "first-commands").commands()


def test_the_first_command_serves_from_a_fresh_clone():
    command = "cargo run --release -- serve"
    assert command in first_commands()
    clone = fresh_copy()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORCEBUS_")}
    env.update(CARGO_TARGET_DIR=str(REPO_DIR / "target"), FORCEBUS_LISTEN="127.0.0.1:0",
               FORCEBUS_GRPC_LISTEN="127.0.0.1:0")
    log = open(clone / "serve.log", "w")
    proc = subprocess.Popen(command, shell=True, cwd=clone, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(1800)  # a cold release build on two cores takes minutes
        assert line and line[0].strip(), (clone / "serve.log").read_text()[-3000:]
        ready = json.loads(line[0])
        r = requests.get(f"http://{ready['http']}/services/data", timeout=30)
        assert r.status_code == 200, r.text
        assert (clone / ".forcebus" / "forcebus.db").exists(), "data goes to ./.forcebus"
        # SIGTERM to the server itself (its pid is in the data dir's lock file): cargo
        # waits for it and exits with its status.
        server_pid = int((clone / ".forcebus" / "forcebus.lock").read_text().strip())
        os.kill(server_pid, signal.SIGTERM)
        assert proc.wait(15) == 0, (clone / "serve.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(clone, ignore_errors=True)


def test_scripts_test_is_left_to_ci():
    assert "./scripts/test" in first_commands()
    pytest.skip(f"./scripts/test: {FIRST_COMMANDS['./scripts/test']}")


def test_the_documented_install_puts_forcebus_on_the_path():
    """The README's `cargo install ... --path crates/server` (extracted from its text),
    from a fresh copy, into a temporary root, sharing the build cache."""
    text = (REPO_DIR / "README.md").read_text()
    found = re.findall(r"`(cargo install [^`]+)`", text)
    assert found, "the README documents cargo install"
    clone = fresh_copy()
    root = Path(tempfile.mkdtemp(prefix="forcebus-install-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORCEBUS_")}
        env.update(CARGO_TARGET_DIR=str(REPO_DIR / "target"), CARGO_INSTALL_ROOT=str(root))
        for command in found:
            r = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True,
                               text=True, timeout=1800)
            assert r.returncode == 0, f"{command}\n{r.stderr[-3000:]}"
        r = subprocess.run([str(root / "bin" / "forcebus"), "--version"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and r.stdout.startswith("forcebus "), r.stdout + r.stderr
    finally:
        shutil.rmtree(clone, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
