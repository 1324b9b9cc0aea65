"""Ways simple-salesforce gets a session: a given token over TLS, SOAP login,
OAuth password login, and re-login after a 401."""

from __future__ import annotations

import re

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from harness import API_VERSION, MY_DOMAIN, LocalLoginSession, Server, revoke, start_server, uniq

TOKEN_RE = re.compile(r"^00D\w{12,15}![.\w]*$")


def soap_client(server: Server, session: LocalLoginSession, token: str | None = None) -> Salesforce:
    return Salesforce(
        username=server.info["username"],
        password=server.info["password"],
        security_token=server.info["security_token"] if token is None else token,
        session=session,
        version=API_VERSION,
    )


def oauth_client(server: Server, session: LocalLoginSession) -> Salesforce:
    return Salesforce(
        username=server.info["username"],
        password=server.info["password"],
        consumer_key=server.info["client_id"],
        consumer_secret=server.info["client_secret"],
        session=session,
        version=API_VERSION,
    )


# --- a given access token over TLS -------------------------------------------


def test_session_id_over_tls_with_requests_ca_bundle(server: Server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_cert)
    sf = Salesforce(
        session_id=server.info["access_token"],
        instance_url=server.https_base,
        version=API_VERSION,
    )
    assert sf.sf_instance == server.instance
    res = sf.Account.create({"Name": uniq("tls-env")})
    assert res["success"] is True


def test_session_id_over_tls_with_session_verify(sf):
    res = sf.Account.create({"Name": uniq("tls-verify")})
    assert res["success"] is True
    assert sf.Account.get(res["id"])["Id"] == res["id"]


def test_tls_is_real(server: Server):
    """Without the generated CA the certificate is not trusted."""
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{server.https_base}/services/data", timeout=10)
    ok = session.get(f"{server.https_base}/services/data", verify=server.ca_cert, timeout=10)
    assert ok.status_code == 200


def test_tls_certificate_valid_for_localhost(server: Server):
    resp = requests.get(f"https://localhost:{server.port}/services/data", verify=server.ca_cert, timeout=10)
    assert resp.status_code == 200


# --- SOAP login ------------------------------------------------------------------


def test_soap_login_with_security_token(server: Server):
    session = LocalLoginSession(server)
    sf = soap_client(server, session)
    assert TOKEN_RE.match(sf.session_id), sf.session_id
    assert sf.sf_instance == server.instance, "serverUrl must point back at the server"
    assert session.login_calls() == [("POST", f"{server.https_base}/services/Soap/u/{API_VERSION}")]
    res = sf.Account.create({"Name": uniq("soap")})
    assert res["success"] is True


def test_soap_login_with_empty_security_token(server: Server):
    sf = soap_client(server, LocalLoginSession(server), token="")
    assert TOKEN_RE.match(sf.session_id)
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_soap_login_wrong_password(server: Server):
    session = LocalLoginSession(server)
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            username=server.info["username"],
            password="definitely-wrong",
            security_token="",
            session=session,
            version=API_VERSION,
        )
    assert info.value.code == "INVALID_LOGIN"
    assert info.value.auth_message  # sf:exceptionMessage was found


# --- OAuth password login ---------------------------------------------------------


def test_oauth_password_login(server: Server):
    session = LocalLoginSession(server)
    sf = oauth_client(server, session)
    assert TOKEN_RE.match(sf.session_id), sf.session_id
    assert sf.sf_instance == server.instance, "instance_url must echo the origin used"
    assert session.login_calls() == [("POST", f"{server.https_base}/services/oauth2/token")]
    res = sf.Contact.create({"LastName": uniq("oauth")})
    assert res["success"] is True


def test_oauth_password_login_wrong_password(server: Server):
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(
            username=server.info["username"],
            password="definitely-wrong",
            consumer_key=server.info["client_id"],
            consumer_secret=server.info["client_secret"],
            session=LocalLoginSession(server),
            version=API_VERSION,
        )
    assert info.value.code == "invalid_grant"


def test_client_credentials_login(server: Server):
    """consumer key + secret + domain: client_credentials grant with HTTP Basic."""
    session = LocalLoginSession(server)
    sf = Salesforce(
        consumer_key=server.info["client_id"],
        consumer_secret=server.info["client_secret"],
        domain=MY_DOMAIN,
        session=session,
        version=API_VERSION,
    )
    assert session.login_calls() == [("POST", f"{server.https_base}/services/oauth2/token")]
    assert TOKEN_RE.match(sf.session_id), sf.session_id
    assert sf.sf_instance == server.instance
    assert sf.Account.create({"Name": uniq("cc")})["success"] is True


def test_token_response_shape(server: Server):
    """The raw token response carries what the clients read."""
    resp = requests.post(
        f"{server.https_base}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": server.info["client_id"],
            "client_secret": server.info["client_secret"],
            "username": server.info["username"],
            "password": server.info["password"],
        },
        verify=server.ca_cert,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == server.https_base, "scheme, host and port of the request"
    assert body["id"].endswith(f"/id/{server.info['org_id']}/{server.info['user_id']}")
    assert re.fullmatch(r"\d{13}", body["issued_at"])


# --- 401 then automatic re-login ----------------------------------------------------
# These revoke tokens, so they get a server of their own.


@pytest.fixture(scope="module")
def relogin_server():
    srv = start_server("relogin")
    yield srv
    srv.stop()


def _check_relogin(server: Server, sf: Salesforce, session: LocalLoginSession) -> None:
    first = sf.session_id
    logins_before = len(session.login_calls())
    revoke(server, first)

    # The revoked token really is refused, with the body simple-salesforce reads.
    probe = requests.get(
        f"{server.https_base}/services/data/v{API_VERSION}/limits",
        headers={"Authorization": f"Bearer {first}"},
        verify=server.ca_cert,
        timeout=10,
    )
    assert probe.status_code == 401
    assert probe.json()[0]["errorCode"] == "INVALID_SESSION_ID"

    # An SFType call: 401 INVALID_SESSION_ID → login again → retry succeeds.
    res = sf.Account.create({"Name": uniq("relogin")})
    assert res["success"] is True
    assert sf.session_id != first, "a new session id after re-login"
    assert len(session.login_calls()) == logins_before + 1

    # A Salesforce-level call after another revoke.
    second = sf.session_id
    revoke(server, second)
    assert sf.limits()["DailyApiRequests"]["Max"] > 0
    assert sf.session_id not in (first, second)
    assert len(session.login_calls()) == logins_before + 2


def test_relogin_after_401_soap(relogin_server: Server):
    session = LocalLoginSession(relogin_server)
    sf = soap_client(relogin_server, session)
    _check_relogin(relogin_server, sf, session)


def test_relogin_after_401_oauth(relogin_server: Server):
    session = LocalLoginSession(relogin_server)
    sf = oauth_client(relogin_server, session)
    _check_relogin(relogin_server, sf, session)
