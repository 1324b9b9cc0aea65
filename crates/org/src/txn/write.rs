//! Building the record an insert or an update leaves: field values checked and coerced,
//! derived fields, audit fields, and each object's own rules.

use crate::fields::FieldRef;
use serde_json::{Map, Value};

use crate::derive::derive;
use crate::error::{Code, OrgError};
use crate::fields::Fields;
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType, ObjectDef};
use crate::record::Record;
use crate::value::{coerce, not_writable};

use super::{Txn, activities, campaigns, pricebooks, quotes, relations};

impl Txn<'_> {
    pub(super) fn build_create(
        &mut self,
        def: &ObjectDef,
        input: &Map<String, Value>,
    ) -> Result<Record, OrgError> {
        if !def.createable {
            return Err(OrgError::new(
                Code::InsufficientAccess,
                format!("entity type cannot be inserted: {}", def.label),
            ));
        }
        let mut fields = Map::new();
        for (name, raw) in input {
            if name == "attributes" {
                continue;
            }
            let f = self
                .field_of(def, name)
                .ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
            if f.name == "Id" {
                return Err(OrgError::field(
                    Code::InvalidFieldForInsertUpdate,
                    "Record ID: cannot specify Id in an insert call",
                    "Id",
                ));
            }
            if !f.createable {
                return Err(not_writable(f));
            }
            let v = self.value(&def.name, f, raw)?;
            fields.insert(f.name.clone(), v);
        }
        self.complete(def, fields)
    }

    /// A new record of `def` from checked field values: defaults, audit fields and auto
    /// numbers filled in, required fields checked, an id minted, the object's rules run.
    /// Records the org makes itself (a file's `ContentDocument`) start here.
    pub(super) fn complete(
        &mut self,
        def: &ObjectDef,
        fields: Map<String, Value>,
    ) -> Result<Record, OrgError> {
        let defaulted = self.defaulted(def);
        let mut fields = {
            let mut given = Fields::with_capacity(fields.len() + defaulted.len());
            given.extend(fields);
            given
        };
        let user = Value::String(self.caller.user_id.to18());
        for f in defaulted.iter().map(|&i| &def.fields[i]) {
            if fields.get(&f.name).is_some_and(|v| !v.is_null()) {
                continue;
            }
            let default = match stamp(&f.name) {
                Some(Stamp::Creator) => Some(user.clone()),
                Some(Stamp::Now) => Some(Value::from(self.now.as_str())),
                None if f.auto_number => {
                    let floor = self.number_floor;
                    let n = self.next_numbers.entry(def.name.clone()).or_insert(floor);
                    *n += 1;
                    Some(Value::from(match &f.display_format {
                        Some(format) => crate::custom::auto_number(format, *n, &self.now),
                        None => format!("{:08}", *n),
                    }))
                }
                None => f
                    .default_value
                    .clone()
                    .or_else(|| f.default_picklist.clone().map(Value::from)),
            };
            if let Some(v) = default {
                fields.set(&f.name, v);
            } else if f.ftype == FieldType::Boolean {
                fields.set(&f.name, Value::Bool(false));
            }
        }
        let missing: Vec<String> = def
            .fields
            .iter()
            .filter(|f| f.required_on_create() && fields.get(&f.name).is_none_or(FieldRef::is_null))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(OrgError {
                code: Code::RequiredFieldMissing,
                message: format!("Required fields are missing: [{}]", missing.join(", ")),
                fields: missing,
            });
        }
        self.next_id += 1;
        let id = RecordId::mint(&def.key_prefix, self.next_id);
        if def.custom
            && def.name_field().is_some_and(|f| f.name == "Name")
            && fields.get("Name").is_none_or(FieldRef::is_null)
        {
            // A custom record saved without a name is named after its Id.
            fields.insert("Name".into(), Value::from(id.as15()));
        }
        derive(&def.name, &mut fields, &self.now);
        let mut rec = Record {
            id,
            object: (&def.name).into(),
            fields,
            is_deleted: false,
            deleted: None,
        };
        // A record just given its id has no state before this write.
        self.check_rules_of(Some(def), &mut rec, None)?;
        self.check_unique(def, &rec)?;
        Ok(rec)
    }

    pub(super) fn build_update(
        &self,
        object: Option<&str>,
        id: &str,
        input: &Map<String, Value>,
    ) -> Result<Record, OrgError> {
        let current = self.existing(object, id)?;
        if current.is_deleted {
            return Err(OrgError::deleted());
        }
        if current.object == "Lead" && current.get("IsConverted") == true {
            return Err(super::leads::converted_lead());
        }
        let def = self.object(&current.object)?;
        if !def.updateable {
            return Err(OrgError::new(
                Code::InsufficientAccess,
                format!("entity type cannot be updated: {}", def.label),
            ));
        }
        let mut rec = current.clone();
        for (name, raw) in input {
            if name == "attributes" {
                continue;
            }
            let f = self
                .field_of(def, name)
                .ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
            if f.name == "Id" {
                // The id may be repeated in the body (collections require it); it must match.
                if raw.as_str().and_then(RecordId::parse) != Some(rec.id) {
                    return Err(OrgError::field(
                        Code::InvalidFieldForInsertUpdate,
                        "Record ID: id value of incorrect type",
                        "Id",
                    ));
                }
                continue;
            }
            if !f.updateable {
                return Err(not_writable(f));
            }
            let v = self.value(&def.name, f, raw)?;
            if v.is_null() && !f.nillable {
                return Err(OrgError::field(
                    Code::RequiredFieldMissing,
                    format!("Required fields are missing: [{}]", f.name),
                    &f.name,
                ));
            }
            rec.fields.insert(f.name.clone(), v);
        }
        self.touch(&mut rec);
        derive(&def.name, &mut rec.fields, &self.now);
        self.check_object_rules(&mut rec)?;
        self.check_unique(def, &rec)?;
        Ok(rec)
    }

    /// Field `name` of `def` as the caller's API version has it (none when it came later).
    fn field_of<'d>(&self, def: &'d ObjectDef, name: &str) -> Option<&'d FieldDef> {
        let major = crate::meta::major_version(&self.caller.version);
        def.field(name).filter(|f| f.exists_at(major))
    }

    /// Rules particular to one object (a PushTopic's query), for a change to a record
    /// that may exist.
    pub(super) fn check_object_rules(&self, rec: &mut Record) -> Result<(), OrgError> {
        self.check_rules_of(self.schema.object(&rec.object), rec, self.current(&rec.id))
    }

    /// Rules particular to one object, `def` (`rec`'s, when the schema has it), for a change
    /// to `rec`, which stood as `before` before this write (none for an insert).
    fn check_rules_of(
        &self,
        def: Option<&ObjectDef>,
        rec: &mut Record,
        before: Option<&Record>,
    ) -> Result<(), OrgError> {
        match rec.object.as_str() {
            pricebooks::ENTRY => self.check_entry(rec, before)?,
            pricebooks::LINE => self.check_line(rec, before)?,
            pricebooks::OPPORTUNITY => self.keep_amount(rec, before),
            quotes::QUOTE => self.check_quote(rec, before),
            quotes::QUOTE_LINE => self.check_quote_line(rec)?,
            relations::RELATION => self.check_relation(rec, before)?,
            activities::EVENT => {
                self.check_event(rec, before)?;
                self.activity_account(rec);
            }
            activities::TASK => self.activity_account(rec),
            campaigns::MEMBER => self.check_member(rec),
            _ => {}
        }
        if rec.object == crate::record_types::OBJECT {
            let others: Vec<&Record> = self.scan(crate::record_types::OBJECT).collect();
            crate::record_types::check(self.schema, rec, others.into_iter())?;
        }
        if def.is_some_and(|d| d.field(crate::record_types::FIELD).is_some()) {
            let active =
                crate::record_types::active_of(self.scan(crate::record_types::OBJECT), &rec.object);
            crate::record_types::assign(rec, &active, before)?;
        }
        if rec.object == crate::pushtopic::OBJECT {
            crate::pushtopic::check(self.schema, rec)?;
        }
        if rec.object == crate::generic::OBJECT {
            crate::generic::check(rec)?;
        }
        Ok(())
    }

    /// Coerces a value of `object`'s field `f` and, for references, checks the target
    /// exists and has a right type.
    pub(super) fn value(&self, object: &str, f: &FieldDef, raw: &Value) -> Result<Value, OrgError> {
        if f.ftype == FieldType::Base64
            && crate::blobs::upload_named(FieldRef::of(raw), self.uploads)
                .is_some_and(|u| u.field == f.name)
        {
            return Ok(raw.clone());
        }
        let v = coerce(f, raw)?;
        if f.ftype != FieldType::Reference {
            return Ok(v);
        }
        let Some(target) = v.as_str().and_then(RecordId::parse) else {
            return Ok(v);
        };
        let target_object = self.schema.object_by_prefix(target.prefix());
        let allowed = target_object.is_some_and(|o| {
            f.reference_to
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&o.name))
                || (o.custom && forcebus_meta::standard::takes_custom_objects(object, &f.name))
        });
        if !allowed && target_object.is_some() {
            return Err(OrgError::field(
                Code::FieldIntegrityException,
                format!("{}: id value of incorrect type: {}", f.label, target.to18()),
                &f.name,
            ));
        }
        match self.current(&target) {
            Some(r) if r.is_deleted => Err(OrgError::field(
                Code::EntityIsDeleted,
                "entity is deleted",
                &f.name,
            )),
            Some(_) => Ok(v),
            None => Err(OrgError::field(
                Code::InvalidCrossReferenceKey,
                "invalid cross reference id".to_string(),
                &f.name,
            )),
        }
    }
}

/// What a new record lacking a field of this name is stamped with.
enum Stamp {
    /// The creating user's id.
    Creator,
    /// The transaction's time.
    Now,
}

/// The stamp a new record lacking field `name` gets, if any.
fn stamp(name: &str) -> Option<Stamp> {
    match name {
        "OwnerId" | "CreatedById" | "LastModifiedById" => Some(Stamp::Creator),
        "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => Some(Stamp::Now),
        _ => None,
    }
}

impl Txn<'_> {
    /// Where in `def.fields` are the fields a new record of `def` may get a value for
    /// without being given one ([`may_default`]): worked out once per object in a
    /// transaction when `def` is its schema's (which does not change under it), not for
    /// every row of a Bulk job (an object has dozens of fields).
    fn defaulted(&mut self, def: &ObjectDef) -> std::sync::Arc<[usize]> {
        let work_out = || -> std::sync::Arc<[usize]> {
            let at = def.fields.iter().enumerate();
            at.filter(|(_, f)| may_default(f)).map(|(i, _)| i).collect()
        };
        let schemas = self
            .schema
            .object(&def.name)
            .is_some_and(|d| std::ptr::eq(d, def));
        if !schemas {
            return work_out();
        }
        if let Some((_, at)) = self.defaulted.iter().find(|(name, _)| *name == def.name) {
            return at.clone();
        }
        let at = work_out();
        self.defaulted.push((def.name.clone(), at.clone()));
        at
    }
}

/// Whether a record created without `f` gets a value for it ([`Txn::complete`]): a stamp,
/// an auto-number, a default, or `false`. Only these are looked up in a new record's
/// fields (a Bulk row gives a few of an object's dozens).
fn may_default(f: &FieldDef) -> bool {
    stamp(&f.name).is_some()
        || f.auto_number
        || f.default_value.is_some()
        || f.default_picklist.is_some()
        || f.ftype == FieldType::Boolean
}
