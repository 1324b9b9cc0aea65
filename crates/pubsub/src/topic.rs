//! Topics: what a topic name means for this org, and how its events look on the wire.
//!
//! [`PubSub::topic`] is the one place a name is resolved; [`PubSub::render`] the one place
//! a log event becomes a delivered `ProducerEvent`. Change events (`/data/ChangeEvents`,
//! `/data/<Entity>ChangeEvent`, `/data/<Name>__chn`) are the topics today; platform events
//! (`/event/<Name>__e`) plug in here as another [`Render`] kind with `can_publish`.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;

use forcebus_eventlog::{Channel, Event};
use forcebus_events::change::ChangeEvent;

use crate::PubSub;
use crate::proto::ProducerEvent;

/// A resolved topic.
#[derive(Debug, Clone)]
pub struct Topic {
    /// The canonical name (echoed by GetTopic, compared within a stream).
    pub name: String,
    /// The events it shows.
    pub channel: Channel,
    /// The current schema id; empty for topics that carry several schemas
    /// (`/data/ChangeEvents`), whose events each name their own.
    pub schema_id: String,
    /// Whether events may be published to it.
    pub can_publish: bool,
    /// Whether it may be subscribed to.
    pub can_subscribe: bool,
    /// How its events are rendered.
    pub render: Render,
    /// The subscriber, when they were not an administrator as they subscribed: change
    /// events leave out the fields their access (read at each event, so a change of it
    /// applies at once) hides from them. `None`: they see every field.
    pub viewer: Option<forcebus_org::RecordId>,
}

/// How a topic's log events become Avro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Render {
    /// Change events stored as [`ChangeEvent`] documents; a custom channel (`Name__chn`)
    /// adds the fields its members enrich.
    Change {
        /// The custom channel, for `/data/<Name>__chn`.
        custom_channel: Option<String>,
    },
    /// Platform events (`/event/<Name>__e`, `/event/<Name>__chn`), each in the schema it
    /// was published with.
    Platform,
}

/// The cache key of the shared Avro rendering of an event.
const FORMAT: &str = "pubsub";

impl PubSub {
    /// Resolves a topic name (case-sensitive, as Salesforce's are) for this org.
    pub fn topic(&self, name: &str) -> Option<Topic> {
        if name.starts_with("/data/") {
            let channel = self.org.change_channel(name)?;
            let schema_id = match channel.kinds.iter().collect::<Vec<_>>().as_slice() {
                [entity] => self
                    .org
                    .schema()
                    .objects()
                    .find(|o| forcebus_events::change::entity_name_of(o) == **entity)
                    .and_then(|o| self.org.change_schema_id(&o.name))
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            };
            let custom_channel =
                forcebus_org::channels::custom_data_channel(name).map(str::to_owned);
            // Change events are produced by the platform from record changes
            // (`pubsub-api.md` §4.2): they cannot be published.
            return Some(Topic {
                name: name.to_owned(),
                channel,
                schema_id,
                can_publish: false,
                can_subscribe: true,
                render: Render::Change { custom_channel },
                viewer: None,
            });
        }
        if let Some(rest) = name.strip_prefix("/event/") {
            let channel = self.org.event_channel(name)?;
            // A custom event channel carries several events: subscribe only.
            let def = self.org.platform_event(rest).filter(|d| d.name() == rest);
            return Some(Topic {
                name: name.to_owned(),
                channel,
                schema_id: def
                    .as_ref()
                    .map_or_else(String::new, |d| d.schema_id.clone()),
                can_publish: def.is_some(),
                can_subscribe: true,
                render: Render::Platform,
                viewer: None,
            });
        }
        None
    }

    /// A log event as delivered on `topic`: its UUID, schema id and Avro payload. A
    /// platform event's is read from its log form in place; a change event's is computed
    /// once per event and shared by every subscriber (a custom channel's enriched events
    /// excepted: their payload is the channel's own). `None` when the stored event cannot
    /// be rendered (logged).
    pub fn render(&self, topic: &Topic, e: &Event) -> Option<ProducerEvent> {
        if let (Some(user), Render::Change { custom_channel }) = (topic.viewer, &topic.render) {
            let viewer = self.org.access(user);
            if !viewer.is_everything() {
                let mut doc = change_doc(e)?;
                if let Some(c) = custom_channel {
                    doc = doc.for_channel(c);
                }
                let doc = self.as_seen_by(&viewer, doc);
                return ProducerEvent::decode(self.encode_change(e, &doc)).ok();
            }
        }
        let bytes = match &topic.render {
            Render::Change {
                custom_channel: Some(c),
            } => {
                let doc = change_doc(e)?;
                if doc.enriched.contains_key(c) {
                    self.encode_change(e, &doc.for_channel(c))
                } else {
                    self.shared(e)
                }
            }
            Render::Change {
                custom_channel: None,
            } => self.shared(e),
            Render::Platform => {
                // The log form holds the payload as delivered: read in place, with no
                // encoding to compute or to keep beside the event.
                if let Some(a) = forcebus_events::platform::avro_event_in_place(&e.payload) {
                    return Some(producer_event(a));
                }
                e.encoded(FORMAT, |e| self.encode_platform(e))
            }
        };
        if bytes.is_empty() {
            return None;
        }
        ProducerEvent::decode(bytes).ok()
    }

    fn shared(&self, e: &Event) -> Bytes {
        e.encoded(FORMAT, |e| {
            change_doc(e)
                .map(|doc| self.encode_change(e, &doc))
                .unwrap_or_default()
        })
    }

    /// A change event as `viewer` may see it (its object found by the header's entity
    /// name, the record's object, `Account`).
    fn as_seen_by(
        &self,
        viewer: &forcebus_org::access::Access,
        mut doc: ChangeEvent,
    ) -> ChangeEvent {
        if let Some(def) = self.org.schema().object(&doc.header.entity_name) {
            viewer.hide_in_change_event(def, &mut doc);
        }
        doc
    }

    /// `topic` as `user` subscribes to it: change events need View All Data, or View All
    /// on every object the channel carries; a subscriber who is not an administrator
    /// gets them without the fields they may not see.
    pub(crate) fn for_subscriber(
        &self,
        mut topic: Topic,
        user: forcebus_org::RecordId,
    ) -> Result<Topic, crate::PubSubError> {
        let access = self.org.access(user);
        if access.is_everything() || !matches!(topic.render, Render::Change { .. }) {
            return Ok(topic);
        }
        if !access.perms.view_all_data {
            let schema = self.org.schema();
            let kinds = &topic.channel.kinds;
            let viewable = |entity: &String| {
                schema
                    .objects()
                    .find(|o| forcebus_events::change::entity_name_of(o) == *entity)
                    .is_some_and(|o| access.object(o).view_all)
            };
            if kinds.is_empty() || !kinds.iter().all(viewable) {
                return Err(crate::PubSubError::SubscribeNotAllowed(topic.name));
            }
        }
        topic.viewer = Some(user);
        Ok(topic)
    }

    /// The encoded `ProducerEvent` of a change event; empty when its schema is unknown.
    fn encode_change(&self, e: &Event, doc: &ChangeEvent) -> Bytes {
        let Some(schema) = self.schema(&doc.schema_id) else {
            tracing::warn!(replay_id = e.replay_id, schema_id = %doc.schema_id, "Change event names an unknown schema; skipped.");
            return Bytes::new();
        };
        let payload = forcebus_events::change::to_avro(doc, &schema);
        ProducerEvent {
            id: self.event_uuid(e.replay_id),
            schema_id: doc.schema_id.clone(),
            payload: payload.into(),
            headers: Vec::new(),
        }
        .encode_to_vec()
        .into()
    }

    /// The encoded `ProducerEvent` of a platform event: its `EventUuid` as id, the schema
    /// it was published with; empty when that schema is unknown.
    fn encode_platform(&self, e: &Event) -> Bytes {
        let Some(a) = forcebus_events::platform::avro_event(&e.payload, self.org.schemas()) else {
            tracing::warn!(
                replay_id = e.replay_id,
                "Platform event cannot be rendered; skipped."
            );
            return Bytes::new();
        };
        producer_event(a).encode_to_vec().into()
    }

    /// A stable UUID for the event at `replay_id` of this org: the same on every delivery
    /// and across restarts.
    pub fn event_uuid(&self, replay_id: u64) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}:{replay_id}", self.org.id().to18()).as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// The schema model of a schema id the org knows (parsed once).
    pub fn schema(&self, id: &str) -> Option<Arc<forcebus_avro::Schema>> {
        self.org.schemas().avro(id)
    }
}

/// A platform event as a `ProducerEvent`: its `EventUuid` as id, the schema it was
/// published with, its payload.
fn producer_event(a: forcebus_events::platform::AvroEvent) -> ProducerEvent {
    ProducerEvent {
        id: a.uuid,
        schema_id: a.schema_id,
        payload: a.payload,
        headers: Vec::new(),
    }
}

fn change_doc(e: &Event) -> Option<ChangeEvent> {
    match ChangeEvent::from_log(&e.payload) {
        Ok(d) => Some(d),
        Err(err) => {
            tracing::warn!(replay_id = e.replay_id, error = %err, "Stored change event is unreadable; skipped.");
            None
        }
    }
}
