//! The XML that SOAP clients send and read, for every SOAP front door (the partner API,
//! the Metadata API) and for the metadata files of an sfdx project: a reader that parses
//! a document into [`Element`]s matched by local name (any prefix, any namespace style),
//! [`write`] (a [`write::Writer`] that escapes every text it takes), [`soap`] (envelopes
//! and faults), [`escape`], and [`json`]: Metadata XML as the Tooling API's JSON.
//!
//! The reader never expands entities beyond the XML built-ins and caps depth and element
//! count, so hostile XML costs little; a fuzz target and property tests feed it arbitrary
//! bytes.

pub mod json;
pub mod soap;
pub mod write;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Not well-formed XML (the reader's own words).
    #[error("{0}")]
    Syntax(String),
    /// Deeper than [`MAX_DEPTH`] or more elements than [`MAX_ELEMENTS`].
    #[error("document too deep or too large")]
    TooLarge,
    /// An end tag without its start.
    #[error("unbalanced end tag")]
    Unbalanced,
    /// The document ended inside an element.
    #[error("premature end of document")]
    Premature,
}

/// Deepest element nesting accepted; a login envelope is four deep.
pub const MAX_DEPTH: usize = 32;
/// Most elements in one document (an `undelete` of 200 ids is about 210).
pub const MAX_ELEMENTS: usize = 20_000;

/// A parsed XML element: local name, text, children.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    /// Local name (prefix dropped).
    pub name: String,
    /// Concatenated text and CDATA content.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The local part of its `xsi:type` attribute (`CustomObject` of `ns0:CustomObject`).
    pub xsi_type: Option<String>,
    /// `xsi:nil="true"`.
    pub nil: bool,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    /// Every child with this local name, in document order (`ids` of an `undelete`).
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The trimmed text of the first child with this local name.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// An element with its `xsi:type` and `xsi:nil` read (other attributes are ignored).
fn element_of(e: &quick_xml::events::BytesStart<'_>) -> Element {
    let mut el = Element {
        name: local(e.name().as_ref()),
        ..Default::default()
    };
    for a in e.attributes().flatten() {
        let key = a.key.as_ref();
        let value = String::from_utf8_lossy(&a.value);
        if key.ends_with(b":type") {
            el.xsi_type = Some(local(value.as_bytes()));
        } else if key.ends_with(b":nil") {
            el.nil = value.trim().eq_ignore_ascii_case("true");
        }
    }
    el
}

/// The local part of a qualified name (`soapenv:Body` → `Body`): elements are matched
/// whatever prefix the client bound to the namespace.
fn local(name: &[u8]) -> String {
    let n = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    String::from_utf8_lossy(n).into_owned()
}

/// Parses an XML document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let mut reader = Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| XmlError::Syntax(e.to_string()))?;
        match event {
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(XmlError::TooLarge);
                }
                stack.push(element_of(&e));
            }
            Event::Empty(e) => {
                count += 1;
                let el = element_of(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(XmlError::Unbalanced)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text
                        .push_str(&t.unescape().map_err(|e| XmlError::Syntax(e.to_string()))?);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::Eof => return Err(XmlError::Premature),
            _ => {}
        }
        buf.clear();
    }
}

/// Escapes text for element content or an attribute value: `&`, `<`, `>`, `"` and `'`.
pub fn escape(s: &str) -> String {
    write::Escaping::All.apply(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_any_prefix_cdata_and_entities() {
        let doc = r#"<?xml version="1.0"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>a&amp;b@x.com</username><password><![CDATA[p<w>]]></password></login></se:Body></se:Envelope>"#;
        let root = parse(doc.as_bytes()).unwrap();
        assert_eq!(root.name, "Envelope");
        let login = &root.child("Body").unwrap().children[0];
        assert_eq!(login.name, "login");
        assert_eq!(login.text_of("username"), Some("a&b@x.com"));
        assert_eq!(login.text_of("password"), Some("p<w>"));
    }

    #[test]
    fn malformed_and_hostile_documents_are_errors() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn escaped_text_round_trips(s in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}]{0,40}") {
            let doc = format!("<a>{}</a>", escape(&s));
            prop_assert_eq!(parse(doc.as_bytes()).unwrap().text, s);
        }
    }
}
