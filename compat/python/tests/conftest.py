"""pytest fixtures: one forcebus server for the suite, and clients on it."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from harness import API_VERSION, Server, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv = start_server("suite")
    yield srv
    srv.stop()


@pytest.fixture
def sf(server: Server):
    """A client on the ready line's access token, over TLS."""
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(
        session_id=server.info["access_token"],
        instance_url=server.https_base,
        session=session,
        version=API_VERSION,
    )
