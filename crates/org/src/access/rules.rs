//! Sharing rules, as an sfdx project's `sharingRules/<Object>.sharingRules-meta.xml`
//! declares them: a criteria-based rule shares the records whose fields meet its criteria,
//! an owner-based rule the records owned by its `sharedFrom` members, with the members of
//! its `sharedTo` (a public group, a role, a role and its subordinates, or every internal
//! user), at `Read` or `Edit`.

use serde_json::Value;

use forcebus_schema::declarations::repeated;

use crate::meta::SummaryFilter;

/// Who a rule shares with, or whose records it shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A public group, by developer name.
    Group(String),
    /// The users of a role, by developer name.
    Role(String),
    /// The users of a role and of every role below it.
    RoleAndSubordinates(String),
    /// Every user.
    AllInternalUsers,
}

/// Which records a rule shares.
#[derive(Debug, Clone, PartialEq)]
pub enum Shares {
    /// Those whose fields meet every criterion.
    Criteria(Vec<SummaryFilter>),
    /// Those owned by these users.
    OwnedBy(Principal),
}

/// One sharing rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingRuleConfig {
    /// The object whose records it shares.
    pub object: String,
    /// Its API name.
    pub name: String,
    /// `Read` or `Edit`.
    pub access_level: String,
    /// Who it shares with.
    pub shared_to: Vec<Principal>,
    /// Which records.
    pub shares: Shares,
}

/// The rules of one `SharingRules` Metadata document (as `forcebus-xml` reads the
/// object's `.sharingRules-meta.xml` into JSON) of `object`.
pub fn from_metadata(object: &str, meta: &Value) -> Vec<SharingRuleConfig> {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    for (key, criteria) in [("sharingCriteriaRules", true), ("sharingOwnerRules", false)] {
        for rule in repeated(meta.get(key)) {
            let shares = if criteria {
                Shares::Criteria(
                    repeated(rule.get("criteriaItems"))
                        .into_iter()
                        .map(|c| SummaryFilter {
                            field: text(c, "field").unwrap_or_default(),
                            operation: text(c, "operation").unwrap_or_default(),
                            value: text(c, "value").unwrap_or_default(),
                        })
                        .collect(),
                )
            } else {
                match rule
                    .get("sharedFrom")
                    .and_then(principals)
                    .and_then(|p| p.into_iter().next())
                {
                    Some(from) => Shares::OwnedBy(from),
                    None => continue,
                }
            };
            out.push(SharingRuleConfig {
                object: object.to_owned(),
                name: text(rule, "fullName").unwrap_or_default(),
                access_level: text(rule, "accessLevel").unwrap_or_else(|| "Read".into()),
                shared_to: rule
                    .get("sharedTo")
                    .and_then(principals)
                    .unwrap_or_default(),
                shares,
            });
        }
    }
    out
}

/// The principals a `sharedTo` or `sharedFrom` element names.
fn principals(v: &Value) -> Option<Vec<Principal>> {
    let mut out = Vec::new();
    let names = |key: &str| -> Vec<String> {
        match v.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    out.extend(names("group").into_iter().map(Principal::Group));
    out.extend(names("role").into_iter().map(Principal::Role));
    out.extend(
        names("roleAndSubordinates")
            .into_iter()
            .chain(names("roleAndSubordinatesInternal"))
            .map(Principal::RoleAndSubordinates),
    );
    if v.get("allInternalUsers").is_some() {
        out.push(Principal::AllInternalUsers);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_kinds_of_rule_are_read() {
        let meta = json!({
            "sharingCriteriaRules": {
                "fullName": "Big_Deals", "accessLevel": "Read", "label": "Big",
                "sharedTo": {"group": "Finance"},
                "criteriaItems": {"field": "Amount__c", "operation": "greaterThan", "value": "1000"}
            },
            "sharingOwnerRules": [{
                "fullName": "Reps_To_Managers", "accessLevel": "Edit", "label": "R",
                "sharedFrom": {"role": "Rep"}, "sharedTo": {"roleAndSubordinates": "Manager"}
            }]
        });
        let rules = from_metadata("Deal__c", &meta);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].shared_to, [Principal::Group("Finance".into())]);
        assert!(matches!(&rules[0].shares, Shares::Criteria(c) if c[0].value == "1000"));
        assert_eq!(
            rules[1].shares,
            Shares::OwnedBy(Principal::Role("Rep".into()))
        );
        assert_eq!(rules[1].access_level, "Edit");
    }
}
