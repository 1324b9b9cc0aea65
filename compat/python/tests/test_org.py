"""The Organization sObject and other small resources through simple-salesforce:
``sf.is_sandbox()`` (``SELECT IsSandbox FROM Organization LIMIT 1`` through
``query_all``, so ``/queryAll/``) on the suite's server and on servers whose
config says ``org_kind = "sandbox"`` / ``"scratch"``; ``sf.query`` and
``sf.Organization.get``; ``sf.Account.describe_layout(recordTypeId)``;
``sf.set_password`` (``POST /sobjects/User/{id}/password``) and the same
resource's GET / DELETE through ``sf.restful``, then logging in as that user;
``sf.toolingexecute``; a bad token on a path forcebus does not serve."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
)

from harness import API_VERSION, LocalLoginSession, Server, start_server, uniq

MASTER_RECORD_TYPE = "012000000000000AAA"
ORG_FIELDS = "Id, Name, IsSandbox, TrialExpirationDate, OrganizationType, InstanceName, NamespacePrefix"


def client(server: Server, token: str | None = None, version: str = API_VERSION) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=token or server.info["access_token"], instance_url=server.https_base,
                      session=session, version=version)


def kind_server(tmp_path_factory, kind: str, edition: str) -> Server:
    conf = tmp_path_factory.mktemp(f"org-{kind}") / "forcebus.toml"
    conf.write_text(f'org_name = "Compat {kind}"\norg_edition = "{edition}"\norg_kind = "{kind}"\n')
    return start_server(f"org-{kind}", config=str(conf))


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory) -> Iterator[Server]:
    srv = kind_server(tmp_path_factory, "sandbox", "Enterprise Edition")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def scratch_server(tmp_path_factory) -> Iterator[Server]:
    srv = kind_server(tmp_path_factory, "scratch", "Developer Edition")
    yield srv
    srv.stop()


# --- Organization and is_sandbox -------------------------------------------------

def test_is_sandbox_false_on_a_production_org(sf):
    assert sf.is_sandbox() is False


def test_is_sandbox_true_on_a_sandbox(sandbox_server):
    assert client(sandbox_server).is_sandbox() is True


def test_is_sandbox_true_on_a_scratch_org(scratch_server):
    # a scratch org is a sandbox with a trial expiration date (what the sf CLI tells apart)
    assert client(scratch_server).is_sandbox() is True


def test_organization_query_and_get(sf, server: Server):
    res = sf.query(f"SELECT {ORG_FIELDS} FROM Organization")
    assert res["totalSize"] == 1
    org = res["records"][0]
    assert org["Id"] == server.info["org_id"]
    assert org["attributes"] == {"type": "Organization",
                                 "url": f"/services/data/v{API_VERSION}/sobjects/Organization/{org['Id']}"}
    assert (org["IsSandbox"], org["TrialExpirationDate"], org["OrganizationType"], org["NamespacePrefix"]) == (
        False, None, "Developer Edition", None)
    assert isinstance(org["InstanceName"], str) and org["InstanceName"]
    got = sf.Organization.get(org["Id"])
    assert (got["Id"], got["Name"], got["IsSandbox"]) == (org["Id"], org["Name"], False)
    assert sf.Organization.describe()["keyPrefix"] == "00D"


def test_organization_from_the_config(sandbox_server, scratch_server):
    sandbox = client(sandbox_server).query(f"SELECT {ORG_FIELDS} FROM Organization")["records"][0]
    assert (sandbox["Name"], sandbox["OrganizationType"], sandbox["IsSandbox"], sandbox["TrialExpirationDate"]) == (
        "Compat sandbox", "Enterprise Edition", True, None)
    scratch = client(scratch_server).query(f"SELECT {ORG_FIELDS} FROM Organization")["records"][0]
    assert (scratch["Name"], scratch["IsSandbox"]) == ("Compat scratch", True)
    assert isinstance(scratch["TrialExpirationDate"], str), scratch


def test_organization_is_read_only(sf, server: Server):
    with pytest.raises(SalesforceMalformedRequest):
        sf.Organization.create({"Name": "Another"})
    with pytest.raises(SalesforceMalformedRequest):
        sf.Organization.update(server.info["org_id"], {"Name": "Renamed"})
    assert sf.query("SELECT COUNT() FROM Organization")["totalSize"] == 1


# --- layouts ------------------------------------------------------------------------

def test_describe_layout_by_record_type(sf):
    layout = sf.Account.describe_layout(MASTER_RECORD_TYPE)
    assert layout["id"].startswith("00h"), layout.get("id")
    fields = [c["value"]
              for s in layout["detailLayoutSections"]
              for row in s["layoutRows"]
              for item in row["layoutItems"]
              for c in item["layoutComponents"] if c["type"] == "Field"]
    assert "Name" in fields and "Phone" in fields, fields
    # the same layout the list form maps the master record type to
    listed = sf.restful("sobjects/Account/describe/layouts")
    mapping = listed["recordTypeMappings"][0]
    assert (mapping["recordTypeId"], mapping["layoutId"]) == (MASTER_RECORD_TYPE, layout["id"])


def test_describe_layout_unknown_record_type(sf):
    with pytest.raises(Exception) as err:  # 404 → SalesforceResourceNotFound
        sf.Account.describe_layout("012000000000001AAA")
    assert getattr(err.value, "status", None) == 404, err.value


# --- user passwords -----------------------------------------------------------------

def test_set_password_then_log_in(sf, server: Server):
    name = uniq("pw").replace("-", "")
    user = sf.User.create({"Username": f"{name}@example.com", "LastName": "Pw", "Email": f"{name}@example.com",
                           "Alias": "pw"})
    user_id = user["id"]
    assert sf.restful(f"sobjects/User/{user_id}/password") == {"isExpired": False}

    assert sf.set_password(user_id, "Compat2Secret") is None  # 204
    login = Salesforce(username=f"{name}@example.com", password="Compat2Secret", security_token="",
                       session=LocalLoginSession(server), version=API_VERSION)
    me = login.query("SELECT Id FROM User WHERE Username = '" + f"{name}@example.com" + "'")
    assert me["records"][0]["Id"] == user_id

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.set_password(user_id, "short")
    assert err.value.content[0]["errorCode"] == "INVALID_NEW_PASSWORD"

    # DELETE resets: a new generated password, expired, that logs in
    reset = sf.restful(f"sobjects/User/{user_id}/password", method="DELETE")
    assert set(reset) == {"NewPassword"} and reset["NewPassword"]
    assert sf.restful(f"sobjects/User/{user_id}/password") == {"isExpired": True}
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(username=f"{name}@example.com", password="Compat2Secret", security_token="",
                   session=LocalLoginSession(server), version=API_VERSION)
    again = Salesforce(username=f"{name}@example.com", password=reset["NewPassword"], security_token="",
                       session=LocalLoginSession(server), version=API_VERSION)
    assert again.session_id


# --- tooling, paths, sessions -------------------------------------------------------

def test_toolingexecute_describe(sf):
    res = sf.toolingexecute("sobjects")
    names = [s["name"] for s in res["sobjects"]]
    assert "PushTopic" in names and "PlatformEventChannel" in names, names
    desc = sf.toolingexecute("sobjects/PlatformEventChannel/describe")
    assert desc["name"] == "PlatformEventChannel"


def test_toolingexecute_sobject_basic_info(sf):
    """GET {base}/tooling/sobjects/{X}: the basic information, as the data API's
    /sobjects/{X} answers (``objectDescribe`` and ``recentItems``)."""
    res = sf.toolingexecute("sobjects/PlatformEventChannel")
    assert isinstance(res, dict), res
    assert res["objectDescribe"]["name"] == "PlatformEventChannel", res
    assert isinstance(res["recentItems"], list)


def test_bad_token_on_an_unknown_path_is_an_expired_session(server: Server):
    bad = client(server, token=f"{server.info['org_id']}!nope")
    with pytest.raises(SalesforceExpiredSession) as err:
        bad.restful("no/such/resource")
    assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
