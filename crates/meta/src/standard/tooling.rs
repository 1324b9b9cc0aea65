//! Objects that configure the event side: PushTopic and StreamingChannel (standard
//! objects), and the Tooling API's PlatformEventChannel, PlatformEventChannelMember and
//! ManagedEventSubscription.

use super::fields::*;
use crate::{FieldDef, FieldType as T, ObjectDef};

/// `PushTopic` (`org-rest-cdc.md` §3.5): a SOQL query whose matching record changes are
/// streamed on `/topic/{Name}`. The org validates the query on save.
pub(super) fn push_topic() -> ObjectDef {
    let mut name = name_field(required(text("Name", "Topic Name", 25)));
    name.unique = true;
    let mut api = required(num("ApiVersion", "API Version", T::Double, 18, 1));
    api.createable = true;
    let mut active = flag("IsActive", "Active");
    active.default_value = Some(serde_json::Value::Bool(true));
    let op = |n: &str, l: &str| {
        let mut d = flag(n, l);
        d.default_value = Some(serde_json::Value::Bool(true));
        d
    };
    let mut notify_for = pick_default(
        "NotifyForFields",
        "Notify For Fields",
        &["All", "Referenced", "Select", "Where"],
        "Referenced",
    );
    notify_for.restricted_picklist = true;
    let mut v = head();
    v.extend([
        name,
        required(text("Query", "SOQL Query", 1300)),
        api,
        active,
        notify_for,
        readonly(pick(
            "NotifyForOperations",
            "Notify For Operations",
            &["All", "Create", "Update", "Extended"],
        )),
        op("NotifyForOperationCreate", "Create"),
        op("NotifyForOperationUpdate", "Update"),
        op("NotifyForOperationDelete", "Delete"),
        op("NotifyForOperationUndelete", "Undelete"),
        text("Description", "Description", 400),
    ]);
    v.extend(audit());
    let mut o = ObjectDef::new("PushTopic", "Push Topic", "Push Topics", "0IF", v);
    o.change_events = false;
    o.also_tooling = true;
    for f in &mut o.fields {
        f.custom = false;
    }
    o
}

/// `StreamingChannel` (generic streaming): a channel `/u/{Name}` that clients push strings
/// to through `/sobjects/StreamingChannel/{id}/push`.
pub(super) fn streaming_channel() -> ObjectDef {
    let mut name = name_field(required(text("Name", "Streaming Channel Name", 80)));
    name.unique = true;
    let mut v = head();
    v.push(owner());
    v.extend([
        name,
        text("Description", "Description", 255),
        readonly(flag("IsDynamic", "Dynamic")),
    ]);
    v.extend(audit());
    let mut o = ObjectDef::new(
        "StreamingChannel",
        "Streaming Channel",
        "Streaming Channels",
        "0M6",
        v,
    );
    o.change_events = false;
    for f in &mut o.fields {
        f.custom = false;
    }
    o
}

/// Tooling objects that select CDC entities and define custom channels
/// (`org-rest-cdc.md` §4.1). Their `Metadata` is mapped onto these fields by the REST layer.
pub fn tooling_catalogue() -> Vec<ObjectDef> {
    let developer_name = || {
        let mut d = name_field(required(text("DeveloperName", "Developer Name", 80)));
        d.unique = true;
        d
    };
    let channel_fields = vec![
        head()[0].clone(),
        developer_name(),
        text("MasterLabel", "Label", 80),
        required(pick("ChannelType", "Channel Type", &["data", "event"])),
    ];
    let mut channel = ObjectDef::new(
        "PlatformEventChannel",
        "Platform Event Channel",
        "Platform Event Channels",
        "0YL",
        channel_fields,
    );
    let member_fields = vec![
        head()[0].clone(),
        developer_name(),
        required(text("EventChannel", "Event Channel", 255)),
        required(text("SelectedEntity", "Selected Entity", 255)),
        area("FilterExpression", "Filter Expression", 1000),
        area("EnrichedFields", "Enriched Fields", 4000),
    ];
    let mut member = ObjectDef::new(
        "PlatformEventChannelMember",
        "Platform Event Channel Member",
        "Platform Event Channel Members",
        "0v8",
        member_fields,
    );
    let mut subscription = managed_event_subscription(developer_name());
    for o in [&mut channel, &mut member, &mut subscription] {
        o.tooling = true;
        for f in &mut o.fields {
            if f.name != "Id" {
                f.custom = false;
            }
        }
    }
    for name in ["EventChannel", "SelectedEntity"] {
        if let Some(f) = member.fields.iter_mut().find(|f| f.name == name) {
            f.updateable = false;
        }
    }
    vec![channel, member, subscription]
}

/// `ManagedEventSubscription` (key prefix `18x`, `pubsub-api.md` §3.3.4, §4.7): a stored
/// Pub/Sub subscription. Its settings are the parts of the compound `Metadata`, so that a
/// tooling query selecting `Metadata` answers the object (`topicName`, `state`, ...) that
/// clients read.
pub(super) fn managed_event_subscription(developer_name: FieldDef) -> ObjectDef {
    let replay = |name: &str, label: &str| {
        let mut d = required(pick(name, label, &["LATEST", "EARLIEST"]));
        d.default_value = Some(serde_json::Value::from("LATEST"));
        d
    };
    let mut parts = vec![
        text("Label", "Label", 80),
        required(text("TopicName", "Topic Name", 255)),
        replay("DefaultReplay", "Default Replay"),
        replay("ErrorRecoveryReplay", "Error Recovery Replay"),
        required(pick("State", "State", &["RUN", "STOP"])),
    ];
    for p in &mut parts {
        p.compound_field_name = Some("Metadata".into());
    }
    let mut fields = vec![head()[0].clone(), developer_name];
    fields.extend(parts);
    fields.push(readonly(f("Metadata", "Metadata", T::Address)));
    ObjectDef::new(
        "ManagedEventSubscription",
        "Managed Event Subscription",
        "Managed Event Subscriptions",
        "18x",
        fields,
    )
}
