//! SOQL over the org: a query parsed, bound against the schema and run over the committed
//! state, whole or in pages; and SOSL searches over the same state.

use forcebus_meta::ObjectDef;

use crate::Org;
use crate::id::RecordId;

impl Org {
    /// What a query evaluates against: now, the API version of record URLs, whether the
    /// Recycle Bin counts, and what the querying user (`viewer`) has viewed.
    pub fn query_context(
        &self,
        viewer: Option<RecordId>,
        version: &str,
        all_rows: bool,
    ) -> forcebus_soql::Context {
        forcebus_soql::Context {
            now: self.clock().now(),
            version: version.to_owned(),
            all_rows,
            seen: viewer.map(|u| self.seen_by(u)).unwrap_or_default(),
        }
    }

    /// Parses and runs a SOQL query. `all_rows` includes the Recycle Bin (`queryAll`);
    /// `visible` limits the objects that may be queried (the tooling API sees fewer).
    pub fn query(
        &self,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<forcebus_soql::Output, forcebus_soql::SoqlError> {
        let schema = self.schema();
        let plan = forcebus_soql::prepare_at(
            text,
            &schema,
            &visible,
            crate::meta::major_version(version),
        )?;
        let ctx = self.query_context(None, version, all_rows);
        let formulas = self.formulas(&schema);
        let made = self.record_access_rows(&plan, None)?;
        let reading = crate::query::Reading {
            formulas: &formulas,
            user: None,
            access: None,
            made: &made,
        };
        let state = self.read();
        Ok(crate::query::run(&state, reading, &plan, &ctx))
    }

    /// Runs a SOQL query for paging: the first `batch` rows shaped, and the ids of all
    /// the rows in order, which is all a cursor needs to keep to shape later pages with
    /// [`Org::query_rows`]. Aggregate queries come back whole, as from [`Org::query`].
    /// `viewer` is the querying user: `FOR VIEW` and `FOR REFERENCE` stamp the rows as
    /// theirs, and `LastViewedDate` / `LastReferencedDate` read their stamps.
    pub fn query_paged(
        &self,
        viewer: Option<RecordId>,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        batch: usize,
    ) -> Result<QueryPage, forcebus_soql::SoqlError> {
        let schema = self.schema();
        let access = viewer.map(|u| self.access(u));
        let sight = crate::access::Sight {
            visible,
            access: access.as_deref(),
        };
        let plan =
            forcebus_soql::prepare_at(text, &schema, &sight, crate::meta::major_version(version))?;
        let ctx = self.query_context(viewer, version, all_rows);
        let formulas = self.formulas(&schema);
        let made = self.record_access_rows(&plan, access.as_deref())?;
        let reading = crate::query::Reading {
            formulas: &formulas,
            user: viewer,
            access: access.as_deref(),
            made: &made,
        };
        let state = self.read();
        if plan.aggregate {
            let out = crate::query::run(&state, reading, &plan, &ctx);
            return Ok(QueryPage {
                total_size: out.total_size,
                aggregate: true,
                first: out.records,
                ids: Vec::new(),
            });
        }
        let ids = crate::query::select_ids(&state, reading, &plan, &ctx);
        let first =
            crate::query::shape_ids(&state, reading, &plan, &ctx, &ids[..batch.min(ids.len())]);
        drop(state);
        // The context's share of the user's stamps goes first, so marking does not copy them.
        drop(ctx);
        if let (Some(user), Some(clause)) = (viewer, plan.for_clause) {
            self.mark_seen(user, &ids, clause);
        }
        Ok(QueryPage {
            total_size: ids.len(),
            aggregate: false,
            first,
            ids,
        })
    }

    /// The rows of `ids` as the query `text` shapes them (a later page of
    /// [`Org::query_paged`]).
    pub fn query_rows(
        &self,
        viewer: Option<RecordId>,
        text: &str,
        version: &str,
        all_rows: bool,
        visible: &dyn Fn(&ObjectDef) -> bool,
        ids: &[RecordId],
    ) -> Result<Vec<serde_json::Value>, forcebus_soql::SoqlError> {
        let schema = self.schema();
        let access = viewer.map(|u| self.access(u));
        let sight = crate::access::Sight {
            visible,
            access: access.as_deref(),
        };
        let plan =
            forcebus_soql::prepare_at(text, &schema, &sight, crate::meta::major_version(version))?;
        let ctx = self.query_context(viewer, version, all_rows);
        let formulas = self.formulas(&schema);
        let made = self.record_access_rows(&plan, access.as_deref())?;
        let reading = crate::query::Reading {
            formulas: &formulas,
            user: viewer,
            access: access.as_deref(),
            made: &made,
        };
        let state = self.read();
        Ok(crate::query::shape_ids(&state, reading, &plan, &ctx, ids))
    }

    /// Runs a SOSL search over the committed state: each object's matching records, in
    /// `RETURNING` order.
    /// `schema` is the org's (from [`Org::schema`]), held by the caller for as long as it
    /// keeps what was found.
    pub fn search<'s>(
        &self,
        schema: &'s forcebus_meta::Schema,
        viewer: Option<RecordId>,
        search: &forcebus_soql::sosl::Search,
        version: &str,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<Vec<forcebus_soql::sosl::Found<'s>>, forcebus_soql::SoqlError> {
        let ctx = self.query_context(viewer, version, false);
        let formulas = self.formulas(&self.schema());
        let access = viewer.map(|u| self.access(u));
        let state = self.read();
        let view =
            crate::query::View::new(&state, schema, None, &ctx).reading(crate::query::Reading {
                formulas: &formulas,
                user: viewer,
                access: access.as_deref(),
                made: &[],
            });
        let sight = crate::access::Sight {
            visible,
            access: access.as_deref(),
        };
        forcebus_soql::sosl::run(search, schema, &sight, &view, &ctx)
    }

    /// The `columns=true` description of a query.
    pub fn query_columns(
        &self,
        text: &str,
        visible: &dyn Fn(&ObjectDef) -> bool,
    ) -> Result<serde_json::Value, forcebus_soql::SoqlError> {
        let schema = self.schema();
        let plan = forcebus_soql::prepare(text, &schema, &visible)?;
        Ok(forcebus_soql::columns::metadata(&plan))
    }
}

/// A paged query's first page and what later pages need.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Rows matched (for `COUNT()`, the count).
    pub total_size: usize,
    /// Aggregate rows, which cannot be paged: `first` holds them all.
    pub aggregate: bool,
    /// The first page of rows (every row for aggregates).
    pub first: Vec<serde_json::Value>,
    /// Every selected record's id in order (empty for aggregates).
    pub ids: Vec<RecordId>,
}
