//! Renaming a custom field made while the org runs (the Metadata API's `renameMetadata`,
//! `metadata-tooling.md` §3): the field keeps its id, its definition and every record's
//! value under the new API name; the old name leaves describe and SOQL at once, and the
//! object's change events get a new schema id (§13: a rename is a field change). What
//! names the field elsewhere (a PushTopic's query, a custom channel member's filter or
//! enriched fields) must change first, as for a delete.

use crate::Org;
use crate::custom::{FieldConfig, field_def};
use crate::error::{OrgError, StatusCode};
use crate::org::live_schema::Changed;
use crate::org::schema_delete::runtime_field;
use crate::runtime_schema::check_api_name;

impl Org {
    /// Renames the runtime field `object.old` to `new`.
    pub fn rename_custom_field(&self, object: &str, old: &str, new: &str) -> Result<(), OrgError> {
        self.change_schema(|schema, runtime, state| {
            self.check_unreferenced(state, schema, object, old)?;
            let known = runtime_field(schema, runtime, object, old, "renamed")?;
            check_api_name("Field", new)?;
            let def = schema
                .object(object)
                .expect("runtime fields are on known objects");
            let name = def.name.clone();
            if def.field(new).is_some() {
                return Err(OrgError::new(
                    StatusCode::DuplicateDeveloperName,
                    format!("There is already a field named {new} on {name}."),
                ));
            }
            let config = FieldConfig {
                name: new.to_owned(),
                ..known.config.clone()
            };
            let renamed = field_def(&name, &config)
                .map_err(|e| OrgError::new(StatusCode::InvalidInput, e))?;
            let target = schema.object_mut(&name).expect("looked up above");
            target.remove_field(&known.config.name);
            target.push_field(renamed);
            if let Some(f) = runtime
                .fields
                .get_mut(&name)
                .and_then(|list| list.iter_mut().find(|f| f.id == known.id))
            {
                f.config = config;
            }
            let records = state
                .of(&name)
                .filter_map(|r| {
                    let value = r.fields.get(&known.config.name)?.clone();
                    let mut r = r.clone();
                    r.fields.remove(&known.config.name);
                    r.fields.insert(new.to_owned(), value);
                    Some(r)
                })
                .collect();
            Ok((
                (),
                Changed {
                    objects: vec![name],
                    records,
                    ..Changed::default()
                },
            ))
        })
    }
}
