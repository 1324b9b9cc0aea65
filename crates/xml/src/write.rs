//! Writing XML without hand-escaping: a [`Writer`] opens and closes elements, and every
//! text it is given is escaped on the way in, so no caller builds markup with `format!`.
//! Attribute values escape every special character; element text escapes as the writer's
//! [`Escaping`] says, since each API has always written its own way.

use std::borrow::Cow;

use crate::escape;

/// The XML declaration every response document starts with.
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// The XML Schema instance namespace (`xsi:nil`, `xsi:type`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Which characters of element text become references.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Escaping {
    /// `&`, `<`, `>`, `"` and `'`: the SOAP front doors and the identity URL.
    #[default]
    All,
    /// `&`, `<`, `>` and `"`, apostrophes left as they are: Bulk API 1.0's job and batch
    /// info and its errors.
    KeepApostrophes,
    /// `&`, `<` and `>` only: Bulk API 1.0's batch results.
    Markup,
}

impl Escaping {
    /// `text` with the characters this escaping covers as references.
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        let special = |c: char| match self {
            Self::All => matches!(c, '&' | '<' | '>' | '"' | '\''),
            Self::KeepApostrophes => matches!(c, '&' | '<' | '>' | '"'),
            Self::Markup => matches!(c, '&' | '<' | '>'),
        };
        if !text.contains(special) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' if special(c) => out.push_str("&quot;"),
                '\'' if special(c) => out.push_str("&apos;"),
                c => out.push(c),
            }
        }
        Cow::Owned(out)
    }
}

/// XML written element by element.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    open: Vec<String>,
    escaping: Escaping,
}

impl Writer {
    /// An empty document fragment.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty document fragment whose element text escapes as `escaping` says.
    pub fn escaping(escaping: Escaping) -> Self {
        Self {
            escaping,
            ..Self::default()
        }
    }

    /// The XML declaration ([`DECLARATION`]), which starts a document.
    pub fn declaration(&mut self) -> &mut Self {
        self.out.push_str(DECLARATION);
        self
    }

    /// Opens `<name a="v" …>` with `attributes` in order; [`Writer::close`] closes it.
    pub fn open_with(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attributes);
        self.out.push('>');
        self.open.push(name.to_owned());
        self
    }

    /// `<name a="v" …/>`: an element with attributes and no content.
    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attributes);
        self.out.push_str("/>");
        self
    }

    /// `<name` and its attributes, each value escaped.
    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value));
            self.out.push('"');
        }
    }

    /// Opens `<name>`; [`Writer::close`] closes it.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.open.push(name.to_owned());
        self
    }

    /// Opens `<name xsi:type="kind">`; [`Writer::close`] closes it.
    pub fn open_typed(&mut self, name: &str, kind: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xsi:type=\"");
        self.out.push_str(&escape(kind));
        self.out.push_str("\">");
        self.open.push(name.to_owned());
        self
    }

    /// Closes the element opened last.
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
        }
        self
    }

    /// `<name>text</name>`, the text escaped.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.out.push_str(&self.escaping.apply(text));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// `<name>value</name>` for a value whose text needs no escaping (a number, a flag).
    pub fn value(&mut self, name: &str, value: impl std::fmt::Display) -> &mut Self {
        self.text(name, &value.to_string())
    }

    /// `<name xsi:nil="true"/>`.
    pub fn nil(&mut self, name: &str) -> &mut Self {
        self.empty(name, &[("xsi:nil", "true")])
    }

    /// `<name>text</name>`, or `<name xsi:nil="true"/>` for none.
    pub fn text_or_nil(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(t) => self.text(name, t),
            None => self.nil(name),
        }
    }

    /// XML another writer made, as it is.
    pub fn fragment(&mut self, xml: &str) -> &mut Self {
        self.out.push_str(xml);
        self
    }

    /// The XML written, every element opened closed.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_nest_close_and_escape_their_text() {
        let mut w = Writer::new();
        w.open("result")
            .text("message", "a <b> & \"c\"")
            .value("success", false)
            .nil("id")
            .text_or_nil("fullName", Some("X__c"))
            .text_or_nil("other", None);
        let xml = w.finish();
        assert_eq!(
            xml,
            "<result><message>a &lt;b&gt; &amp; &quot;c&quot;</message><success>false</success><id xsi:nil=\"true\"/><fullName>X__c</fullName><other xsi:nil=\"true\"/></result>"
        );
        let wrapped = format!("<r xmlns:xsi=\"x\">{xml}</r>");
        let root = crate::parse(wrapped.as_bytes()).unwrap();
        assert_eq!(root.children[0].text_of("message"), Some("a <b> & \"c\""));
    }

    #[test]
    fn documents_carry_attributes_and_escape_their_text_as_asked() {
        let text = "O'Hara & \"Sons\" <ltd>";
        let mut expected = Vec::new();
        for (escaping, escaped) in [
            (
                Escaping::All,
                "O&apos;Hara &amp; &quot;Sons&quot; &lt;ltd&gt;",
            ),
            (
                Escaping::KeepApostrophes,
                "O'Hara &amp; &quot;Sons&quot; &lt;ltd&gt;",
            ),
            (Escaping::Markup, "O'Hara &amp; \"Sons\" &lt;ltd&gt;"),
        ] {
            let mut w = Writer::escaping(escaping);
            w.declaration()
                .open_with("results", &[("xmlns", "urn:x"), ("a", "\"'")])
                .empty("id", &[("xsi:nil", "true"), ("xmlns:xsi", XSI_NS)])
                .text("message", text);
            expected.push(w.finish());
            assert_eq!(escaping.apply(text), escaped);
            assert_eq!(escaping.apply("plain"), "plain");
        }
        assert_eq!(
            expected[2],
            format!(
                "{DECLARATION}<results xmlns=\"urn:x\" a=\"&quot;&apos;\"><id xsi:nil=\"true\" xmlns:xsi=\"{XSI_NS}\"/><message>O'Hara &amp; \"Sons\" &lt;ltd&gt;</message></results>"
            )
        );
    }
}
