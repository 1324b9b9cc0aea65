"""The Metadata API's CRUD calls through simple-salesforce's ``sf.mdapi`` (zeep, with the
metadata WSDL simple-salesforce bundles, posting to ``/services/Soap/m/{v}/``):
``describe_metadata``, ``CustomObject.create`` (a custom object with a nested field),
``CustomField.create`` / ``read`` / ``delete`` / ``rename`` (a record's value follows the
new name), ``PlatformEventChannel`` and ``PlatformEventChannelMember`` create / read /
delete, ``CustomObject.delete`` of an object with records, ``list_metadata``. zeep reads the answers
against the WSDL (``xsi:type`` picks the record type) and simple-salesforce raises a plain
``Exception`` listing ``fullName: (statusCode, message)`` for a failed component.

zeep's own HTTP session verifies TLS from ``REQUESTS_CA_BUNDLE``: it is pointed at the
server's CA for this file. Runs its own server.
"""

from __future__ import annotations

from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from harness import API_VERSION, Server, start_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("mdapi")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Iterator[Salesforce]:
    mp = pytest.MonkeyPatch()
    mp.setenv("REQUESTS_CA_BUNDLE", server.ca_cert)
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    yield Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                     session=session, version=API_VERSION)
    mp.undo()


def test_describe_metadata_lists_every_type(sf: Salesforce) -> None:
    d = sf.mdapi.describe_metadata()
    by_name = {o.xmlName: o for o in d.metadataObjects}
    assert len(by_name) > 500, len(by_name)
    for t in ["CustomObject", "PlatformEventChannel", "PlatformEventChannelMember",
              "ApexClass", "ApexTrigger", "Layout", "PermissionSet"]:
        assert t in by_name, t
    assert "CustomField" in by_name["CustomObject"].childXmlNames
    assert by_name["CustomObject"].directoryName == "objects"
    assert (by_name["ApexTrigger"].directoryName, by_name["ApexTrigger"].suffix) == ("triggers", "trigger")


def test_create_read_list_delete(sf: Salesforce) -> None:
    md = sf.mdapi
    obj = md.CustomObject(
        fullName="Voyage__c", label="Voyage", pluralLabel="Voyages",
        nameField=md.CustomField(label="Voyage Name", type=md.FieldType("Text")),
        deploymentStatus=md.DeploymentStatus("Deployed"), sharingModel=md.SharingModel("ReadWrite"),
        fields=[md.CustomField(fullName="Miles__c", label="Miles", type=md.FieldType("Number"), precision=9, scale=0)],
    )
    md.CustomObject.create([obj])
    md.CustomField.create([md.CustomField(fullName="Voyage__c.Port__c", label="Port", type=md.FieldType("Text"), length=60)])
    assert "Port__c" in {f["name"] for f in sf.Voyage__c.describe()["fields"]}

    back = md.CustomObject.read(["Voyage__c"])
    assert back.fullName == "Voyage__c" and back.label == "Voyage"
    assert sorted(f.fullName for f in back.fields) == ["Miles__c", "Port__c"]
    field = md.CustomField.read(["Voyage__c.Port__c"])
    assert (field.type, field.length) == ("Text", 60)

    listed = md.list_metadata([md.ListMetadataQuery(type="CustomField")])
    names = {p.fullName: p for p in listed}
    assert names["Voyage__c.Port__c"].id.startswith("00N")
    assert names["Voyage__c.Port__c"].fileName == "objects/Voyage__c.object"

    with pytest.raises(Exception, match=r"Voyage__c\.Port__c: \(DUPLICATE_DEVELOPER_NAME"):
        md.CustomField.create([md.CustomField(fullName="Voyage__c.Port__c", label="Port", type=md.FieldType("Text"), length=60)])

    md.CustomField.delete(["Voyage__c.Port__c"])
    assert "Port__c" not in {f["name"] for f in sf.Voyage__c.describe()["fields"]}
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.CustomField.delete(["Voyage__c.Port__c"])


def test_rename_a_field_keeps_its_values(sf: Salesforce) -> None:
    md = sf.mdapi
    md.CustomField.create([md.CustomField(fullName="Voyage__c.Captain__c", label="Captain", type=md.FieldType("Text"), length=40)])
    rec = sf.Voyage__c.create({"Name": "Beagle", "Captain__c": "FitzRoy"})["id"]

    md.CustomField.rename("Voyage__c.Captain__c", "Voyage__c.Skipper__c")
    assert sf.Voyage__c.get(rec)["Skipper__c"] == "FitzRoy"
    names = {f["name"] for f in sf.Voyage__c.describe()["fields"]}
    assert "Skipper__c" in names and "Captain__c" not in names
    assert md.CustomField.read(["Voyage__c.Skipper__c"]).length == 40

    # A missing old name fails in the one SaveResult, which simple-salesforce raises.
    with pytest.raises(Exception, match=r"INVALID_CROSS_REFERENCE_KEY"):
        md.CustomField.rename("Voyage__c.Captain__c", "Voyage__c.Mate__c")


def test_platform_event_channel_and_member(sf: Salesforce) -> None:
    md = sf.mdapi
    md.PlatformEventChannel.create([md.PlatformEventChannel(
        fullName="Fleet__chn", channelType=md.PlatformEventChannelType("data"), label="Fleet")])
    md.PlatformEventChannelMember.create([md.PlatformEventChannelMember(
        fullName="Fleet_chn_AccountChangeEvent", eventChannel="Fleet__chn", selectedEntity="AccountChangeEvent",
        enrichedFields=[md.EnrichedField(name="Industry")], filterExpression="Industry = 'Energy'")])

    chn = md.PlatformEventChannel.read(["Fleet__chn"])
    assert (chn.fullName, chn.channelType, chn.label) == ("Fleet__chn", "data", "Fleet")
    member = md.PlatformEventChannelMember.read(["Fleet_chn_AccountChangeEvent"])
    assert (member.eventChannel, member.selectedEntity, member.filterExpression) == \
        ("Fleet__chn", "AccountChangeEvent", "Industry = 'Energy'")
    assert [f.name for f in member.enrichedFields] == ["Industry"]
    listed = md.list_metadata([md.ListMetadataQuery(type="PlatformEventChannel")])
    assert [(p.fullName, p.fileName) for p in listed] == [("Fleet__chn", "platformEventChannels/Fleet__chn.platformEventChannel")]

    md.PlatformEventChannelMember.delete(["Fleet_chn_AccountChangeEvent"])
    md.PlatformEventChannel.delete(["Fleet__chn"])
    assert md.list_metadata([md.ListMetadataQuery(type="PlatformEventChannel")]) == []
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.PlatformEventChannel.delete(["Fleet__chn"])


def test_delete_a_custom_object_with_records(sf: Salesforce) -> None:
    md = sf.mdapi
    assert sf.query("SELECT COUNT() FROM Voyage__c")["totalSize"] >= 1
    md.CustomObject.delete(["Voyage__c"])
    with pytest.raises(SalesforceResourceNotFound):
        sf.Voyage__c.describe()
    assert "Voyage__c" not in {p.fullName for p in md.list_metadata([md.ListMetadataQuery(type="CustomObject")])}
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.CustomObject.delete(["Voyage__c"])
    # Made again under the same name: empty, without the old fields.
    md.CustomObject.create([md.CustomObject(
        fullName="Voyage__c", label="Voyage", pluralLabel="Voyages",
        nameField=md.CustomField(label="Voyage Name", type=md.FieldType("Text")),
        deploymentStatus=md.DeploymentStatus("Deployed"), sharingModel=md.SharingModel("ReadWrite"))])
    assert sf.query("SELECT COUNT() FROM Voyage__c")["totalSize"] == 0
    assert "Skipper__c" not in {f["name"] for f in sf.Voyage__c.describe()["fields"]}
