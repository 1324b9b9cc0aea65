//! Deletes (with their cascades) and undeletes: the Recycle Bin.

use serde_json::Value;

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::record::{Deletion, Record};

use super::Txn;

impl Txn<'_> {
    pub(crate) fn build_delete(
        &self,
        object: Option<&str>,
        id: &str,
    ) -> Result<Vec<Record>, OrgError> {
        let root = match self.existing(object, id) {
            Ok(root) => root,
            // A well-formed id of the object that the org does not hold (purged from the
            // Recycle Bin, or never made) is a deleted entity to a delete, as on
            // Salesforce: a Django ORM backend takes that as done.
            Err(e) if e.code == Code::NotFound && self.of_object(object, id) => {
                return Err(OrgError::deleted());
            }
            Err(e) => return Err(e),
        };
        if root.is_deleted {
            return Err(OrgError::deleted());
        }
        let def = self.object(&root.object)?;
        if !def.deletable {
            return Err(OrgError::new(
                Code::InsufficientAccess,
                format!("entity type cannot be deleted: {}", def.label),
            ));
        }
        if !self.access.object(def).delete || self.level(root) < crate::access::sharing::Level::All
        {
            return Err(OrgError::insufficient_access());
        }
        crate::rules::check_delete(self, root)?;
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
            r.deleted = Deletion::of(Some(self.now.clone()), Some(root_id));
            r.fields
                .insert("SystemModstamp".into(), Value::from(self.now.as_str()));
        }
        Ok(out)
    }

    pub(super) fn build_undelete(&self, id: &str) -> Result<Vec<Record>, OrgError> {
        let root = self
            .existing(None, id)
            .map_err(|e| OrgError::new(Code::UndeleteFailed, e.message))?;
        if !root.is_deleted {
            return Err(OrgError::new(
                Code::UndeleteFailed,
                "Entity is not in the recycle bin",
            ));
        }
        crate::rules::check_delete(self, root)?;
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
            .filter(|r| r.is_deleted && r.deleted_with() == Some(root_id))
            .cloned()
            .collect();
        for r in cascaded {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
        for r in &mut out {
            r.is_deleted = false;
            r.deleted = None;
            r.fields
                .insert("SystemModstamp".into(), Value::from(self.now.as_str()));
        }
        Ok(out)
    }

    /// Whether `id` is a well-formed id of `object` (of any object when none is named).
    fn of_object(&self, object: Option<&str>, id: &str) -> bool {
        let Some(rid) = RecordId::parse(id) else {
            return false;
        };
        match object {
            Some(o) => self
                .schema
                .object(o)
                .is_some_and(|def| def.key_prefix == rid.prefix()),
            None => self.schema.object_by_prefix(rid.prefix()).is_some(),
        }
    }
}
