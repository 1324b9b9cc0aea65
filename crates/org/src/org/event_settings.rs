//! The streaming settings an org keeps as records: platform event channels, their
//! members, and managed event subscriptions. The Tooling API writes them from its
//! `{"FullName", "Metadata"}` bodies and the Metadata API from its XML (read into the same
//! JSON), so both find here one reading of that Metadata: what may be set and when, and
//! what the org checks (a member's channel and entity, its filter, at most ten enriched
//! fields, the managed subscriptions' presets). The edges run the operations made here.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Org;
use crate::error::{Code, OrgError};
use crate::fields::FieldRef;
use crate::org::channels::{channel_developer_name, channel_full_name};
use crate::record::Record;
use crate::txn::Op;

/// A custom platform event channel (`SalesEvents__chn`).
pub const CHANNEL: &str = "PlatformEventChannel";
/// A channel's member: one entity whose events the channel shows.
pub const MEMBER: &str = "PlatformEventChannelMember";
/// A Pub/Sub API managed subscription.
pub const MANAGED: &str = "ManagedEventSubscription";

/// The settings object `name` names (any case).
pub fn setting_object(name: &str) -> Option<&'static str> {
    [CHANNEL, MEMBER, MANAGED]
        .into_iter()
        .find(|o| o.eq_ignore_ascii_case(name))
}

fn invalid(msg: impl Into<String>) -> OrgError {
    OrgError::new(Code::FieldIntegrityException, msg)
}

/// A custom channel's `Metadata`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChannelMetadata<'a> {
    channel_type: FieldRef<'a>,
    label: FieldRef<'a>,
}

/// A channel member's `Metadata`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberMetadata<'a> {
    event_channel: FieldRef<'a>,
    selected_entity: FieldRef<'a>,
    filter_expression: FieldRef<'a>,
    enriched_fields: Vec<EnrichedField>,
}

/// One field a member's events are enriched with.
#[derive(Serialize)]
struct EnrichedField {
    name: String,
}

/// A channel's or member's `Metadata`, as the Tooling API shows it.
pub fn setting_metadata(r: &Record) -> Value {
    let text = |f: &str| r.get(f);
    let metadata = if r.object == CHANNEL {
        serde_json::to_value(ChannelMetadata {
            channel_type: text("ChannelType"),
            label: text("MasterLabel"),
        })
    } else {
        let enriched_fields = r
            .get_str("EnrichedFields")
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|name| EnrichedField { name })
            .collect();
        serde_json::to_value(MemberMetadata {
            event_channel: text("EventChannel"),
            selected_entity: text("SelectedEntity"),
            filter_expression: text("FilterExpression"),
            enriched_fields,
        })
    };
    metadata.expect("Metadata serialises")
}

impl Org {
    /// The creation of a channel, member or managed subscription from its body
    /// (`{"FullName", "Metadata"}`), checked.
    pub fn setting_create(&self, object: &str, body: &Map<String, Value>) -> Result<Op, OrgError> {
        let object = setting_object(object).ok_or_else(OrgError::not_found)?;
        let fields = self.setting_fields(object, body, true)?;
        if object == MEMBER
            && let Some(expr) = fields.get("FilterExpression").and_then(Value::as_str)
        {
            let entity = fields
                .get("SelectedEntity")
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.check_filter(entity, expr)?;
        }
        Ok(Op::Create {
            object: object.into(),
            fields,
        })
    }

    /// The change of the setting `r` from its body, checked.
    pub fn setting_update(&self, r: &Record, body: &Map<String, Value>) -> Result<Op, OrgError> {
        let object = setting_object(&r.object).ok_or_else(OrgError::not_found)?;
        let fields = self.setting_fields(object, body, false)?;
        if let Some(expr) = fields.get("FilterExpression").and_then(Value::as_str) {
            self.check_filter(r.get_str("SelectedEntity").unwrap_or_default(), expr)?;
        }
        Ok(Op::Update {
            object: Some(object.into()),
            id: r.id.to18(),
            fields,
        })
    }

    /// The deletion of the setting `r` for good (Metadata deletes are permanent: to the
    /// Recycle Bin and out of it in one transaction); a channel only once it has no
    /// members.
    pub fn setting_delete(&self, r: &Record) -> Result<Vec<Op>, OrgError> {
        let object = setting_object(&r.object).ok_or_else(OrgError::not_found)?;
        if object == CHANNEL {
            let full = channel_full_name(r.get_str("DeveloperName").unwrap_or_default());
            let members = self.scan(MEMBER, |m| {
                (!m.is_deleted && m.get_str("EventChannel") == Some(full.as_str())).then_some(())
            });
            if !members.is_empty() {
                return Err(invalid("Delete the channel's members first"));
            }
        }
        Ok(vec![
            Op::Delete {
                object: Some(object.into()),
                id: r.id.to18(),
            },
            Op::Purge { id: r.id.to18() },
        ])
    }

    /// A channel (`SalesEvents__chn`) or member (`SalesEvents_chn_AccountChangeEvent`) by
    /// its full name.
    pub fn setting_by_full_name(&self, object: &str, full: &str) -> Option<Record> {
        let developer = if object == CHANNEL {
            channel_developer_name(full)?
        } else {
            full
        };
        self.scan(object, |r| {
            (!r.is_deleted && r.get_str("DeveloperName") == Some(developer)).then(|| r.clone())
        })
        .pop()
    }

    fn check_filter(&self, entity: &str, expr: &str) -> Result<(), OrgError> {
        crate::cdc::filter::compile(&self.schema(), entity, expr)
            .map(drop)
            .map_err(|e| invalid(format!("Invalid filterExpression: {e}")))
    }

    /// Maps a body onto the stored fields, checking what validation cannot.
    fn setting_fields(
        &self,
        object: &str,
        body: &Map<String, Value>,
        creating: bool,
    ) -> Result<Map<String, Value>, OrgError> {
        let meta = body
            .get("Metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut out = Map::new();
        if let Some(full) = body.get("FullName").and_then(Value::as_str) {
            let developer = developer_name(object, full, creating)?;
            out.insert("DeveloperName".into(), Value::String(developer));
        }
        let text = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_owned);
        match object {
            MANAGED => managed_fields(out, &text, creating),
            CHANNEL => Ok(channel_fields(out, &text)),
            _ => self.member_fields(out, &meta, &text, creating),
        }
    }

    /// A channel member's Metadata onto its fields: its channel and entity are fixed at
    /// creation (and checked then); the filter and the enriched fields may change.
    fn member_fields(
        &self,
        mut out: Map<String, Value>,
        meta: &Map<String, Value>,
        text: &dyn Fn(&str) -> Option<String>,
        creating: bool,
    ) -> Result<Map<String, Value>, OrgError> {
        for (key, field) in [
            ("eventChannel", "EventChannel"),
            ("selectedEntity", "SelectedEntity"),
        ] {
            if let Some(v) = text(key) {
                if !creating {
                    return Err(invalid(format!("{field} cannot be changed")));
                }
                out.insert(field.into(), Value::String(v));
            }
        }
        if creating {
            self.check_member_target(meta, text)?;
        }
        if let Some(expr) = meta.get("filterExpression") {
            out.insert("FilterExpression".into(), expr.clone());
        }
        if let Some(list) = meta.get("enrichedFields") {
            out.insert("EnrichedFields".into(), enriched_fields(list)?);
        }
        Ok(out)
    }

    /// A new member's channel must exist, and its entity must be of the channel's kind: a
    /// platform event (without filter or enrichment) on an `event` channel, a change event
    /// on a `data` channel.
    fn check_member_target(
        &self,
        meta: &Map<String, Value>,
        text: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), OrgError> {
        let channel = text("eventChannel").unwrap_or_default();
        let Some(channel_type) = self.channel_type(&channel) else {
            return Err(invalid(format!(
                "eventChannel does not name a channel: {channel}"
            )));
        };
        let entity = text("selectedEntity").unwrap_or_default();
        if channel_type == "event" {
            match self.platform_event(&entity) {
                Some(def) if def.name() == entity => {}
                _ => {
                    return Err(invalid(format!(
                        "selectedEntity is not a platform event: {entity}"
                    )));
                }
            }
            if meta.get("filterExpression").is_some_and(|v| !v.is_null())
                || meta.get("enrichedFields").is_some_and(|v| !v.is_null())
            {
                return Err(invalid(
                    "Members of platform event channels have no filter or enrichment",
                ));
            }
        } else if self.change_event_object(&entity).is_none() {
            return Err(invalid(format!(
                "selectedEntity is not a change event: {entity}"
            )));
        }
        Ok(())
    }

    /// The type (`data`, `event`) of the channel an `eventChannel` names: the standard
    /// `ChangeEvents`, or a custom `<name>__chn`.
    fn channel_type(&self, channel: &str) -> Option<String> {
        if channel == "ChangeEvents" {
            return Some("data".to_owned());
        }
        let dev = channel_developer_name(channel)?;
        self.scan(CHANNEL, |r| {
            (!r.is_deleted && r.get_str("DeveloperName") == Some(dev))
                .then(|| r.get_str("ChannelType").unwrap_or("data").to_owned())
        })
        .pop()
    }
}

/// The `DeveloperName` a `FullName` stands for (a channel's without its `__chn`); it is
/// set at creation only.
fn developer_name(object: &str, full: &str, creating: bool) -> Result<String, OrgError> {
    if !creating {
        return Err(invalid("FullName cannot be changed"));
    }
    if object == CHANNEL {
        return channel_developer_name(full)
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("A channel's FullName ends in __chn: {full}")));
    }
    Ok(full.to_owned())
}

/// A channel's Metadata onto its fields.
fn channel_fields(
    mut out: Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
) -> Map<String, Value> {
    if let Some(t) = text("channelType") {
        out.insert("ChannelType".into(), Value::String(t));
    }
    if let Some(l) = text("label") {
        out.insert("MasterLabel".into(), Value::String(l));
    }
    out
}

/// `enrichedFields` (`[{"name": …}, …]`, at most 10) as the stored JSON list of names.
fn enriched_fields(list: &Value) -> Result<Value, OrgError> {
    let names: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if names.len() > 10 {
        return Err(invalid("A channel member can enrich at most 10 fields"));
    }
    Ok(Value::String(
        serde_json::to_string(&names).unwrap_or_default(),
    ))
}

/// A managed subscription's Metadata onto its fields: the topic is fixed at creation,
/// the replay presets and the state (`RUN`, `STOP`) are checked here.
fn managed_fields(
    mut out: Map<String, Value>,
    text: &dyn Fn(&str) -> Option<String>,
    creating: bool,
) -> Result<Map<String, Value>, OrgError> {
    if let Some(t) = text("topicName") {
        if !creating {
            return Err(invalid("topicName cannot be changed"));
        }
        out.insert("TopicName".into(), Value::String(t));
    }
    let replay = &["LATEST", "EARLIEST"][..];
    for (key, field, allowed) in [
        ("defaultReplay", "DefaultReplay", replay),
        ("errorRecoveryReplay", "ErrorRecoveryReplay", replay),
        ("state", "State", &["RUN", "STOP"][..]),
        ("label", "Label", &[][..]),
    ] {
        if let Some(v) = text(key) {
            if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return Err(invalid(format!(
                    "{key} must be one of {}: {v}",
                    allowed.join(", ")
                )));
            }
            out.insert(field.into(), Value::String(v));
        }
    }
    Ok(out)
}
