//! The answer to one POST: its replies and event messages written one after another into
//! a single JSON array text as they are made, rather than each made as text of its own
//! and joined at the end. An event message is written from its parts (the channel's name,
//! already JSON, and the event's `data`, usually the encoding every subscriber shares), so
//! a delivery copies the shared bytes once, into the answer.

/// One POST's answer, under construction.
#[derive(Debug)]
pub(crate) struct Batch {
    text: String,
    messages: usize,
}

/// A place in a [`Batch`] to go back to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    len: usize,
    messages: usize,
}

impl Batch {
    pub(crate) fn new() -> Self {
        Self {
            text: String::from("["),
            messages: 0,
        }
    }

    /// Messages written so far.
    pub(crate) fn messages(&self) -> usize {
        self.messages
    }

    fn next(&mut self) {
        if self.messages > 0 {
            self.text.push(',');
        }
        self.messages += 1;
    }

    /// A message already made as JSON text (a reply).
    pub(crate) fn push(&mut self, message: &str) {
        self.next();
        self.text.push_str(message);
    }

    /// An event message, `{"channel":…,"data":…}`, from `channel` (a JSON string) and
    /// `data` (a JSON object); returns the message's length.
    pub(crate) fn event(&mut self, channel: &str, data: &str) -> usize {
        self.next();
        crate::deliver::write_message(&mut self.text, channel, data)
    }

    /// Where the answer is now, for [`Batch::back_to`].
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            len: self.text.len(),
            messages: self.messages,
        }
    }

    /// Drops what was written since `mark`.
    pub(crate) fn back_to(&mut self, mark: Mark) {
        self.text.truncate(mark.len);
        self.messages = mark.messages;
    }

    /// The whole answer: a JSON array of the messages written.
    pub(crate) fn finish(mut self) -> String {
        self.text.push(']');
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::Batch;

    #[test]
    fn messages_are_joined_into_one_array() {
        let mut b = Batch::new();
        let len = b.event("\"/event/A__e\"", "{\"x\":1}");
        assert_eq!(len, r#"{"channel":"/event/A__e","data":{"x":1}}"#.len());
        b.push("{\"successful\":true}");
        let text = b.finish();
        assert_eq!(
            text,
            "[{\"channel\":\"/event/A__e\",\"data\":{\"x\":1}},{\"successful\":true}]"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn going_back_to_a_mark_forgets_what_came_after() {
        let mut b = Batch::new();
        b.push("{\"a\":1}");
        let mark = b.mark();
        b.event("\"/event/A__e\"", "{}");
        b.event("\"/event/A__e\"", "{}");
        assert_eq!(b.messages(), 3);
        b.back_to(mark);
        assert_eq!(b.messages(), 1);
        b.push("{\"b\":2}");
        assert_eq!(b.finish(), "[{\"a\":1},{\"b\":2}]");
    }
}
