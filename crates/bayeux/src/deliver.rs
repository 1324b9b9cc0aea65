//! Event messages: a log event as a Streaming API message on a channel, rendered through
//! `forcebus-events`. Standard channels share one encoding of `data` per event and API
//! version, copied into every subscriber's reply as text (see `protocol::batch`).

use serde_json::Value;

use forcebus_eventlog::Event;

use crate::Bayeux;

/// The `data` of an event message on `channel`: a platform event, a PushTopic notification,
/// or a change event (a custom `/data/…__chn` channel adds its enrichment).
fn data(bx: &Bayeux, e: &Event, channel: &str, api: u32) -> Option<Value> {
    use forcebus_events::{change, generic, platform, pushtopic};
    if channel.starts_with("/event/") {
        let mut d = platform::cometd_data(&e.payload, e.replay_id, bx.org.schemas())?;
        if api < 52
            && let Some(ev) = d.get_mut("event").and_then(Value::as_object_mut)
        {
            ev.remove("EventUuid");
        }
        return Some(d);
    }
    if channel.starts_with("/topic/") {
        return pushtopic::cometd_data(&e.payload, e.replay_id);
    }
    if channel.starts_with("/u/") {
        return generic::cometd_data(&e.payload, e.replay_id);
    }
    let doc = change::ChangeEvent::from_log(&e.payload).ok()?;
    let schema = bx.org.schema();
    let object = schema.object(&doc.header.entity_name)?;
    let doc = match forcebus_org::channels::custom_data_channel(channel) {
        Some(custom) => doc.for_channel(custom),
        None => doc,
    };
    Some(change::cometd_data(&doc, object, e.replay_id))
}

/// An event's `data` as a subscriber receives it: the encoding every subscriber of a
/// standard channel shares, or text made for this subscriber alone.
pub(crate) enum Data {
    /// The event's shared encoding (valid UTF-8: made from a `String`).
    Shared(bytes::Bytes),
    /// Made for this message and not shared: a custom channel's enrichment, or what a
    /// viewer who is not an administrator may see.
    Own(String),
}

impl Data {
    /// The JSON text.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Self::Shared(b) => std::str::from_utf8(b).ok(),
            Self::Own(s) => Some(s),
        }
    }
}

/// The `data` of `e`'s message on `channel` for a subscriber on `/cometd/{api}`, who sees
/// what `viewer` may (`None`: everything). `None` when the event is not shown there.
/// Standard channels share one encoding per event and format.
pub(crate) fn data_for(
    bx: &Bayeux,
    e: &Event,
    channel: &str,
    api: u32,
    viewer: Option<&forcebus_org::access::Access>,
) -> Option<Data> {
    if let Some(viewer) = viewer {
        return own_data_for(bx, e, channel, viewer).map(Data::Own);
    }
    if forcebus_org::channels::custom_data_channel(channel).is_some() {
        return Some(Data::Own(data(bx, e, channel, api)?.to_string()));
    }
    // Platform events before API 52.0 leave out `EventUuid`: a second shared encoding.
    let format = if api < 52 && channel.starts_with("/event/") {
        "cometd-pre52"
    } else {
        "cometd"
    };
    let bytes = e.encoded(format, |e| {
        data(bx, e, channel, api)
            .map(|d| d.to_string())
            .unwrap_or_default()
            .into_bytes()
            .into()
    });
    (!bytes.is_empty()).then_some(Data::Shared(bytes))
}

/// An event message as JSON text (`None` when the event is not shown on `channel`).
pub(crate) fn message(bx: &Bayeux, e: &Event, channel: &str, api: u32) -> Option<String> {
    let data = data_for(bx, e, channel, api, None)?;
    let channel_json = serde_json::to_string(channel).expect("strings serialise");
    let mut out = String::new();
    write_message(&mut out, &channel_json, data.text()?);
    Some(out)
}

/// Writes the event message `{"channel":…,"data":…}` at the end of `out`, from `channel`
/// (a JSON string) and `data` (a JSON object); returns the message's length.
pub(crate) fn write_message(out: &mut String, channel: &str, data: &str) -> usize {
    const OPEN: &str = "{\"channel\":";
    const DATA: &str = ",\"data\":";
    let len = OPEN.len() + channel.len() + DATA.len() + data.len() + 1;
    out.reserve(len);
    out.push_str(OPEN);
    out.push_str(channel);
    out.push_str(DATA);
    out.push_str(data);
    out.push('}');
    len
}

/// The `data` of an event message on `channel` as the subscriber `viewer`, who is not an
/// administrator, may see it: a change event without the fields field-level security
/// hides from them (change events ignore sharing), a PushTopic notification only of a
/// record they may read (PushTopics respect sharing); encoded for them alone.
fn own_data_for(
    bx: &Bayeux,
    e: &Event,
    channel: &str,
    viewer: &forcebus_org::access::Access,
) -> Option<String> {
    use forcebus_events::{change, pushtopic};
    if channel.starts_with("/topic/") {
        let data = pushtopic::cometd_data(&e.payload, e.replay_id)?;
        let id = data
            .pointer("/sobject/Id")
            .and_then(Value::as_str)
            .and_then(forcebus_org::RecordId::parse)?;
        if bx.org.level_of(viewer, id) < forcebus_org::access::sharing::Level::Read {
            return None;
        }
        return Some(data.to_string());
    }
    let mut doc = change::ChangeEvent::from_log(&e.payload).ok()?;
    if let Some(custom) = forcebus_org::channels::custom_data_channel(channel) {
        doc = doc.for_channel(custom);
    }
    let schema = bx.org.schema();
    let object = schema.object(&doc.header.entity_name)?;
    viewer.hide_in_change_event(object, &mut doc);
    Some(change::cometd_data(&doc, object, e.replay_id).to_string())
}
