//! Writing XML without hand-escaping: a [`Writer`] opens and closes elements, and every
//! text it is given is escaped on the way in, so no caller builds markup with `format!`.

use crate::escape;

/// XML written element by element.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    open: Vec<String>,
}

impl Writer {
    /// An empty document fragment.
    pub fn new() -> Self {
        Self::default()
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
        self.out.push_str(&escape(text));
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
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xsi:nil=\"true\"/>");
        self
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
}
