"""Every fenced block of README.md, read from it when the tests run, against a real
`forcebus serve --in-memory` (one per session; see ``conftest.py``).

Substitutions, the only edits made to a snippet: `127.0.0.1:8080` / `localhost:8080` and
`localhost:7443` become the test server's HTTP and gRPC addresses, `<access_token from the
banner>` its token; `TOKEN` and `ORG_ID` are defined (shell variables, JS constants, a
Python global); the working directory holds the server's data dir as `.forcebus/`, so
`.forcebus/ca.pem` and `forcebus env` find it, with the built `forcebus` first on `PATH`.

Checks, by the block's kind (``blocks.py``; a kind no check knows fails):
- sh: bash -euo pipefail, exit 0; curl gets --fail, and each curl prints one JSON body
  without an errorCode. Docker blocks run scripts/docker-test where `docker info`
  succeeds, else skip. The first block is ``test_fresh_clone.py``'s.
- json: the ready line has the real one's keys; the PushTopic notification the shape of
  one received over CometD.
- js: node, jsforce in scope (CommonJS) or as ESM for the Pub/Sub client; a subscribing
  snippet runs until an Account created over REST prints its CREATE, then is killed.
- python: the compat venv, with and without REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE pointing at
  another CA bundle.
- toml: served as a config file from another directory (paths are relative to the file);
  one declaring objects describes them, formula and summary fields calculated, and the
  README's Account example computes its formula and refuses a record breaking its rule.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from blocks import FIRST_COMMANDS, README, Block, blocks
from conftest import BIN, COMPAT_DIR, REPO_DIR, Readme, start

BLOCKS = blocks()


def rest(readme: Readme, method: str, path: str, **kw) -> requests.Response:
    return requests.request(
        method,
        f"http://{readme.http}/services/data/v62.0{path}",
        headers={"Authorization": f"Bearer {readme.info['access_token']}"},
        timeout=30,
        **kw,
    )


def shape(v):
    """A JSON value's shape: objects by their keys, recursively; anything else by type."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v[:1]]
    return type(v).__name__ if v is not None else "null"


def node_snippet(readme: Readme, block: Block, esm: bool) -> Path:
    """Writes the snippet where its packages resolve: jsforce in compat/node, the Pub/Sub
    client in compat/pubsub-node. `TOKEN` and `ORG_ID` are defined first."""
    code = readme.substitute(block.code)
    consts = (
        f"const TOKEN = {json.dumps(readme.info['access_token'])};\n"
        f"const ORG_ID = {json.dumps(readme.info['org_id'])};\n"
    )
    if esm:
        body = consts + code
        where = COMPAT_DIR / "pubsub-node"
    else:
        body = (
            "const jsforce = require('jsforce');\n" + consts
            + "(async () => {\n" + code + "\n})().catch((e) => { console.error(e); process.exit(1); });\n"
        )
        where = COMPAT_DIR / "node"
    path = where / f".readme-{uuid.uuid4().hex[:8]}.{'mjs' if esm else 'cjs'}"
    path.write_text(body)
    return path


def run_node(readme: Readme, block: Block, esm: bool, expect: str | None = None) -> None:
    """Runs a snippet to its end, or, for a subscribing one, until its output matches the
    regex `expect` (an Account created over REST makes the CREATE change event)."""
    path = node_snippet(readme, block, esm)
    env = readme.env(NODE_EXTRA_CA_CERTS=readme.info["ca_cert"])
    try:
        if expect is None:
            r = subprocess.run(["node", str(path)], cwd=readme.workdir, env=env,
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, f"{block.id}\n{r.stdout}\n{r.stderr}"
            return
        out = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(["node", str(path)], cwd=readme.workdir, env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            # The snippet subscribes and prints what arrives: make a change until it does.
            deadline = time.time() + 30
            seen = ""
            while time.time() < deadline:
                time.sleep(1.5)
                if proc.poll() is not None:
                    out.seek(0)
                    raise AssertionError(f"{block.id} exited early:\n{out.read()}")
                r = rest(readme, "POST", "/sobjects/Account", json={"Name": "README"})
                assert r.status_code == 201, r.text
                out.seek(0)
                seen = out.read()
                if re.search(expect, seen, re.M):
                    return
            raise AssertionError(f"{block.id}: nothing matching {expect!r} printed; output:\n{seen}")
        finally:
            proc.kill()
            proc.wait()
    finally:
        path.unlink(missing_ok=True)


# curl as the README writes it, except that an HTTP error fails the block: plain curl
# exits 0 on a 401 or a 404 and the block would look fine.
# (--fail, not --fail-with-body: curl refuses the two together and the README uses -f.)
CURL_FAILS_ON_HTTP_ERRORS = 'curl() { command curl --fail "$@"; }\n'


def json_documents(text: str) -> list:
    """The JSON values printed one after another (curl adds no newline between bodies)."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    text = text.strip()
    while i < len(text):
        doc, i = decoder.raw_decode(text, i)
        docs.append(doc)
        while i < len(text) and text[i].isspace():
            i += 1
    return docs


def check_shell(readme: Readme, block: Block) -> None:
    script = "set -euo pipefail\n" + CURL_FAILS_ON_HTTP_ERRORS + readme.substitute(block.code)
    r = subprocess.run(["bash", "-c", script], cwd=readme.workdir, env=readme.env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{block.id}\n{r.stdout}\n{r.stderr}"
    # Each curl of the README talks to the REST API, and each `forcebus control` to the
    # test controls: one JSON body each, none an error.
    curls = len(re.findall(r"^\s*(curl|forcebus control|forcebus org)\b", block.code, re.M))
    try:
        docs = json_documents(r.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{block.id}: output is not JSON ({e}):\n{r.stdout}") from None
    assert len(docs) == curls, f"{block.id}: {curls} curl commands, {len(docs)} JSON bodies:\n{r.stdout}"
    assert '"errorCode"' not in r.stdout, f"{block.id}: an error came back:\n{r.stdout}"


def check_python(readme: Readme, block: Block) -> None:
    code = f"TOKEN = {readme.info['access_token']!r}\n" + readme.substitute(block.code)
    python = COMPAT_DIR / ".work" / "venv" / "bin" / "python"
    certifi = subprocess.run([str(python), "-c", "import certifi; print(certifi.where())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # With REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE set to another bundle (as on many CI
    # images: requests lets them win over `session.verify`) and without them.
    for bundle in (None, certifi):
        env = readme.env()
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            env.pop(var, None)
            if bundle:
                env[var] = bundle
        r = subprocess.run([str(python), "-c", code], cwd=readme.workdir, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{block.id} (REQUESTS_CA_BUNDLE={bundle})\n{r.stderr}"


def check_pytest_plugin(readme: Readme, block: Block) -> None:
    """A test module using the repository's pytest plugin (installed in the suite's venv):
    run by pytest, the plugin starting its own server from FORCEBUS_BIN."""
    python = COMPAT_DIR / ".work" / "venv" / "bin" / "python"
    work = Path(tempfile.mkdtemp(prefix="forcebus-readme-pytest-"))
    try:
        (work / "test_readme_snippet.py").write_text(block.code)
        env = readme.env(FORCEBUS_BIN=BIN)
        r = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(work)],
                           cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{block.id}\n{r.stdout}\n{r.stderr}"
        assert re.search(r"\b[1-9]\d* passed", r.stdout), f"{block.id}: no test ran\n{r.stdout}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_js_test_helper(readme: Readme, block: Block) -> None:
    """A test file using the repository's test helper, run by Vitest with its globals and by
    Jest, where its packages resolve; the helper starts a server from FORCEBUS_BIN."""
    node = COMPAT_DIR / "js-helper"
    path = node / "test" / f"readme-{uuid.uuid4().hex[:8]}.test.js"
    path.write_text(block.code)
    runners = {
        "vitest": ([str(node / "node_modules" / ".bin" / "vitest"), "run", "--globals", str(path)], {}),
        "jest": ([str(node / "node_modules" / ".bin" / "jest"), "--ci", "--runTestsByPath", str(path)],
                 {"NODE_OPTIONS": "--experimental-vm-modules"}),
    }
    try:
        for name, (command, extra) in runners.items():
            # NO_COLOR: both colour their summaries when CI is set (as on CI), read below.
            env = readme.env(FORCEBUS_BIN=BIN, NO_COLOR="1", **extra)
            r = subprocess.run(command, cwd=node, env=env, capture_output=True, text=True, timeout=300)
            out = r.stdout + r.stderr  # Jest writes its summary to stderr
            assert r.returncode == 0, f"{block.id} ({name})\n{out}"
            summary = re.sub(r"\x1b\[[0-9;]*m", "", out)
            assert re.search(r"Tests:? +[1-9]\d* passed", summary), f"{block.id} ({name}): no test ran\n{out}"
    finally:
        path.unlink(missing_ok=True)


def check_ready_line(readme: Readme, block: Block) -> None:
    documented = json.loads(block.code)
    assert set(documented) == set(readme.info), (
        f"{block.id}: the README's ready line has {sorted(documented)}, "
        f"the server's {sorted(readme.info)}"
    )


def check_pushtopic(readme: Readme, block: Block) -> None:
    documented = json.loads(block.code)
    name = documented["channel"].removeprefix("/topic/")
    fields = ", ".join(documented["data"]["sobject"])
    r = rest(readme, "POST", "/sobjects/PushTopic", json={
        "Name": name, "ApiVersion": 62.0,
        "Query": f"SELECT {fields} FROM Account WHERE Industry = 'Technology'",
    })
    assert r.status_code == 201, r.text
    cometd = f"http://{readme.http}/cometd/62.0"
    auth = {"Authorization": f"OAuth {readme.info['access_token']}"}
    s = requests.Session()
    hs = s.post(cometd, headers=auth, json=[{"channel": "/meta/handshake", "version": "1.0",
                "supportedConnectionTypes": ["long-polling"]}]).json()
    client = hs[0]["clientId"]
    s.post(cometd, headers=auth, json=[{"channel": "/meta/subscribe", "clientId": client,
           "subscription": documented["channel"]}])
    s.post(cometd, headers=auth, json=[{"channel": "/meta/connect", "clientId": client,
           "connectionType": "long-polling"}])
    r = rest(readme, "POST", "/sobjects/Account", json={"Name": "Acme", "Industry": "Technology"})
    assert r.status_code == 201, r.text
    got = s.post(cometd, headers=auth, json=[{"channel": "/meta/connect", "clientId": client,
                 "connectionType": "long-polling"}], timeout=30).json()
    note = next(m for m in got if m.get("channel") == documented["channel"])
    assert shape(note) == shape(documented), f"{block.id}: documented {documented}, got {note}"


def serve_config(readme: Readme, text: str, name: str) -> tuple[subprocess.Popen, dict, Path]:
    """Serves with `text` as the config file, written apart from the working directory
    (paths in it are relative to the file), next to a `jwt-cert.pem` (a real certificate)."""
    root = Path(tempfile.mkdtemp(prefix=f"forcebus-readme-{name}-"))
    (root / "conf").mkdir()
    (root / "elsewhere").mkdir()
    (root / "conf" / "forcebus.toml").write_text(text)
    shutil.copy(readme.info["ca_cert"], root / "conf" / "jwt-cert.pem")
    proc, info = start(["--config", "../conf/forcebus.toml", "--in-memory",
                        "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"],
                       root / "elsewhere", name)
    return proc, info, root


def check_platform_event_config(readme: Readme, block: Block) -> None:
    proc, info, root = serve_config(readme, block.code, "platform-event")
    try:
        for name in re.findall(r"^\[platform_events\.(\w+)\]", block.code, re.M):
            r = requests.get(f"http://{info['http']}/services/data/v62.0/sobjects/{name}/describe",
                             headers={"Authorization": f"Bearer {info['access_token']}"}, timeout=30)
            assert r.status_code == 200, f"{block.id}: {name}: {r.text}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def check_users_config(readme: Readme, block: Block) -> None:
    """A config declaring users and permission sets: the server starts on it, every user
    signs in with the password grant, and each restricted user's describe of Account shows
    no field their permission sets do not grant (the README's Salary__c and Phone) while
    the administrator's shows them; a query naming one is INVALID_FIELD for them."""
    proc, info, root = serve_config(readme, block.code, "users")
    base = f"http://{info['http']}"
    try:
        users = re.findall(r'username = "([^"]+)"\s*\npassword = "([^"]+)"(\s*\nprofile = "[^"]+")?',
                           block.code)
        assert len(users) >= 2, f"{block.id}: expected users with passwords"
        for username, password, profile in users:
            r = requests.post(f"{base}/services/oauth2/token", timeout=30, data={
                "grant_type": "password", "client_id": info["client_id"],
                "client_secret": info["client_secret"], "username": username, "password": password})
            assert r.status_code == 200, f"{block.id}: {username}: {r.text}"
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            d = requests.get(f"{base}/services/data/v62.0/sobjects/Account/describe", headers=auth,
                             timeout=30)
            assert d.status_code == 200, f"{block.id}: {username}: {d.text}"
            names = {f["name"] for f in d.json()["fields"]}
            if not profile:
                assert {"Salary__c", "Phone"} <= names, f"{block.id}: {username} sees everything"
                continue
            assert not {"Salary__c", "Phone"} & names, f"{block.id}: {username}: {sorted(names)}"
            q = requests.get(f"{base}/services/data/v62.0/query", headers=auth, timeout=30,
                             params={"q": "SELECT Salary__c FROM Account"})
            assert q.status_code == 400 and q.json()[0]["errorCode"] == "INVALID_FIELD", q.text
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def check_objects_config(readme: Readme, block: Block) -> None:
    """A config declaring objects: the server starts on it, every object describes with every
    field the block names, a `formula` field as calculated with its formula, a `summary`
    field as calculated; and where the block declares the README's Account example, its
    formula reads and its validation rule refuses a record as the README says."""
    proc, info, root = serve_config(readme, block.code, "objects")
    base = f"http://{info['http']}/services/data/v62.0"
    auth = {"Authorization": f"Bearer {info['access_token']}"}
    try:
        for section in re.split(r"^\[objects\.", block.code, flags=re.M)[1:]:
            name = section.split("]", 1)[0]
            r = requests.get(f"{base}/sobjects/{name}/describe", headers=auth, timeout=30)
            assert r.status_code == 200, f"{block.id}: {name}: {r.text}"
            fields = {f["name"]: f for f in r.json()["fields"]}
            for line in section.splitlines():
                m = re.search(r'name = "(\w+__c)"', line)
                if not m or "[objects." in line:
                    continue
                f = fields.get(m.group(1))
                assert f, f"{block.id}: {name}.{m.group(1)} not in describe"
                if re.search(r"(?<!_)\b(formula|summary) =", line):
                    assert f["calculated"] is True, f"{block.id}: {name}.{m.group(1)}: {f}"
        if 'name = "Health__c"' in block.code and 'name = "Score_In_Range"' in block.code:
            made = requests.post(f"{base}/sobjects/Account", json={"Name": "R", "Score__c": 70},
                                 headers=auth, timeout=30)
            assert made.status_code == 201, made.text
            got = requests.get(f"{base}/sobjects/Account/{made.json()['id']}", headers=auth, timeout=30)
            assert got.json()["Health__c"] == "Good", got.text
            bad = requests.post(f"{base}/sobjects/Account", json={"Name": "R", "Score__c": 120},
                                headers=auth, timeout=30)
            assert bad.status_code == 400, bad.text
            assert bad.json()[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION", bad.text
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def check_config_sample(readme: Readme, block: Block) -> None:
    proc, info, root = serve_config(readme, block.code, "config-sample")
    try:
        # Its data dir is relative to the file, not to where the server was started.
        assert (root / "conf" / ".forcebus" / "ca.pem").exists(), "data_dir not under conf/"
        base = f"http://{info['http']}/services/data/v62.0"
        auth = {"Authorization": f"Bearer {info['access_token']}"}
        for path in ["/sobjects/Invoice__c/describe", "/sobjects/Account/describe"]:
            r = requests.get(base + path, headers=auth, timeout=30)
            assert r.status_code == 200, f"{block.id}: {path}: {r.text}"
        fields = {f["name"] for f in requests.get(base + "/sobjects/Account/describe",
                  headers=auth, timeout=30).json()["fields"]}
        assert "External_Id__c" in fields
        assert info["client_id"] == "my-app" and info["security_token"] == "DEVTOKEN"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def normalized(line: str) -> str:
    """A line with what differs from run to run made alike: record ids, numbers."""
    line = re.sub(r"\b[0-9a-zA-Z]{3}Fb[0-9a-zA-Z]{10}(?:[0-9a-zA-Z]{3})?\b", "<ID>", line)
    return re.sub(r"\d+", "<N>", line)


def check_cli_session(block: Block) -> None:
    """A terminal session with the forcebus CLI: its records made first on a server of its
    own (an Account Acme in Energy, then its Phone set to 555-0100, as the session shows
    them), then each `$ forcebus ...` line run in that server's directory; what each
    prints must read as the README shows it (ids and numbers aside; a line ending in
    `...}` only has to start as shown)."""
    root = Path(tempfile.mkdtemp(prefix="forcebus-readme-cli-"))
    proc, info = start(["--in-memory", "--data-dir", str(root / ".forcebus"), "--listen",
                        "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"], root, "cli-session")
    try:
        base = f"http://{info['http']}/services/data/v66.0/sobjects/Account"
        auth = {"Authorization": f"Bearer {info['access_token']}"}
        made = requests.post(base, json={"Name": "Acme", "Industry": "Energy"}, headers=auth,
                             timeout=30).json()["id"]
        r = requests.patch(f"{base}/{made}", json={"Phone": "555-0100"}, headers=auth, timeout=30)
        assert r.status_code == 204, r.text
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORCEBUS_")}
        env["PATH"] = f"{Path(BIN).parent}{os.pathsep}{env['PATH']}"
        sessions = re.split(r"^\$ ", block.code, flags=re.M)[1:]
        assert sessions, f"{block.id}: no command"
        for session in sessions:
            command, *shown = session.rstrip("\n").split("\n")
            r = subprocess.run(["bash", "-c", command], cwd=root, env=env,
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, f"{block.id}: {command}\n{r.stderr}"
            got = r.stdout.rstrip("\n").split("\n")
            assert len(got) == len(shown), f"{block.id}: {command}\n{r.stdout}"
            for want, line in zip(shown, got):
                want, line = normalized(want), normalized(line)
                if want.endswith("...}"):
                    assert line.startswith(want[:-4]), f"{block.id}: {line!r} is not {want!r}"
                else:
                    assert line == want, f"{block.id}: {line!r} is not {want!r}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def docker_engine() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True).returncode == 0


def test_every_fence_is_read():
    """A fence the reader misses (a tilde fence, one left open) would leave its block
    untested without a failing test."""
    lines = README.read_text().splitlines()
    fences = {n for n, l in enumerate(lines, 1) if re.match(r"\s*(```|~~~)", l)}
    unclosed = [b.id for b in BLOCKS if b.end is None]
    assert not unclosed, f"never closed: {unclosed}"
    read = {n for b in BLOCKS for n in (b.line, b.end)}
    assert BLOCKS and fences == read, f"fence lines not read as a block's start or end: {sorted(fences - read)}"


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block(readme: Readme, block: Block):
    kind = block.kind
    if kind == "first-commands":
        # Run from a fresh copy by test_fresh_clone.py, one test per command; a command it
        # does not know fails here.
        unknown = [c for c in block.commands() if c not in FIRST_COMMANDS]
        assert not unknown, f"{block.id}: no test runs {unknown}; teach test_fresh_clone.py"
    elif kind == "docker":
        if not docker_engine():
            pytest.skip("no Docker engine answers here (docker info failed); "
                        "scripts/docker-test builds and runs the image where one does")
        r = subprocess.run([str(REPO_DIR / "scripts" / "docker-test")], capture_output=True,
                           text=True, timeout=1800)
        assert r.returncode == 0, r.stdout + r.stderr
    elif kind == "shell":
        check_shell(readme, block)
    elif kind == "ready-line":
        check_ready_line(readme, block)
    elif kind == "pushtopic-notification":
        check_pushtopic(readme, block)
    elif kind == "jsforce":
        run_node(readme, block, esm=False)
    elif kind == "jsforce-streaming":
        run_node(readme, block, esm=False, expect=r"^CREATE$")
    elif kind == "pubsub-client":
        run_node(readme, block, esm=True, expect=r"changeType: 'CREATE'")
    elif kind == "simple-salesforce":
        check_python(readme, block)
    elif kind == "pytest-plugin":
        check_pytest_plugin(readme, block)
    elif kind == "js-test-helper":
        check_js_test_helper(readme, block)
    elif kind == "platform-event-config":
        check_platform_event_config(readme, block)
    elif kind == "config-sample":
        check_config_sample(readme, block)
    elif kind == "objects-config":
        check_objects_config(readme, block)
    elif kind == "users-config":
        check_users_config(readme, block)
    elif kind == "cli-session":
        check_cli_session(block)
    else:
        pytest.fail(f"{block.id}: no check knows how to run a {block.lang!r} block like this; "
                    "teach compat/readme/tests/blocks.py and test_readme.py")
