//! An interactive transaction under way: its operations and reads.

use forcebus_store::Write;

use super::rolled_back;
use crate::error::OrgError;
use crate::id::RecordId;
use crate::record::Record;
use crate::txn::{Op, Outcome, Txn};

/// An interactive transaction under way ([`Org::transaction`]): operations applied one at
/// a time against an overlay of the committed state, and reads that see them.
pub struct Work<'a> {
    pub(super) txn: Txn<'a>,
    /// Other writes to store with the transaction's records: keyed values and blobs.
    pub(super) extra: Vec<Write>,
}

impl std::fmt::Debug for Work<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work")
            .field("touched", &self.txn.order.len())
            .finish()
    }
}

impl Work<'_> {
    /// Applies one operation. A failed one leaves nothing behind.
    pub fn apply(&mut self, op: Op) -> Result<Outcome, OrgError> {
        self.txn.apply(op)
    }

    /// Stores a keyed value with the transaction, in the same storage commit as its
    /// records (a bulk job's progress, say): both are written, or neither.
    pub fn put_value(&mut self, space: &str, key: &str, value: Option<String>) {
        self.extra.push(Write::Put {
            space: space.to_owned(),
            key: key.to_owned(),
            value,
        });
    }

    /// Stores a blob with the transaction, in the same storage commit as its records (a
    /// bulk chunk's results on a store other nodes read too).
    pub fn put_blob(&mut self, key: &str, data: Vec<u8>) {
        self.extra.push(Write::PutBlob {
            key: key.to_owned(),
            data: Some(data.into()),
        });
    }

    /// Applies `ops` together: if one fails, none of them stays (the others get
    /// [`rolled_back`]), and the transaction is as it was before.
    pub fn apply_all_or_none(&mut self, ops: Vec<Op>) -> Vec<Result<Outcome, OrgError>> {
        let saved = self.txn.savepoint();
        let mut results: Vec<Result<Outcome, OrgError>> =
            ops.into_iter().map(|op| self.txn.apply(op)).collect();
        if results.iter().any(Result::is_err) {
            self.txn.rollback_to(saved);
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(rolled_back());
            }
        } else {
            self.txn.release(saved);
        }
        results
    }

    /// A record as this transaction sees it, deleted or not (as stored: its formula
    /// fields are not computed; a read to show uses [`Work::read`]).
    pub fn get(&self, id: RecordId) -> Option<&Record> {
        self.txn.current(&id)
    }

    /// The caller's access to the record `r`, as sharing decides it: a record they may
    /// not read does not exist to them.
    pub fn level(&self, r: &Record) -> crate::access::sharing::Level {
        self.txn.level(r)
    }

    /// A record as a read shows it, deleted or not: its formula fields computed from the
    /// records as this transaction sees them.
    pub fn read(&self, id: RecordId) -> Option<Record> {
        self.txn.current(&id).map(|r| self.txn.with_formulas(r))
    }

    /// Every record of `object` (canonical name) as this transaction sees it, deleted ones
    /// included.
    pub fn scan(&self, object: &str) -> impl Iterator<Item = &Record> {
        self.txn.scan(object)
    }

    /// Live records of `object` whose external-id `field` equals `value`, as this
    /// transaction sees them.
    pub fn find_by_external_id(
        &self,
        object: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, OrgError> {
        self.txn.find_by_external_id(object, field, value)
    }

    /// Runs a SOQL query over the committed state with this transaction's changes.
    pub fn query(
        &self,
        text: &str,
        ctx: &forcebus_soql::Context,
        visible: &dyn Fn(&forcebus_meta::ObjectDef) -> bool,
    ) -> Result<forcebus_soql::Output, forcebus_soql::SoqlError> {
        let major = crate::meta::major_version(&ctx.version);
        let sight = crate::access::Sight {
            visible,
            access: Some(&self.txn.access),
        };
        let plan = forcebus_soql::prepare_at(text, self.txn.schema, &sight, major)?;
        let view = crate::query::View::new(
            self.txn.state,
            self.txn.schema,
            Some((&self.txn.overlay, &self.txn.order)),
            ctx,
        )
        .reading(crate::query::Reading {
            formulas: self.txn.formulas,
            user: Some(self.txn.caller.user_id),
            access: Some(&self.txn.access),
            made: &[],
        });
        Ok(forcebus_soql::execute(&plan, &view, ctx))
    }
}
