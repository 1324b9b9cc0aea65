//! Share objects (`AccountShare`, `Invoice__Share`): one for every object whose
//! organization-wide default is Private or Public Read Only, as Salesforce has them, made
//! when the schema is settled. A row grants a user (or a public group) `Read`, `Edit` or
//! `All` on one record, with the reason it was granted (`RowCause`: `Manual` when an
//! admin or the owner shares it through the API).

use forcebus_meta::{FieldDef, FieldType, ObjectDef, Schema};

/// The share object of `object`, its field naming the record, and its access level
/// field: Salesforce's names for a standard object (`AccountShare`, `AccountId`,
/// `AccountAccessLevel`), `X__Share` with `ParentId` and `AccessLevel` for a custom one.
pub fn share_object(object: &str) -> (String, String, String) {
    match object.strip_suffix("__c") {
        Some(base) => (
            format!("{base}__Share"),
            "ParentId".into(),
            "AccessLevel".into(),
        ),
        None => (
            format!("{object}Share"),
            format!("{object}Id"),
            format!("{object}AccessLevel"),
        ),
    }
}

/// Whether records of `o` are shared record by record: its default is Private or Read.
fn shared_by_record(o: &ObjectDef) -> bool {
    matches!(o.sharing_model.as_deref(), Some("Private" | "Read"))
}

/// The key prefixes Salesforce gives the standard share objects.
const STANDARD_PREFIXES: &[(&str, &str)] = &[
    ("AccountShare", "00r"),
    ("OpportunityShare", "00t"),
    ("CaseShare", "01n"),
    ("LeadShare", "01o"),
    ("ContactShare", "03s"),
    ("CampaignShare", "08s"),
];

/// Adds the share object of every object shared record by record (and that has none).
pub fn add_share_objects(schema: &mut Schema) {
    let wanted: Vec<(String, String)> = schema
        .objects()
        .filter(|o| shared_by_record(o) && !o.tooling)
        .map(|o| (o.name.clone(), o.label.clone()))
        .filter(|(name, _)| schema.object(&share_object(name).0).is_none())
        .collect();
    for (parent, label) in wanted {
        let name = share_object(&parent).0;
        let known = STANDARD_PREFIXES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| (*p).to_owned())
            .filter(|p| schema.object_by_prefix(p).is_none());
        let Some(prefix) = known.or_else(|| free_prefix(schema)) else {
            tracing::warn!(object = %parent, "No key prefix is left for its share object.");
            continue;
        };
        schema.insert(share_def(&parent, &label, prefix));
    }
}

/// A key prefix no object has, from `0s0` on.
fn free_prefix(schema: &Schema) -> Option<String> {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..62)
        .map(|n| format!("0s{}", B62[n] as char))
        .chain((0..62).map(|n| format!("0t{}", B62[n] as char)))
        .find(|p| schema.object_by_prefix(p).is_none())
}

/// The share object of `parent` (labelled `label`).
fn share_def(parent: &str, label: &str, prefix: String) -> ObjectDef {
    let (name, key, level) = share_object(parent);
    let mut id = FieldDef::new("Id", &format!("{label} Share ID"), FieldType::Id);
    id.nillable = false;
    id.createable = false;
    id.updateable = false;
    let mut parent_ref = FieldDef::new(&key, &format!("{label} ID"), FieldType::Reference);
    parent_ref.reference_to = vec![parent.to_owned()];
    parent_ref.relationship_name = Some(if key == "ParentId" {
        "Parent".into()
    } else {
        parent.to_owned()
    });
    parent_ref.child_relationship = Some("Shares".into());
    parent_ref.cascade_delete = true;
    parent_ref.nillable = false;
    parent_ref.updateable = false;
    let mut who = FieldDef::new("UserOrGroupId", "User/Group ID", FieldType::Reference);
    who.reference_to = vec!["User".into(), "Group".into()];
    who.relationship_name = Some("UserOrGroup".into());
    who.nillable = false;
    who.updateable = false;
    let mut access = FieldDef::new(&level, "Access Level", FieldType::Picklist);
    access.picklist = vec!["Read".into(), "Edit".into(), "All".into()];
    access.restricted_picklist = true;
    access.nillable = false;
    let mut cause = FieldDef::new("RowCause", "Row Cause", FieldType::Picklist);
    cause.picklist = [
        "Owner",
        "Manual",
        "Rule",
        "ImplicitChild",
        "ImplicitParent",
        "Team",
    ]
    .map(String::from)
    .to_vec();
    cause.default_picklist = Some("Manual".into());
    cause.defaulted_on_create = true;
    cause.updateable = false;
    let system = |name: &str, label: &str, ftype| {
        let mut f = FieldDef::new(name, label, ftype);
        f.createable = false;
        f.updateable = false;
        f.nillable = false;
        f.defaulted_on_create = true;
        if ftype == FieldType::Reference {
            f.reference_to = vec!["User".into()];
            f.relationship_name = Some("LastModifiedBy".into());
        }
        f
    };
    let fields = vec![
        id,
        parent_ref,
        who,
        access,
        cause,
        system(
            "LastModifiedDate",
            "Last Modified Date",
            FieldType::Datetime,
        ),
        system(
            "LastModifiedById",
            "Last Modified By ID",
            FieldType::Reference,
        ),
        system("IsDeleted", "Deleted", FieldType::Boolean),
    ];
    let mut o = ObjectDef::new(
        &name,
        &format!("{label} Share"),
        &format!("{label} Share"),
        &prefix,
        fields,
    );
    o.custom = false;
    o.change_events = false;
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_salesforce() {
        assert_eq!(
            share_object("Account"),
            (
                "AccountShare".into(),
                "AccountId".into(),
                "AccountAccessLevel".into()
            )
        );
        assert_eq!(
            share_object("Invoice__c"),
            (
                "Invoice__Share".into(),
                "ParentId".into(),
                "AccessLevel".into()
            )
        );
    }
}
