//! The partner SOAP endpoint: login (shapes clients parse by position and by regex),
//! faults, logout, undelete and emptyRecycleBin.

use forcebus_testkit::Server;
use serde_json::json;

use crate::{Authed, code, create, get, server};

fn envelope(prefix: &str, header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><{prefix}:Envelope xmlns:{prefix}="http://schemas.xmlsoap.org/soap/envelope/"><{prefix}:Header>{header}</{prefix}:Header><{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"#
    )
}

fn post(s: &Server, path: &str, xml: String) -> (u16, String) {
    let r = s
        .http()
        .post(format!("{}{path}", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "login")
        .body(xml)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    (status, r.text().unwrap())
}

/// Element children by local name and position, as the Pub/Sub Python sample reads them.
fn children(xml: &str, path: &[&str]) -> Vec<(String, String)> {
    let root = forcebus_xml::parse(xml.as_bytes()).unwrap();
    let mut el = &root;
    for name in path {
        el = el
            .children
            .iter()
            .find(|c| c.name == *name)
            .unwrap_or_else(|| panic!("no {name} in {xml}"));
    }
    el.children
        .iter()
        .map(|c| (c.name.clone(), c.text.clone()))
        .collect()
}

#[test]
fn login_answers_in_wsdl_order_for_every_request_style() {
    let s = server();
    let (user, pw, token) = (
        &s.ready.username,
        &s.ready.password,
        &s.ready.security_token,
    );
    let bodies = [
        // jsforce: se: prefix, default namespace on login.
        envelope(
            "se",
            "",
            &format!(
                r#"<login xmlns="urn:partner.soap.sforce.com"><username>{user}</username><password>{pw}</password></login>"#
            ),
        ),
        // Pub/Sub Python sample: CDATA, urn: prefix, password + security token.
        envelope(
            "soapenv",
            "",
            &format!(
                r#"<urn:login xmlns:urn="urn:partner.soap.sforce.com"><urn:username><![CDATA[{user}]]></urn:username><urn:password><![CDATA[{pw}{token}]]></urn:password></urn:login>"#
            ),
        ),
        envelope(
            "env",
            r#"<n1:CallOptions xmlns:n1="urn:partner.soap.sforce.com"><n1:client>x</n1:client></n1:CallOptions>"#,
            &format!(
                r#"<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{user}</n1:username><n1:password>{pw}</n1:password></n1:login>"#
            ),
        ),
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let path = [
            "/services/Soap/u/59.0",
            "/services/Soap/u/57.0/",
            "/services/Soap/u/43.0",
        ][i];
        let (st, xml) = post(&s, path, body);
        assert_eq!(st, 200, "{xml}");
        assert!(
            xml.contains("<soapenv:Envelope") && xml.contains("<soapenv:Body>"),
            "prefixed Envelope and Body"
        );
        let result = children(&xml, &["Body", "loginResponse", "result"]);
        let names: Vec<&str> = result.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "metadataServerUrl",
                "passwordExpired",
                "sandbox",
                "serverUrl",
                "sessionId",
                "userId",
                "userInfo"
            ]
        );
        let version = path
            .trim_start_matches("/services/Soap/u/")
            .trim_end_matches('/');
        assert_eq!(
            result[3].1,
            format!("{}/services/Soap/u/{version}/{}", s.base(), s.ready.org_id)
        );
        assert_eq!(result[1].1, "false");
        let info = children(&xml, &["Body", "loginResponse", "result", "userInfo"]);
        assert_eq!(
            info[8],
            ("organizationId".to_owned(), s.ready.org_id.clone())
        );
        assert_eq!(info.len(), 24);
        // The session id is a REST token.
        let sid = &result[4].1;
        let st = s
            .http()
            .get(format!("{}/limits", s.data()))
            .header("Authorization", format!("Bearer {sid}"))
            .send()
            .unwrap()
            .status();
        assert_eq!(st, 200);
    }
}

#[test]
fn bad_credentials_get_the_login_fault() {
    let s = server();
    let body = envelope(
        "se",
        "",
        &format!(
            r#"<login xmlns="urn:partner.soap.sforce.com"><username>{}</username><password>wrong</password></login>"#,
            s.ready.username
        ),
    );
    let (st, xml) = post(&s, "/services/Soap/u/59.0", body);
    assert_eq!(st, 500);
    assert!(
        xml.contains("<faultcode>sf:INVALID_LOGIN</faultcode>"),
        "{xml}"
    );
    assert!(xml.contains("<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>"));
    assert!(xml.contains("<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"));
    assert!(xml.contains("<sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage>"));
    for junk in ["not xml", "<a><b></a>", "<Envelope/>", ""] {
        let (st, xml) = post(&s, "/services/Soap/u/59.0", junk.to_owned());
        assert_eq!(st, 500);
        assert!(
            xml.contains("<faultcode>soapenv:Client</faultcode>"),
            "{xml}"
        );
    }
    let unknown = envelope("se", "", "<query xmlns=\"urn:partner.soap.sforce.com\"/>");
    assert!(
        post(&s, "/services/Soap/u/59.0", unknown)
            .1
            .contains("No operation available")
    );
}

fn session_header(sid: &str) -> String {
    format!(
        r#"<SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{sid}</sessionId></SessionHeader>"#
    )
}

#[test]
fn undelete_restores_and_empty_recycle_bin_purges() {
    let s = server();
    let acct = create(&s, "Account", json!({"Name": "Bin"}));
    let contact = create(&s, "Contact", json!({"LastName": "Kid", "AccountId": acct}));
    let st = s
        .http()
        .delete(format!("{}/sobjects/Account/{acct}", s.data()))
        .bearer(&s)
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    assert_eq!(
        get(&s, &format!("/sobjects/Contact/{contact}")).0,
        404,
        "the delete cascaded"
    );
    let (deleted, _) = get(
        &s,
        "/sobjects/Account/deleted?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
    );
    assert_eq!(deleted, 200);
    let sid = &s.ready.access_token;
    let body = envelope(
        "se",
        &session_header(sid),
        &format!(
            r#"<undelete xmlns="urn:partner.soap.sforce.com"><ids>{acct}</ids><ids>001Fb0000000ZZZ</ids><ids>junk</ids></undelete>"#
        ),
    );
    let (st, xml) = post(&s, "/services/Soap/u/59.0", body);
    assert_eq!(st, 200, "{xml}");
    let results: Vec<_> = forcebus_xml::parse(xml.as_bytes()).unwrap().children[0].children[0]
        .children
        .clone();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0]
            .children
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>(),
        [acct.as_str(), "true"]
    );
    assert!(
        xml.contains("<statusCode>UNDELETE_FAILED</statusCode>"),
        "{xml}"
    );
    assert_eq!(get(&s, &format!("/sobjects/Account/{acct}")).0, 200);
    assert_eq!(
        get(&s, &format!("/sobjects/Contact/{contact}")).0,
        200,
        "undelete restores the cascade"
    );
    // emptyRecycleBin: only Recycle Bin records; they are gone for good.
    s.http()
        .delete(format!("{}/sobjects/Contact/{contact}", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let body = envelope(
        "se",
        &session_header(sid),
        &format!(
            r#"<emptyRecycleBin xmlns="urn:partner.soap.sforce.com"><ids>{contact}</ids><ids>{acct}</ids></emptyRecycleBin>"#
        ),
    );
    let (st, xml) = post(&s, "/services/Soap/u/59.0", body);
    assert_eq!(st, 200, "{xml}");
    assert!(
        xml.contains(&format!(
            "<result><id>{contact}</id><success>true</success></result>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<success>false</success>"),
        "a live record cannot be purged"
    );
    let body = envelope(
        "se",
        &session_header(sid),
        &format!(
            r#"<undelete xmlns="urn:partner.soap.sforce.com"><ids>{contact}</ids></undelete>"#
        ),
    );
    assert!(
        post(&s, "/services/Soap/u/59.0", body)
            .1
            .contains("<success>false</success>")
    );
}

#[test]
fn calls_need_a_session_and_logout_ends_it() {
    let s = server();
    let body = envelope(
        "se",
        &session_header("00Dbad!x"),
        r#"<undelete xmlns="urn:partner.soap.sforce.com"><ids>001Fb0000000001</ids></undelete>"#,
    );
    let (st, xml) = post(&s, "/services/Soap/u/59.0", body);
    assert_eq!(st, 500);
    assert!(xml.contains("sf:INVALID_SESSION_ID"), "{xml}");
    let logout = envelope(
        "se",
        &session_header(&s.ready.access_token),
        r#"<logout xmlns="urn:partner.soap.sforce.com"/>"#,
    );
    let (st, xml) = post(&s, "/services/Soap/u/59.0", logout);
    assert_eq!(st, 200, "{xml}");
    assert!(xml.contains("<logoutResponse/>"));
    let (st, body) = get(&s, "/limits");
    assert_eq!((st, code(&body)), (401, "INVALID_SESSION_ID"));
}
