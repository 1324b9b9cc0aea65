//! Org transactions: a list of operations validated and applied against an overlay of the
//! committed state, then committed as one storage batch.
//!
//! Each operation computes every record it touches before changing the overlay, so a failed
//! operation leaves nothing behind; with `allOrNone` one failure discards the whole overlay.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::caller::Caller;
use crate::derive::derive;
use crate::error::{OrgError, StatusCode};
use crate::id::RecordId;
use crate::meta::{FieldDef, FieldType, ObjectDef, Schema};
use crate::record::Record;
use crate::state::State;
use crate::value::{coerce, not_writable};

/// One operation of a transaction.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a record of `object`.
    Create {
        /// Object name (any case).
        object: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Update a record.
    Update {
        /// The object the client named, checked against the id when given.
        object: Option<String>,
        /// The record id (15 or 18 characters).
        id: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Insert or update by an external-id field.
    Upsert {
        /// Object name.
        object: String,
        /// External-id field name.
        field: String,
        /// The external id value.
        value: String,
        /// Field values as the client sent them.
        fields: Map<String, Value>,
    },
    /// Move a record (and its cascade children) to the Recycle Bin.
    Delete {
        /// The object the client named, checked against the id when given.
        object: Option<String>,
        /// The record id.
        id: String,
    },
    /// Restore a record (and what its deletion cascaded to) from the Recycle Bin.
    Undelete {
        /// The record id.
        id: String,
    },
    /// Remove a Recycle Bin record for good.
    Purge {
        /// The record id.
        id: String,
    },
    /// An operation the edge already rejected (no type, malformed id): it fails with this
    /// error and, under `allOrNone`, takes the transaction down with it.
    Reject(OrgError),
}

/// What a successful operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A record was inserted.
    Created(RecordId),
    /// A record was updated.
    Updated(RecordId),
    /// An upsert inserted (`created`) or updated the record.
    Upserted {
        /// The record.
        id: RecordId,
        /// Whether it was inserted.
        created: bool,
    },
    /// A record went to the Recycle Bin.
    Deleted(RecordId),
    /// A record came back from the Recycle Bin.
    Undeleted(RecordId),
    /// A record was removed for good.
    Purged(RecordId),
}

impl Outcome {
    /// The record the operation was about.
    pub fn id(&self) -> RecordId {
        match *self {
            Self::Created(id)
            | Self::Updated(id)
            | Self::Deleted(id)
            | Self::Undeleted(id)
            | Self::Purged(id)
            | Self::Upserted { id, .. } => id,
        }
    }
}

pub(crate) struct Txn<'a> {
    pub(crate) schema: &'static Schema,
    pub(crate) state: &'a State,
    pub(crate) caller: &'a Caller,
    /// New state of every touched record; `None` for purged.
    pub(crate) overlay: HashMap<RecordId, Option<Record>>,
    /// Touched ids in first-touch order.
    pub(crate) order: Vec<RecordId>,
    pub(crate) next_id: u64,
    pub(crate) next_case: u64,
    pub(crate) now: String,
}

impl<'a> Txn<'a> {
    pub(crate) fn new(
        schema: &'static Schema,
        state: &'a State,
        caller: &'a Caller,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            schema,
            state,
            caller,
            overlay: HashMap::new(),
            order: Vec::new(),
            next_id: state.next_id,
            next_case: state.next_case,
            now: crate::clock::format_datetime(now),
        }
    }

    fn current(&self, id: &RecordId) -> Option<&Record> {
        match self.overlay.get(id) {
            Some(r) => r.as_ref(),
            None => self.state.records.get(id),
        }
    }

    fn put(&mut self, records: Vec<Record>) {
        for r in records {
            if !self.overlay.contains_key(&r.id) {
                self.order.push(r.id);
            }
            self.overlay.insert(r.id, Some(r));
        }
    }

    /// Every record of `object` as this transaction sees it.
    fn scan(&self, object: &str) -> impl Iterator<Item = &Record> {
        let committed = self
            .state
            .by_object
            .get(object)
            .into_iter()
            .flatten()
            .filter(|id| !self.overlay.contains_key(id))
            .filter_map(|id| self.state.records.get(id));
        let touched = self
            .order
            .iter()
            .filter_map(|id| self.overlay.get(id)?.as_ref());
        committed.chain(touched.filter(move |r| r.object == object))
    }

    pub(crate) fn apply(&mut self, op: Op) -> Result<Outcome, OrgError> {
        match op {
            Op::Create { object, fields } => {
                let def = self.object(&object)?;
                let rec = self.build_create(def, &fields)?;
                let id = rec.id;
                self.put(vec![rec]);
                Ok(Outcome::Created(id))
            }
            Op::Update { object, id, fields } => {
                let rec = self.build_update(object.as_deref(), &id, &fields)?;
                let id = rec.id;
                self.put(vec![rec]);
                Ok(Outcome::Updated(id))
            }
            Op::Upsert {
                object,
                field,
                value,
                fields,
            } => self.upsert(&object, &field, &value, fields),
            Op::Delete { object, id } => {
                let records = self.build_delete(object.as_deref(), &id)?;
                let id = records[0].id;
                self.put(records);
                Ok(Outcome::Deleted(id))
            }
            Op::Undelete { id } => {
                let records = self.build_undelete(&id)?;
                let id = records[0].id;
                self.put(records);
                Ok(Outcome::Undeleted(id))
            }
            Op::Reject(e) => Err(e),
            Op::Purge { id } => {
                let rid = self.existing(None, &id)?.id;
                if !self.current(&rid).is_some_and(|r| r.is_deleted) {
                    return Err(OrgError::new(
                        StatusCode::InvalidId,
                        "Entity is not in the recycle bin",
                    ));
                }
                if !self.overlay.contains_key(&rid) {
                    self.order.push(rid);
                }
                self.overlay.insert(rid, None);
                Ok(Outcome::Purged(rid))
            }
        }
    }

    fn object(&self, name: &str) -> Result<&'a ObjectDef, OrgError> {
        self.schema
            .object(name)
            .ok_or_else(|| OrgError::no_such_object(name))
    }

    /// The live record `id` refers to, checked against the object the client named.
    fn existing(&self, object: Option<&str>, id: &str) -> Result<&Record, OrgError> {
        let rid = RecordId::parse(id)
            .ok_or_else(|| OrgError::new(StatusCode::MalformedId, format!("malformed id {id}")))?;
        let rec = self.current(&rid).ok_or_else(OrgError::not_found)?;
        if let Some(o) = object
            && !rec.object.eq_ignore_ascii_case(o)
        {
            return Err(OrgError::not_found());
        }
        Ok(rec)
    }

    fn build_create(
        &mut self,
        def: &ObjectDef,
        input: &Map<String, Value>,
    ) -> Result<Record, OrgError> {
        if !def.createable {
            return Err(OrgError::new(
                StatusCode::InsufficientAccess,
                format!("entity type cannot be inserted: {}", def.label),
            ));
        }
        let mut fields = Map::new();
        for (name, raw) in input {
            if name == "attributes" {
                continue;
            }
            let f = def
                .field(name)
                .ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
            if f.name == "Id" {
                return Err(OrgError::field(
                    StatusCode::InvalidFieldForInsertUpdate,
                    "Record ID: cannot specify Id in an insert call",
                    "Id",
                ));
            }
            if !f.createable {
                return Err(not_writable(f));
            }
            let v = self.value(f, raw)?;
            fields.insert(f.name.clone(), v);
        }
        let user = Value::String(self.caller.user_id.to18());
        for f in &def.fields {
            if fields.get(&f.name).is_some_and(|v| !v.is_null()) {
                continue;
            }
            let default = match f.name.as_str() {
                "OwnerId" | "CreatedById" | "LastModifiedById" => Some(user.clone()),
                "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => {
                    Some(Value::from(self.now.as_str()))
                }
                "CaseNumber" => {
                    self.next_case += 1;
                    Some(Value::from(format!("{:08}", self.next_case)))
                }
                _ => f
                    .default_value
                    .clone()
                    .or_else(|| f.default_picklist.clone().map(Value::from)),
            };
            if let Some(v) = default {
                fields.insert(f.name.clone(), v);
            } else if f.ftype == FieldType::Boolean {
                fields.insert(f.name.clone(), Value::Bool(false));
            }
        }
        let missing: Vec<String> = def
            .fields
            .iter()
            .filter(|f| f.required_on_create() && fields.get(&f.name).is_none_or(Value::is_null))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(OrgError {
                code: StatusCode::RequiredFieldMissing,
                message: format!("Required fields are missing: [{}]", missing.join(", ")),
                fields: missing,
            });
        }
        self.next_id += 1;
        let id = RecordId::mint(&def.key_prefix, self.next_id);
        derive(&def.name, &mut fields, &self.now);
        let mut rec = Record {
            id,
            object: def.name.clone(),
            fields,
            is_deleted: false,
            deleted_at: None,
            deleted_with: None,
        };
        self.check_object_rules(&mut rec)?;
        self.check_unique(def, &rec)?;
        Ok(rec)
    }

    fn build_update(
        &self,
        object: Option<&str>,
        id: &str,
        input: &Map<String, Value>,
    ) -> Result<Record, OrgError> {
        let current = self.existing(object, id)?;
        if current.is_deleted {
            return Err(OrgError::deleted());
        }
        let def = self.object(&current.object)?;
        let mut rec = current.clone();
        for (name, raw) in input {
            if name == "attributes" {
                continue;
            }
            let f = def
                .field(name)
                .ok_or_else(|| OrgError::no_such_field(&def.name, name))?;
            if f.name == "Id" {
                // The id may be repeated in the body (collections require it); it must match.
                if raw.as_str().and_then(RecordId::parse) != Some(rec.id) {
                    return Err(OrgError::field(
                        StatusCode::InvalidFieldForInsertUpdate,
                        "Record ID: id value of incorrect type",
                        "Id",
                    ));
                }
                continue;
            }
            if !f.updateable {
                return Err(not_writable(f));
            }
            let v = self.value(f, raw)?;
            if v.is_null() && !f.nillable {
                return Err(OrgError::field(
                    StatusCode::RequiredFieldMissing,
                    format!("Required fields are missing: [{}]", f.name),
                    &f.name,
                ));
            }
            rec.fields.insert(f.name.clone(), v);
        }
        let user = Value::String(self.caller.user_id.to18());
        rec.fields.insert("LastModifiedById".into(), user);
        rec.fields
            .insert("LastModifiedDate".into(), Value::from(self.now.as_str()));
        rec.fields
            .insert("SystemModstamp".into(), Value::from(self.now.as_str()));
        derive(&def.name, &mut rec.fields, &self.now);
        self.check_object_rules(&mut rec)?;
        self.check_unique(def, &rec)?;
        Ok(rec)
    }

    /// Rules particular to one object (a PushTopic's query).
    fn check_object_rules(&self, rec: &mut Record) -> Result<(), OrgError> {
        if rec.object == crate::pushtopic::OBJECT {
            crate::pushtopic::check(self.schema, rec)?;
        }
        if rec.object == crate::generic::OBJECT {
            crate::generic::check(rec)?;
        }
        Ok(())
    }

    fn upsert(
        &mut self,
        object: &str,
        field: &str,
        value: &str,
        mut fields: Map<String, Value>,
    ) -> Result<Outcome, OrgError> {
        let def = self.object(object)?;
        let f = def
            .field(field)
            .filter(|f| f.external_id || f.name == "Id")
            .ok_or_else(|| OrgError::not_an_external_id(field))?;
        if f.name == "Id" {
            let rec = self.build_update(Some(&def.name), value, &fields)?;
            let id = rec.id;
            self.put(vec![rec]);
            return Ok(Outcome::Upserted { id, created: false });
        }
        let matches = self.matching(def, f, value);
        match matches.as_slice() {
            [] => {
                let key = Value::String(value.to_owned());
                match fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(&f.name)) {
                    Some((_, v)) if !same_value(f, v, &key) => {
                        return Err(OrgError::field(
                            StatusCode::InvalidField,
                            format!(
                                "The value of {} in the request body does not match the external ID in the URL",
                                f.name
                            ),
                            &f.name,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        fields.insert(f.name.clone(), key);
                    }
                }
                let rec = self.build_create(def, &fields)?;
                let id = rec.id;
                self.put(vec![rec]);
                Ok(Outcome::Upserted { id, created: true })
            }
            [one] => {
                let rec = self.build_update(Some(&def.name), &one.to18(), &fields)?;
                self.put(vec![rec]);
                Ok(Outcome::Upserted {
                    id: *one,
                    created: false,
                })
            }
            many => Err(OrgError::field(
                StatusCode::DuplicateExternalId,
                format!(
                    "{}: more than one record found for external id field: [{}]",
                    f.label,
                    many.iter()
                        .map(RecordId::to18)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &f.name,
            )),
        }
    }

    /// Live records of `def` whose `field` equals `value` (text compared case-insensitively).
    pub(crate) fn matching(&self, def: &ObjectDef, field: &FieldDef, value: &str) -> Vec<RecordId> {
        let key = Value::String(value.to_owned());
        self.equal(def, field, &key, None)
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Live records of `def` other than `except` whose `field` equals `v`: through the
    /// committed index when the field has one, plus what this transaction touched.
    fn equal(
        &self,
        def: &ObjectDef,
        field: &FieldDef,
        v: &Value,
        except: Option<RecordId>,
    ) -> Vec<&Record> {
        let schema = self.schema;
        let indexed = field.ftype.is_text() && crate::indexes::indexed(field);
        let hits: Vec<&Record> = match crate::indexes::key_of(field, v).filter(|_| indexed) {
            Some(k) => {
                let committed = self
                    .state
                    .indexes
                    .get(schema, &def.name, &field.name, &k)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|id| !self.overlay.contains_key(id))
                    .filter_map(|id| self.state.records.get(&id));
                let touched = self
                    .order
                    .iter()
                    .filter_map(|id| self.overlay.get(id)?.as_ref())
                    .filter(|r| r.object == def.name);
                committed.chain(touched).collect()
            }
            None => self.scan(&def.name).collect(),
        };
        let mut out: Vec<&Record> = hits
            .into_iter()
            .filter(|r| {
                Some(r.id) != except && !r.is_deleted && same_value(field, r.get(&field.name), v)
            })
            .collect();
        out.sort_by_key(|r| r.id);
        out
    }

    fn check_unique(&self, def: &ObjectDef, rec: &Record) -> Result<(), OrgError> {
        for f in def.fields.iter().filter(|f| f.unique) {
            let v = rec.get(&f.name);
            if v.is_null() {
                continue;
            }
            if let Some(other) = self.equal(def, f, v, Some(rec.id)).first() {
                return Err(OrgError::field(
                    StatusCode::DuplicateValue,
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {}",
                        f.name,
                        other.id.to18()
                    ),
                    &f.name,
                ));
            }
        }
        Ok(())
    }

    /// Coerces a value and, for references, checks the target exists and has a right type.
    fn value(&self, f: &FieldDef, raw: &Value) -> Result<Value, OrgError> {
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
        });
        if !allowed && target_object.is_some() {
            return Err(OrgError::field(
                StatusCode::FieldIntegrityException,
                format!("{}: id value of incorrect type: {}", f.label, target.to18()),
                &f.name,
            ));
        }
        match self.current(&target) {
            Some(r) if r.is_deleted => Err(OrgError::field(
                StatusCode::EntityIsDeleted,
                "entity is deleted",
                &f.name,
            )),
            Some(_) => Ok(v),
            None => Err(OrgError::field(
                StatusCode::InvalidCrossReferenceKey,
                "invalid cross reference id".to_string(),
                &f.name,
            )),
        }
    }

    fn build_delete(&self, object: Option<&str>, id: &str) -> Result<Vec<Record>, OrgError> {
        let root = self.existing(object, id)?;
        if root.is_deleted {
            return Err(OrgError::deleted());
        }
        let def = self.object(&root.object)?;
        if !def.deletable {
            return Err(OrgError::new(
                StatusCode::InsufficientAccess,
                format!("entity type cannot be deleted: {}", def.label),
            ));
        }
        let root_id = root.id;
        let mut out = vec![root.clone()];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i].clone();
            for rel in self
                .schema
                .child_relationships(&parent.object)
                .iter()
                .filter(|r| r.cascade_delete)
            {
                let children: Vec<Record> = self
                    .scan(&rel.child)
                    .filter(|c| {
                        !c.is_deleted
                            && c.get_str(&rel.field).and_then(RecordId::parse) == Some(parent.id)
                    })
                    .filter(|c| !out.iter().any(|o| o.id == c.id))
                    .cloned()
                    .collect();
                out.extend(children);
            }
            i += 1;
        }
        for r in &mut out {
            r.is_deleted = true;
            r.deleted_at = Some(self.now.clone());
            r.deleted_with = Some(root_id);
            r.fields
                .insert("SystemModstamp".into(), Value::from(self.now.as_str()));
        }
        Ok(out)
    }

    fn build_undelete(&self, id: &str) -> Result<Vec<Record>, OrgError> {
        let root = self
            .existing(None, id)
            .map_err(|e| OrgError::new(StatusCode::UndeleteFailed, e.message))?;
        if !root.is_deleted {
            return Err(OrgError::new(
                StatusCode::UndeleteFailed,
                "Entity is not in the recycle bin",
            ));
        }
        let root_id = root.id;
        let mut out = vec![root.clone()];
        // Restore what this deletion cascaded to; children deleted on their own stay deleted.
        let cascaded: Vec<Record> = self
            .state
            .records
            .keys()
            .chain(self.order.iter())
            .filter(|rid| **rid != root_id)
            .filter_map(|rid| self.current(rid))
            .filter(|r| r.is_deleted && r.deleted_with == Some(root_id))
            .cloned()
            .collect();
        for r in cascaded {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
        for r in &mut out {
            r.is_deleted = false;
            r.deleted_at = None;
            r.deleted_with = None;
            r.fields
                .insert("SystemModstamp".into(), Value::from(self.now.as_str()));
        }
        Ok(out)
    }
}

/// External-id and unique comparisons: text case-insensitively, everything else exactly.
fn same_value(f: &FieldDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if f.ftype.is_text() => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            y.parse::<f64>().ok() == x.as_f64()
        }
        _ => a == b,
    }
}
