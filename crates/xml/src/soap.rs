//! SOAP envelopes and faults as Salesforce writes them, for every SOAP front door: the
//! writers escape what they are given, so callers pass plain text.

use crate::escape;

/// The SOAP 1.1 envelope namespace.
pub const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The Metadata API's namespace.
pub const METADATA_NS: &str = "http://soap.sforce.com/2006/04/metadata";
/// The partner API's namespace.
pub const PARTNER_NS: &str = "urn:partner.soap.sforce.com";
/// The partner API's fault namespace.
pub const PARTNER_FAULT_NS: &str = "urn:fault.partner.soap.sforce.com";

/// A response envelope whose default namespace is `ns`, so the operation's response and
/// every descendant are unprefixed (clients' XPath expects them so); `body` is the Body's
/// content, already XML.
pub fn envelope(ns: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// A fault without detail: `faultcode` `sf:CODE` (`sf` bound to `ns`), `faultstring`
/// `CODE: message`.
pub fn fault(ns: &str, code: &str, message: &str) -> String {
    let message = escape(message);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:sf="{ns}"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
    )
}

/// A partner API fault with its detail element `kind` (`LoginFault`,
/// `UnexpectedErrorFault`) carrying the code and message again.
pub fn partner_fault(code: &str, message: &str, kind: &str) -> String {
    let message = escape(message);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}" xmlns:sf="{PARTNER_FAULT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail><sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage></sf:{kind}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
    )
}

/// A fault about the request itself (bad XML, an unknown operation): `soapenv:Client`.
pub fn client_fault(message: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENVELOPE_NS}"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_escape_their_text_and_parse() {
        for xml in [
            fault(METADATA_NS, "INVALID_ID_FIELD", "a <b> & c"),
            partner_fault("LOGIN_MUST_USE_SECURITY_TOKEN", "x < y", "LoginFault"),
            client_fault("bad & worse"),
        ] {
            let root = crate::parse(xml.as_bytes()).expect(&xml);
            let fault = root
                .child("Body")
                .and_then(|b| b.child("Fault"))
                .expect(&xml);
            assert!(fault.text_of("faultstring").is_some_and(|s| !s.is_empty()));
        }
        let f = fault(METADATA_NS, "X", "a <b>");
        assert!(
            f.contains("<faultstring>X: a &lt;b&gt;</faultstring>"),
            "{f}"
        );
    }

    #[test]
    fn an_envelope_makes_ns_the_default() {
        let e = envelope(PARTNER_NS, "<loginResponse/>");
        let root = crate::parse(e.as_bytes()).unwrap();
        assert_eq!(
            root.child("Body").unwrap().children[0].name,
            "loginResponse"
        );
        assert!(e.contains(r#"xmlns="urn:partner.soap.sforce.com""#));
    }
}
