//! Channel names: what `/data/…`, `/event/…`, `/topic/…` and `/u/…` show for this org, as
//! event log channels (a set of event kinds, a retention class and an optional filter).
//! Both streaming protocols resolve names here, so a name means the same on each.

use std::collections::HashSet;
use std::sync::Arc;

use forcebus_eventlog::{Channel, Event, Filter};
use forcebus_events::change::{ChangeEvent, entity_name_of};
use forcebus_events::{CLASS_EVENTS, CLASS_NOTIFICATIONS};
use forcebus_meta::{ObjectDef, Schema};

use crate::Org;
use crate::id::RecordId;

/// The suffix of a custom channel's full name (`Sales__chn`).
const CUSTOM: &str = "__chn";

/// The custom channel a `/data/…` name names, by its full name (`Sales__chn` of
/// `/data/Sales__chn`); `None` for a standard channel.
pub fn custom_data_channel(name: &str) -> Option<&str> {
    name.strip_prefix("/data/").filter(|c| c.ends_with(CUSTOM))
}

/// A custom channel's full name from its developer name (`Sales` → `Sales__chn`).
pub fn channel_full_name(developer: &str) -> String {
    format!("{developer}{CUSTOM}")
}

/// A custom channel's developer name from its full name (`Sales__chn` → `Sales`).
pub fn channel_developer_name(full: &str) -> Option<&str> {
    full.strip_suffix(CUSTOM)
}

/// A channel showing every object's change events (`/data/ChangeEvents` before selection).
pub fn all_change_events(schema: &Schema) -> Channel {
    Channel {
        kinds: schema.objects().map(entity_name_of).collect(),
        class: CLASS_EVENTS,
        filter: None,
    }
}

impl Org {
    /// The object behind a change-event entity name (`AccountChangeEvent`,
    /// `Invoice__ChangeEvent`).
    pub fn change_event_object(&self, entity: &str) -> Option<Arc<ObjectDef>> {
        let object = match entity.strip_suffix("__ChangeEvent") {
            Some(base) => format!("{base}__c"),
            None => entity.strip_suffix("ChangeEvent")?.to_owned(),
        };
        self.schema()
            .object_shared(&object)
            .filter(|o| entity_name_of(o).eq_ignore_ascii_case(entity))
    }

    /// The log channel behind a CDC channel name: `/data/ChangeEvents` (every selected
    /// entity), `/data/<Entity>ChangeEvent` (one selected entity) or a custom
    /// `/data/<Name>__chn`.
    pub fn change_channel(&self, name: &str) -> Option<Channel> {
        let entity = name.strip_prefix("/data/")?;
        if entity.ends_with(CUSTOM) {
            return self.custom_change_channel(entity);
        }
        let schema = self.schema();
        let selected = schema
            .objects()
            .filter(|o| self.selected(o))
            .map(entity_name_of);
        let kinds: HashSet<String> = if entity == "ChangeEvents" {
            selected.collect()
        } else {
            [selected.into_iter().find(|e| e == entity)?].into()
        };
        Some(Channel {
            kinds,
            class: CLASS_EVENTS,
            filter: None,
        })
    }

    /// `/data/<Name>__chn` (while it has members, or is declared): the change events the
    /// change event builder routed to it, whichever members it has when they commit.
    fn custom_change_channel(&self, channel: &str) -> Option<Channel> {
        let members = self.scan("PlatformEventChannelMember", |r| {
            crate::cdc::Member::from_record(r).filter(|m| m.channel == channel)
        });
        let declared = || {
            !self
                .scan("PlatformEventChannel", |r| {
                    (!r.is_deleted && channel_developer_name(channel) == r.get_str("DeveloperName"))
                        .then_some(())
                })
                .is_empty()
        };
        if members.is_empty() && !declared() {
            return None;
        }
        let channel = channel.to_owned();
        let filter: Filter = Arc::new(move |e: &Event| {
            let names = e.encoded("channels", |e| {
                ChangeEvent::from_log(&e.payload)
                    .map(|d| d.channels.join("\n"))
                    .unwrap_or_default()
                    .into_bytes()
                    .into()
            });
            names
                .split(|b| *b == b'\n')
                .any(|n| n == channel.as_bytes())
        });
        // Any change event: members added after a client subscribed route theirs here too.
        Some(Channel {
            kinds: [forcebus_eventlog::ANY_KIND.to_owned()].into(),
            class: CLASS_EVENTS,
            filter: Some(filter),
        })
    }

    /// The log channel behind `/event/<Name>__e` or a custom `/event/<Name>__chn`.
    pub fn event_channel(&self, name: &str) -> Option<Channel> {
        let rest = name.strip_prefix("/event/")?;
        if let Some(dev) = channel_developer_name(rest) {
            let channel = self.scan("PlatformEventChannel", |r| {
                (!r.is_deleted
                    && r.get_str("DeveloperName") == Some(dev)
                    && r.get_str("ChannelType") == Some("event"))
                .then_some(())
            });
            if channel.is_empty() {
                return None;
            }
            let kinds = self.scan("PlatformEventChannelMember", |r| {
                (!r.is_deleted && r.get_str("EventChannel") == Some(rest))
                    .then(|| r.get_str("SelectedEntity").map(str::to_owned))
                    .flatten()
            });
            return Some(Channel {
                kinds: kinds.into_iter().collect(),
                class: CLASS_EVENTS,
                filter: None,
            });
        }
        let def = self.platform_event(rest).filter(|d| d.name() == rest)?;
        Some(Channel::of(&[def.name()], CLASS_EVENTS))
    }

    /// The log channel behind `/topic/{Name}`, optionally with a filter
    /// (`/topic/{Name}?Field=value&...`, fields of the topic's SELECT).
    pub fn topic_channel(&self, channel: &str) -> Option<Channel> {
        let rest = channel.strip_prefix("/topic/")?;
        let (name, query) = match rest.split_once('?') {
            Some((n, q)) => (n, Some(q)),
            None => (rest, None),
        };
        let topic = self
            .scan(crate::pushtopic::OBJECT, |r| {
                (!r.is_deleted && r.get_str("Name") == Some(name)).then(|| r.clone())
            })
            .into_iter()
            .next()?;
        let kind = forcebus_events::pushtopic::kind(name);
        let mut channel = Channel::of(&[kind.as_str()], CLASS_NOTIFICATIONS);
        if let Some(q) = query {
            let compiled = crate::pushtopic::compile(&self.schema(), &topic).ok()?;
            let mut pairs = Vec::new();
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                let field = compiled.selected_field(&k)?;
                pairs.push((field, v.into_owned()));
            }
            if pairs.is_empty() {
                return None;
            }
            let filter: Filter = Arc::new(move |e| {
                pairs.iter().all(|(f, want)| {
                    forcebus_events::pushtopic::sobject_field_is(&e.payload, f, want)
                })
            });
            channel.filter = Some(filter);
        }
        Some(channel)
    }

    /// The log channel behind `/u/{Name}` as `user` sees it (pushes for everyone, and
    /// those listing the user).
    pub fn generic_channel(&self, name: &str, user: RecordId) -> Option<Channel> {
        name.strip_prefix("/u/")?;
        let exists = !self
            .scan(crate::generic::OBJECT, |r| {
                (!r.is_deleted && r.get_str("Name") == Some(name)).then_some(())
            })
            .is_empty();
        if !exists {
            return None;
        }
        let me = user.to18();
        let mut channel = Channel::of(&[name], CLASS_NOTIFICATIONS);
        channel.filter = Some(Arc::new(move |e: &Event| {
            let users = e.encoded("users", |e| {
                forcebus_events::generic::recipients(&e.payload).into()
            });
            users.is_empty() || users.split(|b| *b == b'\n').any(|u| u == me.as_bytes())
        }));
        Some(channel)
    }
}

/// The family of an event kind, as metrics count appended events: `change` (a change
/// event), `pushtopic` (a PushTopic notification), `generic` (a generic streaming push),
/// or `platform` (a platform event).
pub fn family(kind: &str) -> &'static str {
    if kind.starts_with("/topic/") {
        "pushtopic"
    } else if kind.starts_with("/u/") {
        "generic"
    } else if kind.ends_with("ChangeEvent") {
        "change"
    } else {
        "platform"
    }
}
