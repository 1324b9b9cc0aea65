//! Records every org is born with besides its users: the Standard Price Book
//! (`standard-objects.md` §4.1). Made on first start, without change events (on
//! Salesforce they predate every retained event).

use forcebus_store::StoreError;
use serde_json::{Map, Value};

use crate::Org;
use crate::caller::Caller;
use crate::txn::Op;

const BOOK: &str = "Pricebook2";
/// The Standard Price Book's name in an English-language org.
pub const STANDARD_PRICE_BOOK: &str = "Standard Price Book";

impl Org {
    /// Makes the Standard Price Book unless the org has one (or has no price books).
    pub(crate) fn ensure_standard_price_book(&self) -> Result<(), StoreError> {
        if self.schema().object(BOOK).is_none() {
            return Ok(());
        }
        let has = self.scan(BOOK, |r| (r.get("IsStandard") == true).then_some(()));
        if !has.is_empty() {
            return Ok(());
        }
        let Some(owner) = self.scan("User", |r| Some(r.id)).into_iter().next() else {
            return Ok(());
        };
        let caller = Caller::org_setup(owner);
        let mut fields = Map::new();
        for (k, v) in [
            ("Name", Value::from(STANDARD_PRICE_BOOK)),
            ("IsStandard", Value::Bool(true)),
            ("IsActive", Value::Bool(true)),
        ] {
            fields.insert(k.into(), v);
        }
        let ops = vec![Op::Seed {
            object: BOOK.into(),
            fields,
        }];
        let mode = crate::Mode {
            all_or_none: true,
            bulk_load: false,
            seed: true,
        };
        // Not waited for: if it is lost with the process before it is durable, the next
        // start makes it again (the org's first durable commit after this one makes both
        // durable).
        let (result, _commit) = self.execute(&caller, ops, mode)?.into_parts();
        if let Some(Err(e)) = result.results.into_iter().next() {
            panic!("the Standard Price Book is invalid: {e:?}");
        }
        Ok(())
    }
}
