//! Permission sets through the Metadata API: deployed over SOAP and over the REST
//! `deployRequest` (created, then unchanged; a field the org lacks fails its component
//! with Salesforce's message), granted to a user made through the test control, retrieved
//! as Metadata built from the org's records and redeployed unchanged, read, listed and
//! deleted.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::deploy::{between, call, deploy, unzip, zip_bytes};
use crate::{Authed, j, server};

const PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Deal_Desk</members><name>PermissionSet</name></types><version>62.0</version></Package>"#;
const DEAL_DESK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata"><description>Works deals</description><fieldPermissions><editable>false</editable><field>Account.Rating</field><readable>true</readable></fieldPermissions><label>Deal desk</label><objectPermissions><allowCreate>false</allowCreate><allowDelete>false</allowDelete><allowEdit>false</allowEdit><allowRead>true</allowRead><modifyAllRecords>false</modifyAllRecords><object>Account</object><viewAllRecords>false</viewAllRecords></objectPermissions><userPermissions><enabled>true</enabled><name>ApiEnabled</name></userPermissions></PermissionSet>"#;

fn files(set: &str) -> [(&'static str, &str); 2] {
    [
        ("package.xml", PACKAGE),
        ("permissionsets/Deal_Desk.permissionset", set),
    ]
}

/// Makes a user with `sets` through the test control; their token.
fn user(s: &Server, username: &str, sets: &[&str]) -> String {
    let (st, made) = j(s
        .http()
        .post(format!("{}/forcebus/v1/control/users", s.base()))
        .bearer(s)
        .json(&json!({
            "username": username,
            "profile": "Minimum Access - API Only Integrations",
            "permission_sets": sets,
        }))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    made["access_token"].as_str().unwrap().to_owned()
}

/// The Account fields `token`'s user sees in describe.
fn account_fields(s: &Server, token: &str) -> Vec<String> {
    let (st, d) = j(s
        .http()
        .get(format!("{}/sobjects/Account/describe", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{d}");
    d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Retrieves `PermissionSet:{name}`; the zip's files.
fn retrieve(s: &Server, name: &str) -> std::collections::BTreeMap<String, String> {
    let answer = call(
        s,
        &format!(
            "<met:retrieve><met:retrieveRequest><met:apiVersion>62.0</met:apiVersion><met:unpackaged><met:types><met:members>{name}</met:members><met:name>PermissionSet</met:name></met:types></met:unpackaged></met:retrieveRequest></met:retrieve>"
        ),
    );
    let id = between(&answer, "<id>", "</id>").to_owned();
    let r = call(
        s,
        &format!(
            "<met:checkRetrieveStatus><met:asyncProcessId>{id}</met:asyncProcessId></met:checkRetrieveStatus>"
        ),
    );
    assert!(r.contains("<success>true</success>"), "{r}");
    unzip(between(&r, "<zipFile>", "</zipFile>"))
}

#[test]
fn a_soap_deploy_grants_a_user_and_retrieves_back_unchanged() {
    let s = server();
    let done = deploy(&s, &files(DEAL_DESK), "");
    assert!(done.contains("<status>Succeeded</status>"), "{done}");
    assert!(done.contains("<changed>true</changed><componentType>PermissionSet</componentType><created>true</created>"), "{done}");
    let token = user(&s, "desk@it.test", &["Deal_Desk"]);
    let seen = account_fields(&s, &token);
    assert!(seen.iter().any(|f| f == "Rating"), "{seen:?}");
    assert!(!seen.iter().any(|f| f == "Industry"), "{seen:?}");
    let zipped = retrieve(&s, "Deal_Desk");
    let set = &zipped["unpackaged/permissionsets/Deal_Desk.permissionset"];
    for part in [
        "<label>Deal desk</label>",
        "<description>Works deals</description>",
        "<editable>false</editable><field>Account.Rating</field><readable>true</readable>",
        "<allowRead>true</allowRead><modifyAllRecords>false</modifyAllRecords><object>Account</object>",
        "<enabled>true</enabled><name>ApiEnabled</name>",
    ] {
        assert!(set.contains(part), "{part} in {set}");
    }
    let package = &zipped["unpackaged/package.xml"];
    assert!(
        package.contains("<members>Deal_Desk</members><name>PermissionSet</name>"),
        "{package}"
    );
    let again = deploy(&s, &files(set), "");
    assert!(again.contains("<status>Succeeded</status>"), "{again}");
    assert!(again.contains("<changed>false</changed><componentType>PermissionSet</componentType><created>false</created>"), "redeployed unchanged: {again}");
    // Changed over REST, the set is retrieved as its records now are.
    let (_, found) = crate::get(
        &s,
        "/query?q=SELECT+Id+FROM+PermissionSet+WHERE+Name+=+'Deal_Desk'",
    );
    let set_id = found["records"][0]["Id"].as_str().unwrap().to_owned();
    crate::create(
        &s,
        "FieldPermissions",
        json!({"ParentId": set_id, "SobjectType": "Account", "Field": "Account.Industry", "PermissionsRead": true}),
    );
    let changed = &retrieve(&s, "Deal_Desk")["unpackaged/permissionsets/Deal_Desk.permissionset"];
    for part in [
        "<editable>false</editable><field>Account.Industry</field><readable>true</readable>",
        "<field>Account.Rating</field>",
        "<label>Deal desk</label>",
    ] {
        assert!(changed.contains(part), "{part} in {changed}");
    }
    assert!(account_fields(&s, &token).iter().any(|f| f == "Industry"));
    // A field the org does not have fails the set, with Salesforce's message.
    let bad = DEAL_DESK.replace("Account.Rating", "Account.Nope__c");
    let failed = deploy(
        &s,
        &files(&bad),
        "<met:rollbackOnError>true</met:rollbackOnError>",
    );
    assert!(failed.contains("<status>Failed</status>"), "{failed}");
    assert!(
        failed.contains(
            "<problem>In field: field - no CustomField named Account.Nope__c found</problem>"
        ),
        "{failed}"
    );
}

#[test]
fn a_rest_deploy_makes_a_set_read_listed_and_deleted_over_soap() {
    let s = server();
    let boundary = "----forcebusAccessBoundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"deploy.zip\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
    body.extend_from_slice(&zip_bytes(&files(DEAL_DESK)));
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{boundary}--\r\n", json!({"deployOptions": {"rollbackOnError": true}})).as_bytes());
    let (st, made) = j(s
        .http()
        .post(format!("{}/metadata/deployRequest", s.data()))
        .bearer(&s)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap());
    assert_eq!(st, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let (_, r) = crate::get(
        &s,
        &format!("/metadata/deployRequest/{id}?includeDetails=true"),
    );
    let result = &r["deployResult"];
    assert_eq!(result["status"], "Succeeded", "{r}");
    let set: Vec<&Value> = result["details"]["componentSuccesses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["componentType"] == "PermissionSet")
        .collect();
    assert_eq!(set.len(), 1, "{r}");
    assert_eq!(
        (&set[0]["fullName"], &set[0]["created"]),
        (&json!("Deal_Desk"), &json!(true))
    );
    let read = call(
        &s,
        "<met:readMetadata><met:type>PermissionSet</met:type><met:fullNames>deal_desk</met:fullNames></met:readMetadata>",
    );
    assert!(read.contains(r#"<records xsi:type="PermissionSet"><fullName>Deal_Desk</fullName><description>Works deals</description>"#), "{read}");
    let listed = call(
        &s,
        "<met:listMetadata><met:queries><met:type>PermissionSet</met:type></met:queries></met:listMetadata>",
    );
    assert!(listed.contains("<fileName>permissionsets/Deal_Desk.permissionset</fileName><fullName>Deal_Desk</fullName><id>0PS"), "{listed}");
    // An update adds a grant; a create of an existing set is refused.
    let update = r#"<met:updateMetadata><met:metadata xsi:type="met:PermissionSet" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><met:fullName>Deal_Desk</met:fullName><met:label>Deal desk</met:label><met:fieldPermissions><met:editable>true</met:editable><met:field>Account.Industry</met:field><met:readable>true</met:readable></met:fieldPermissions></met:metadata></met:updateMetadata>"#;
    assert!(call(&s, update).contains("<success>true</success>"));
    let token = user(&s, "desk@it.test", &["Deal_Desk"]);
    let seen = account_fields(&s, &token);
    assert!(
        seen.iter().any(|f| f == "Industry") && seen.iter().any(|f| f == "Rating"),
        "{seen:?}"
    );
    let create = update.replace("updateMetadata", "createMetadata");
    assert!(call(&s, &create).contains("<statusCode>DUPLICATE_DEVELOPER_NAME</statusCode>"));
    let deleted = call(
        &s,
        "<met:deleteMetadata><met:type>PermissionSet</met:type><met:fullNames>Deal_Desk</met:fullNames></met:deleteMetadata>",
    );
    assert!(
        deleted.contains("<fullName>Deal_Desk</fullName><success>true</success>"),
        "{deleted}"
    );
    let (st, _) = j(s
        .http()
        .get(format!("{}/sobjects/Account/describe", s.data()))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .unwrap());
    assert_eq!(st, 404, "the set gone, the user no longer reads accounts");
}

/// A project with a custom profile, a permission set and a group holding it, written
/// under a fresh folder.
fn access_project() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fb-access-project-{}", std::process::id()));
    let default = dir.join("force-app/main/default");
    let write = |path: &str, text: &str| {
        let file = default.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sfdx-project.json"),
        r#"{"packageDirectories": [{"path": "force-app"}]}"#,
    )
    .unwrap();
    write(
        "profiles/Deal Desk.profile-meta.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><Profile xmlns="http://soap.sforce.com/2006/04/metadata"><custom>true</custom><fieldPermissions><editable>false</editable><field>Account.Rating</field><readable>true</readable></fieldPermissions><objectPermissions><allowRead>true</allowRead><object>Account</object></objectPermissions><userLicense>Salesforce</userLicense><userPermissions><enabled>true</enabled><name>ApiEnabled</name></userPermissions></Profile>"#,
    );
    write("permissionsets/Deal_Desk.permissionset-meta.xml", DEAL_DESK);
    write(
        "permissionsetgroups/Deal_Team.permissionsetgroup-meta.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><PermissionSetGroup xmlns="http://soap.sforce.com/2006/04/metadata"><label>Deal team</label><permissionSets>Deal_Desk</permissionSets><status>Updated</status></PermissionSetGroup>"#,
    );
    dir
}

#[test]
fn a_projects_custom_profile_and_group_are_there_for_users_from_the_start() {
    let dir = access_project();
    let s = Server::start_with(
        &crate::bin(),
        forcebus_testkit::Options {
            in_memory: true,
            args: vec!["--project".into(), dir.display().to_string()],
            ..Default::default()
        },
    );
    let made = |body: Value| {
        let (st, made) = j(s
            .http()
            .post(format!("{}/forcebus/v1/control/users", s.base()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap());
        assert_eq!(st, 201, "{made}");
        made["access_token"].as_str().unwrap().to_owned()
    };
    let desk = made(json!({"username": "desk@it.test", "profile": "Deal Desk"}));
    let seen = account_fields(&s, &desk);
    assert!(seen.iter().any(|f| f == "Rating"), "{seen:?}");
    assert!(!seen.iter().any(|f| f == "Industry"), "{seen:?}");
    let team = made(json!({
        "username": "team@it.test",
        "profile": "Minimum Access - API Only Integrations",
        "permission_sets": ["Deal_Team"],
    }));
    let seen = account_fields(&s, &team);
    assert!(
        seen.iter().any(|f| f == "Rating"),
        "through the group: {seen:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
