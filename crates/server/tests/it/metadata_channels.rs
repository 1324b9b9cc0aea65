//! `PlatformEventChannel` and `PlatformEventChannelMember` through the Metadata API: CRUD
//! calls, `listMetadata`, and deploys (with a custom object a member selects, again
//! unchanged, and destructive changes) and retrieves of them.

use crate::deploy::{between, call, deploy};

const CHANNEL: &str = r#"<met:metadata xsi:type="met:PlatformEventChannel"><met:fullName>Sales__chn</met:fullName><met:channelType>data</met:channelType><met:label>Sales</met:label></met:metadata>"#;
const MEMBER: &str = r#"<met:metadata xsi:type="met:PlatformEventChannelMember"><met:fullName>Sales_chn_AccountChangeEvent</met:fullName><met:enrichedFields><met:name>Industry</met:name></met:enrichedFields><met:eventChannel>Sales__chn</met:eventChannel><met:filterExpression>Industry = 'Energy'</met:filterExpression><met:selectedEntity>AccountChangeEvent</met:selectedEntity></met:metadata>"#;

fn op(name: &str, inner: &str) -> String {
    format!(
        r#"<met:{name} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{inner}</met:{name}>"#
    )
}

#[test]
fn channels_and_members_are_created_read_listed_updated_and_deleted() {
    let s = crate::server();
    let r = call(&s, &op("createMetadata", CHANNEL));
    assert!(
        r.contains("<fullName>Sales__chn</fullName><success>true</success>"),
        "{r}"
    );
    let r = call(&s, &op("createMetadata", MEMBER));
    assert!(r.contains("<success>true</success>"), "{r}");
    let r = call(&s, &op("createMetadata", CHANNEL));
    assert!(
        r.contains("<statusCode>DUPLICATE_DEVELOPER_NAME</statusCode>"),
        "{r}"
    );

    let read = "<met:type>PlatformEventChannelMember</met:type><met:fullNames>Sales_chn_AccountChangeEvent</met:fullNames><met:fullNames>Nope</met:fullNames>";
    let r = call(&s, &op("readMetadata", read));
    assert!(r.contains(r#"<records xsi:type="PlatformEventChannelMember"><fullName>Sales_chn_AccountChangeEvent</fullName><enrichedFields><name>Industry</name></enrichedFields><eventChannel>Sales__chn</eventChannel><filterExpression>Industry = &apos;Energy&apos;</filterExpression><selectedEntity>AccountChangeEvent</selectedEntity></records><records xsi:nil="true"/>"#), "{r}");
    let list = "<met:queries><met:type>PlatformEventChannel</met:type></met:queries><met:queries><met:type>PlatformEventChannelMember</met:type></met:queries>";
    let r = call(&s, &op("listMetadata", list));
    assert!(r.contains("<fileName>platformEventChannels/Sales__chn.platformEventChannel</fileName><fullName>Sales__chn</fullName>"), "{r}");
    assert!(
        r.contains("<fullName>Sales_chn_AccountChangeEvent</fullName>"),
        "{r}"
    );

    // An update replaces the filter; the channel and entity are fixed.
    let changed = MEMBER.replace("'Energy'", "'Banking'");
    let r = call(&s, &op("updateMetadata", &changed));
    assert!(r.contains("<success>true</success>"), "{r}");
    let r = call(&s, &op("readMetadata", read));
    assert!(r.contains("Industry = &apos;Banking&apos;"), "{r}");
    let moved = MEMBER.replace(">AccountChangeEvent<", ">ContactChangeEvent<");
    let r = call(&s, &op("updateMetadata", &moved));
    assert!(r.contains("selectedEntity cannot be changed"), "{r}");

    let delete = |kind: &str, name: &str| {
        call(
            &s,
            &op(
                "deleteMetadata",
                &format!("<met:type>{kind}</met:type><met:fullNames>{name}</met:fullNames>"),
            ),
        )
    };
    let r = delete("PlatformEventChannel", "Sales__chn");
    assert!(r.contains("Delete the channel&apos;s members first"), "{r}");
    let r = delete("PlatformEventChannelMember", "Sales_chn_AccountChangeEvent");
    assert!(r.contains("<success>true</success>"), "{r}");
    let r = delete("PlatformEventChannel", "Sales__chn");
    assert!(r.contains("<success>true</success>"), "{r}");
    let r = delete("PlatformEventChannel", "Sales__chn");
    assert!(
        r.contains("<statusCode>INVALID_CROSS_REFERENCE_KEY</statusCode>"),
        "{r}"
    );
}

const PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Gadget__c</members><name>CustomObject</name></types><types><members>Ops__chn</members><name>PlatformEventChannel</name></types><types><members>Ops_chn_Gadget_ChangeEvent</members><name>PlatformEventChannelMember</name></types><version>62.0</version></Package>"#;
const GADGET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Gadget</label><pluralLabel>Gadgets</pluralLabel><fields><fullName>Size__c</fullName><label>Size</label><type>Text</type><length>9</length></fields></CustomObject>"#;
const OPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><PlatformEventChannel xmlns="http://soap.sforce.com/2006/04/metadata"><channelType>data</channelType><label>Ops</label></PlatformEventChannel>"#;
const OPS_GADGET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><PlatformEventChannelMember xmlns="http://soap.sforce.com/2006/04/metadata"><eventChannel>Ops__chn</eventChannel><selectedEntity>Gadget__ChangeEvent</selectedEntity><enrichedFields><name>Size__c</name></enrichedFields></PlatformEventChannelMember>"#;

#[test]
fn a_deploy_makes_channels_and_members_for_its_objects_and_a_retrieve_returns_them() {
    let s = crate::server();
    let files = [
        ("package.xml", PACKAGE),
        ("objects/Gadget__c.object", GADGET),
        ("platformEventChannels/Ops__chn.platformEventChannel", OPS),
        (
            "platformEventChannelMembers/Ops_chn_Gadget_ChangeEvent.platformEventChannelMember",
            OPS_GADGET,
        ),
    ];
    let r = deploy(&s, &files, "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert!(r.contains("<changed>true</changed><componentType>PlatformEventChannelMember</componentType><created>true</created>"), "{r}");
    let r = deploy(&s, &files, "");
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert!(r.contains("<changed>false</changed><componentType>PlatformEventChannel</componentType><created>false</created>"), "unchanged: {r}");

    let retrieve = r#"<met:retrieve><met:request><met:apiVersion>62.0</met:apiVersion><met:unpackaged><met:types><met:members>*</met:members><met:name>PlatformEventChannelMember</met:name></met:types><met:types><met:members>Ops__chn</met:members><met:name>PlatformEventChannel</met:name></met:types><met:version>62.0</met:version></met:unpackaged></met:request></met:retrieve>"#;
    let r = call(&s, retrieve);
    let id = between(&r, "<id>", "</id>").to_owned();
    let r = call(
        &s,
        &format!(
            "<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkRetrieveStatus>"
        ),
    );
    let zip = crate::deploy::unzip(between(&r, "<zipFile>", "</zipFile>"));
    let member = &zip["unpackaged/platformEventChannelMembers/Ops_chn_Gadget_ChangeEvent.platformEventChannelMember"];
    assert!(
        member.contains("<eventChannel>Ops__chn</eventChannel>"),
        "{member}"
    );
    assert!(
        member.contains("<selectedEntity>Gadget__ChangeEvent</selectedEntity>"),
        "{member}"
    );
    assert!(zip["unpackaged/package.xml"].contains("<name>PlatformEventChannel</name>"));

    // Destructive: the member, then the channel, and the object it selected.
    let destructive = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Ops__chn</members><name>PlatformEventChannel</name></types><types><members>Ops_chn_Gadget_ChangeEvent</members><name>PlatformEventChannelMember</name></types><version>62.0</version></Package>"#;
    let empty = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>62.0</version></Package>"#;
    let r = deploy(
        &s,
        &[
            ("package.xml", empty),
            ("destructiveChanges.xml", destructive),
        ],
        "",
    );
    assert!(r.contains("<status>Succeeded</status>"), "{r}");
    assert!(r.contains("<deleted>true</deleted><fileName>destructiveChanges.xml</fileName><fullName>Ops__chn</fullName>"), "{r}");
    let read = "<met:type>PlatformEventChannel</met:type><met:fullNames>Ops__chn</met:fullNames>";
    let r = call(&s, &op("readMetadata", read));
    assert!(r.contains(r#"<records xsi:nil="true"/>"#), "{r}");
}
