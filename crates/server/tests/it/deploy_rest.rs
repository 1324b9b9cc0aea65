//! The Metadata API's REST deploy, `/services/data/vXX.X/metadata/deployRequest`, over raw
//! HTTP: a multipart deploy answered 201 and read back as JSON (and over SOAP: one store
//! of deploys); a checkOnly validation quick-deployed by body or by path, once; cancels of
//! finished deploys refused (SOAP `cancelDeploy`, REST `PATCH`); unknown ids 404; bad
//! bodies 400 and no session 401, each with a Salesforce error array.

use forcebus_testkit::Server;
use serde_json::{Value, json};

use crate::deploy::zip_bytes;
use crate::{Authed, code, get, j, server};

const BOUNDARY: &str = "----forcebusTestBoundary7MA4YWxk";
const PACKAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>Account.Mode__c</members><name>CustomField</name></types><version>62.0</version></Package>"#;

fn account(field: &str, kind: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><fields><fullName>{field}</fullName><label>{field}</label><type>{kind}</type><length>20</length></fields></CustomObject>"#
    )
}

/// A multipart body: the zip as jsforce sends it, then the JSON part named `json`.
fn form(zip: &[u8], options: &Value) -> Vec<u8> {
    let mut body = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"package.xml\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--{BOUNDARY}--\r\n", json!({"deployOptions": options})).as_bytes());
    body
}

fn post(s: &Server, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    j(s.http()
        .post(format!("{}/metadata/deployRequest{path}", s.data()))
        .bearer(s)
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap())
}

fn deploy(s: &Server, field: &str, options: &Value) -> String {
    let package = PACKAGE.replace("Mode__c", field);
    let object = account(field, "Text");
    let files = [
        ("package.xml", package.as_str()),
        ("objects/Account.object", object.as_str()),
    ];
    let (st, body) = post(
        s,
        "",
        &format!("multipart/form-data; boundary={BOUNDARY}"),
        form(&zip_bytes(&files), options),
    );
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["deployResult"]["status"], "Pending", "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn soap(s: &Server, op: &str) -> String {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><SessionHeader><sessionId>{}</sessionId></SessionHeader></soapenv:Header><soapenv:Body>{op}</soapenv:Body></soapenv:Envelope>"#,
        s.ready.access_token
    );
    s.http()
        .post(format!("{}/services/Soap/m/62.0", s.base()))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn has_field(s: &Server, name: &str) -> bool {
    let (_, d) = get(s, "/sobjects/Account/describe");
    d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == name)
}

#[test]
fn a_rest_deploy_is_read_as_json_and_over_soap() {
    let s = server();
    let id = deploy(
        &s,
        "Mode__c",
        &json!({"rollbackOnError": true, "singlePackage": true}),
    );
    assert!(id.starts_with("0Af") && id.len() == 18, "{id}");
    let (st, r) = get(
        &s,
        &format!("/metadata/deployRequest/{id}?includeDetails=true"),
    );
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["deployOptions"]["singlePackage"], true);
    let result = &r["deployResult"];
    assert_eq!(
        (&result["status"], &result["success"], &result["done"]),
        (&json!("Succeeded"), &json!(true), &json!(true)),
        "{r}"
    );
    assert_eq!(result["numberComponentsDeployed"], 1);
    assert_eq!(result["errorMessage"], Value::Null);
    let successes = result["details"]["componentSuccesses"].as_array().unwrap();
    let names: Vec<&str> = successes
        .iter()
        .map(|m| m["fullName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["package.xml", "Account.Mode__c"]);
    assert_eq!(successes[1]["created"], true);
    assert!(has_field(&s, "Mode__c"));
    // Without includeDetails: no messages, but details is still an object.
    let (_, plain) = get(&s, &format!("/metadata/deployRequest/{id}"));
    assert_eq!(
        plain["deployResult"]["details"]["componentSuccesses"],
        json!([])
    );
    // The same deploy over SOAP.
    let x = soap(
        &s,
        &format!(
            "<checkDeployStatus><asyncProcessId>{id}</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>"
        ),
    );
    assert!(
        x.contains("<status>Succeeded</status>")
            && x.contains("<fullName>Account.Mode__c</fullName>"),
        "{x}"
    );
}

#[test]
fn a_validation_is_quick_deployed_once_by_body_or_path() {
    let s = server();
    let v1 = deploy(&s, "Alpha__c", &json!({"checkOnly": true}));
    assert!(!has_field(&s, "Alpha__c"), "checkOnly applies nothing");
    let (st, q) = post(
        &s,
        "",
        "application/json",
        json!({"validatedDeployRequestId": v1})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(st, 201, "{q}");
    assert_eq!(q["validatedDeployRequestId"], v1.as_str());
    assert_ne!(q["id"], v1.as_str());
    assert!(has_field(&s, "Alpha__c"));
    let (st, again) = post(
        &s,
        "",
        "application/json",
        json!({"validatedDeployRequestId": v1})
            .to_string()
            .into_bytes(),
    );
    assert_eq!((st, code(&again)), (400, "INVALID_ID_FIELD"), "{again}");

    let v2 = deploy(&s, "Beta__c", &json!({"checkOnly": true}));
    let (st, q) = post(
        &s,
        &format!("/{}", &v2[..15]),
        "application/json",
        Vec::new(),
    );
    assert_eq!(st, 201, "{q}");
    assert!(has_field(&s, "Beta__c"));

    // A validation voided by a schema change since.
    let v3 = deploy(&s, "Gamma__c", &json!({"checkOnly": true}));
    deploy(&s, "Delta__c", &json!({}));
    let x = soap(
        &s,
        &format!(
            "<deployRecentValidation><validationId>{v3}</validationId></deployRecentValidation>"
        ),
    );
    assert!(
        x.contains("<faultcode>sf:INVALID_ID_FIELD</faultcode>"),
        "{x}"
    );
    assert!(!has_field(&s, "Gamma__c"));
    // A failed deploy is no validation.
    let (st, e) = post(
        &s,
        "",
        "application/json",
        json!({"validatedDeployRequestId": "0Af000000000042AAA"})
            .to_string()
            .into_bytes(),
    );
    assert_eq!((st, code(&e)), (400, "INVALID_ID_FIELD"), "{e}");
}

#[test]
fn finished_deploys_cannot_be_canceled_and_unknown_ids_are_404() {
    let s = server();
    let id = deploy(&s, "Mode__c", &json!({}));
    let x = soap(&s, &format!("<cancelDeploy><id>{id}</id></cancelDeploy>"));
    assert!(
        x.contains("INVALID_ID_FIELD: Deployment already completed"),
        "{x}"
    );
    let x = soap(
        &s,
        "<cancelDeploy><String>0Af000000000099AAA</String></cancelDeploy>",
    );
    assert!(x.contains("sf:INVALID_CROSS_REFERENCE_KEY"), "{x}");
    let patch = |id: &str, body: Value| {
        j(s.http()
            .patch(format!("{}/metadata/deployRequest/{id}", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    let canceling = json!({"deployResult": {"status": "Canceling"}});
    let (st, e) = patch(&id, canceling.clone());
    assert_eq!((st, code(&e)), (400, "INVALID_ID_FIELD"), "{e}");
    let (st, e) = patch(&id, json!({"deployResult": {"status": "Succeeded"}}));
    assert_eq!((st, code(&e)), (400, "INVALID_INPUT"), "{e}");
    let (st, e) = patch("0Af000000000099AAA", canceling);
    assert_eq!((st, code(&e)), (404, "NOT_FOUND"), "{e}");
    let (st, e) = get(&s, "/metadata/deployRequest/0Af000000000099AAA");
    assert_eq!((st, code(&e)), (404, "NOT_FOUND"), "{e}");
    assert_eq!(e[0]["message"], "The requested resource does not exist");
    let (st, e) = get(&s, "/metadata/deployRequest/nonsense");
    assert_eq!((st, code(&e)), (404, "NOT_FOUND"), "{e}");
}

#[test]
fn bad_deploy_requests_are_salesforce_errors() {
    let s = server();
    let multipart = format!("multipart/form-data; boundary={BOUNDARY}");
    for (content_type, body, status, want) in [
        ("multipart/form-data", b"x".to_vec(), 400, "INVALID_INPUT"),
        (multipart.as_str(), b"no boundary here".to_vec(), 400, "INVALID_INPUT"),
        (multipart.as_str(), format!("--{BOUNDARY}\r\n\r\nPK").into_bytes(), 400, "INVALID_INPUT"),
        (multipart.as_str(), format!("--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n--{BOUNDARY}--").into_bytes(), 400, "INVALID_INPUT"),
        (multipart.as_str(), format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=file\r\n\r\nPK\r\n--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{{\"deployOptions\": {{\"checkOnly\": 7}}}}\r\n--{BOUNDARY}--").into_bytes(), 400, "JSON_PARSER_ERROR"),
        ("application/json", b"{".to_vec(), 400, "JSON_PARSER_ERROR"),
        ("application/json", b"{}".to_vec(), 400, "INVALID_INPUT"),
        ("text/csv", b"a,b".to_vec(), 415, "UNSUPPORTED_MEDIA_TYPE"),
    ] {
        let (st, e) = post(&s, "", content_type, body);
        assert_eq!((st, code(&e)), (status, want), "{content_type}: {e}");
    }
    let (st, e) = j(s
        .http()
        .post(format!("{}/metadata/deployRequest", s.data()))
        .header("content-type", multipart.as_str())
        .body(form(&zip_bytes(&[]), &json!({})))
        .send()
        .unwrap());
    assert_eq!((st, code(&e)), (401, "INVALID_SESSION_ID"), "{e}");
}
