//! A deploy's platform events: each declared event's definition made or changed, its
//! fields added or removed, as the deploy's other components are.

use super::{Declared, Deployed, Work, component, parent_failed};
use crate::error::{Code, OrgError};
use crate::org::platform_events::{build_definition, edit_fields, without_field};
use crate::platform::EventConfig;

/// A platform event's field removed: the event redefined without it (a new schema id).
pub(super) fn remove_event_field(
    w: &mut Work<'_>,
    event: &str,
    field: &str,
) -> Result<(), OrgError> {
    if w.registry.get(event).is_none() {
        return Err(OrgError::not_found());
    }
    let def =
        edit_fields(&mut w.registry, w.schema, event, without_field(field))?.expect("a field went");
    w.changed.events.retain(|d| d.name() != def.name());
    w.changed.events.push(def);
    Ok(())
}

/// A platform event of a deploy: made, replaced or unchanged, with a message per field.
pub(super) fn deploy_event(w: &mut Work<'_>, d: &Declared) {
    let config = EventConfig {
        label: d.config.label.clone(),
        plural_label: d.config.plural_label.clone(),
        fields: d.config.fields.clone(),
        ..EventConfig::default()
    };
    let existing = w.registry.get(&d.name).cloned();
    let outcome = if existing.as_ref().is_some_and(|e| e.config == config) {
        Ok(Deployed::Unchanged)
    } else {
        match build_definition(&mut w.registry, w.schema, &d.name, config) {
            Err(e) => Err(OrgError::new(Code::InvalidInput, e)),
            Ok(def) => {
                // Deleted before in this deploy (a pre-deletion), made again now.
                w.changed.removed_events.retain(|n| n != def.name());
                w.changed.events.retain(|e| e.name() != def.name());
                w.changed.events.push(def);
                Ok(if existing.is_some() {
                    Deployed::Changed
                } else {
                    Deployed::Created
                })
            }
        }
    };
    let had = |name: &str| {
        existing
            .as_ref()
            .and_then(|e| e.config.fields.iter().find(|f| f.name == name))
    };
    w.report
        .push(component("CustomObject", &d.name, d, outcome.clone()));
    for f in &d.config.fields {
        let field = match &outcome {
            Err(_) => Err(parent_failed()),
            Ok(_) => Ok(match had(&f.name) {
                Some(old) if old == f => Deployed::Unchanged,
                Some(_) => Deployed::Changed,
                None => Deployed::Created,
            }),
        };
        let full = format!("{}.{}", d.name, f.name);
        w.report.push(component("CustomField", &full, d, field));
    }
}
