"""The Metadata API's ``deploy`` through simple-salesforce: ``sf.deploy(zip, sandbox=False)``
posts its SOAP template to ``/services/Soap/m/{v}/deployRequest`` and returns the async id;
``sf.checkDeployStatus(id)`` posts to ``…/deployRequest/{id}`` and reads the DeployResult
with ElementTree in the Metadata namespace. The zip is built here with ``zipfile``:
``package.xml`` and ``objects/<Name>.object`` files (Metadata API format). A good package
is live at once (describe, records); a bad component fails the deploy, which applies
nothing (rollbackOnError), and simple-salesforce lists the failure.

Runs its own server: its schema changes stay out of the suite's server.
"""

from __future__ import annotations

import io
import time
import zipfile
from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce

from harness import API_VERSION, Server, start_server

PACKAGE = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types><members>Shipment__c</members><name>CustomObject</name></types>
    <types><members>Account.Carrier__c</members><name>CustomField</name></types>
    <version>62.0</version>
</Package>"""

SHIPMENT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Shipment</label>
    <pluralLabel>Shipments</pluralLabel>
    <nameField><label>Shipment Name</label><type>Text</type></nameField>
    <deploymentStatus>Deployed</deploymentStatus>
    <sharingModel>ReadWrite</sharingModel>
    <fields>
        <fullName>Weight_Kg__c</fullName><label>Weight (kg)</label>
        <type>Number</type><precision>8</precision><scale>2</scale>
    </fields>
    <fields>
        <fullName>Shipped__c</fullName><label>Shipped</label>
        <type>Checkbox</type><defaultValue>false</defaultValue>
    </fields>
</CustomObject>"""

ACCOUNT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields><fullName>Carrier__c</fullName><label>Carrier</label><type>Text</type><length>40</length></fields>
</CustomObject>"""


def make_zip(files: dict[str, str]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    buf.seek(0)
    return buf


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("deploy")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                      session=session, version=API_VERSION)


def deploy_and_wait(sf: Salesforce, files: dict[str, str]) -> dict:
    started = sf.deploy(make_zip(files), sandbox=False)
    assert started["asyncId"] and started["asyncId"].startswith("0Af"), started
    deadline = time.monotonic() + 10
    while True:
        status = sf.checkDeployStatus(started["asyncId"])
        if status["state"] in ("Succeeded", "SucceededPartial", "Failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_a_package_deploys_and_is_live(sf: Salesforce) -> None:
    status = deploy_and_wait(sf, {"package.xml": PACKAGE, "objects/Shipment__c.object": SHIPMENT,
                                  "objects/Account.object": ACCOUNT})
    assert status["state"] == "Succeeded", status
    detail = status["deployment_detail"]
    assert (detail["total_count"], detail["deployed_count"], detail["failed_count"]) == ("4", "4", "0"), detail
    fields = {f["name"]: f for f in sf.Shipment__c.describe()["fields"]}
    assert (fields["Weight_Kg__c"]["type"], fields["Weight_Kg__c"]["scale"]) == ("double", 2)
    assert "Carrier__c" in {f["name"] for f in sf.Account.describe()["fields"]}
    made = sf.Shipment__c.create({"Name": "SH-1", "Weight_Kg__c": 12.5})
    record = sf.Shipment__c.get(made["id"])
    assert (record["Weight_Kg__c"], record["Shipped__c"]) == (12.5, False)


def test_a_bad_component_fails_the_deploy_and_applies_nothing(sf: Salesforce) -> None:
    bad = SHIPMENT.replace("Shipment", "Parcel").replace("<type>Number</type>", "<type>Teleporter</type>")
    package = PACKAGE.replace("Shipment__c", "Parcel__c")
    status = deploy_and_wait(sf, {"package.xml": package, "objects/Parcel__c.object": bad,
                                  "objects/Account.object": ACCOUNT})
    assert status["state"] == "Failed", status
    errors = status["deployment_detail"]["errors"]
    assert len(errors) == 1, errors
    assert errors[0]["type"] == "CustomObject" and errors[0]["status"] == "Error", errors
    assert errors[0]["file"] == "objects/Parcel__c.object"
    assert "Teleporter" in errors[0]["message"], errors
    response = sf.session.get(f"{sf.base_url}sobjects/Parcel__c/describe", headers=sf.headers)
    assert response.status_code == 404, "rolled back: nothing made"


def test_a_zip_without_package_xml_fails(sf: Salesforce) -> None:
    status = deploy_and_wait(sf, {"objects/Account.object": ACCOUNT})
    assert status["state"] == "Failed", status
