//! A formula's references resolved against the schema: `Amount`, `Account.Owner.Email`,
//! `$User.Email`, `$RecordType.DeveloperName`, each as where its value is read from (this
//! record, the running user, the org), the lookups it follows, and the field it ends on.

use forcebus_formula::{FieldInfo, Type};

use crate::meta::{FieldDef, FieldType, ObjectDef, Schema};

/// Most relationships one reference spans (Salesforce's limit).
pub(crate) const MAX_SPAN: usize = 10;

/// Where a reference starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The record the formula runs on.
    This,
    /// The running user's `User` record.
    User,
    /// The org's `Organization` record.
    Organization,
    /// `$System.OriginDateTime`: 1900-01-01 00:00:00 GMT.
    Origin,
}

/// One lookup followed: the reference field read on the current record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    /// The reference field (`AccountId`, `Parent__c`).
    pub(crate) field: String,
}

/// A reference resolved.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub(crate) start: Start,
    pub(crate) hops: Vec<Hop>,
    /// The object the last field is on, and where in its fields that field is (the schema
    /// version the formula is compiled for does not change): none for a constant.
    pub(crate) end: Option<(std::sync::Arc<ObjectDef>, usize)>,
}

/// How the formula language types a field.
pub(crate) fn type_of(f: &FieldDef) -> Option<Type> {
    Some(match f.ftype {
        FieldType::Id | FieldType::Reference => Type::Id,
        FieldType::String
        | FieldType::Textarea
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Url
        | FieldType::Combobox
        | FieldType::Encryptedstring => Type::Text,
        FieldType::Boolean => Type::Checkbox,
        FieldType::Int | FieldType::Long | FieldType::Double => Type::Number,
        FieldType::Currency => Type::Currency,
        FieldType::Percent => Type::Percent,
        FieldType::Date => Type::Date,
        FieldType::Datetime => Type::DateTime,
        FieldType::Time => Type::Time,
        FieldType::Picklist => Type::Picklist,
        FieldType::Multipicklist => Type::MultiPicklist,
        FieldType::Location => Type::Geolocation,
        FieldType::Address | FieldType::Base64 | FieldType::AnyType => return None,
    })
}

/// The reference field of `o` whose relationship is `name` (`Account`, `Parent__r`,
/// `Owner`), and the object it points to (the first, for a polymorphic one).
fn relationship<'s>(
    schema: &'s Schema,
    o: &ObjectDef,
    name: &str,
) -> Option<(String, &'s ObjectDef)> {
    let f = o.fields.iter().find(|f| {
        f.ftype == FieldType::Reference
            && f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
    })?;
    let target = schema.object(f.reference_to.first()?)?;
    Some((f.name.clone(), target))
}

/// Where a reference beginning with `first` starts: this record, or a global's record
/// (`$User`, `$Organization`, `$Profile`, `$UserRole`, `$RecordType`), with the lookups
/// that reach the global's object and that object's name. `None`: an unknown global.
fn start_of(first: &str) -> Option<(Start, Vec<Hop>, Option<&'static str>)> {
    let hop = |field: &str| {
        vec![Hop {
            field: field.into(),
        }]
    };
    Some(match first.to_ascii_lowercase().as_str() {
        "$user" => (Start::User, Vec::new(), Some("User")),
        "$organization" => (Start::Organization, Vec::new(), Some("Organization")),
        "$profile" => (Start::User, hop("ProfileId"), Some("Profile")),
        "$userrole" => (Start::User, hop("UserRoleId"), Some("UserRole")),
        "$recordtype" => (Start::This, hop("RecordTypeId"), Some("RecordType")),
        g if g.starts_with('$') => return None,
        _ => (Start::This, Vec::new(), None),
    })
}

/// `$System.OriginDateTime`: 1900-01-01 00:00:00 GMT.
fn origin(rest: &[&str]) -> Option<(Vec<String>, FieldInfo, Path)> {
    let [one] = rest else { return None };
    one.eq_ignore_ascii_case("OriginDateTime").then(|| {
        (
            vec!["$System".into(), "OriginDateTime".into()],
            FieldInfo {
                ty: Type::DateTime,
                scale: 0,
            },
            Path {
                start: Start::Origin,
                hops: Vec::new(),
                end: None,
            },
        )
    })
}

/// Resolves `path` (as written, split on dots) for a formula on `object`: the canonical
/// path, the field's type, and where it is read from. `Ok(None)`: no such field.
pub(crate) fn resolve(
    schema: &Schema,
    object: &ObjectDef,
    path: &[&str],
) -> Result<Option<(Vec<String>, FieldInfo, Path)>, String> {
    let Some((&first, rest)) = path.split_first() else {
        return Ok(None);
    };
    if first.eq_ignore_ascii_case("$System") {
        return Ok(origin(rest));
    }
    let Some((start, mut hops, global)) = start_of(first) else {
        return Ok(None);
    };
    let mut canonical = Vec::with_capacity(path.len());
    let (mut def, names) = match global {
        Some(g) => {
            canonical.push(format!("${}", first.trim_start_matches('$')));
            if g == "RecordType" && object.field("RecordTypeId").is_none() {
                return Ok(None);
            }
            match schema.object(g) {
                Some(def) => (def, rest),
                None => return Ok(None),
            }
        }
        None => (object, path),
    };
    let Some((last, through)) = names.split_last() else {
        return Ok(None);
    };
    if hops.len() + through.len() > MAX_SPAN {
        return Err(format!(
            "You have exceeded the maximum number of relationships ({MAX_SPAN}) that can be referenced in a formula."
        ));
    }
    for name in through {
        let Some((field, target)) = relationship(schema, def, name) else {
            return Ok(None);
        };
        let spelled = def
            .field(&field)
            .and_then(|f| f.relationship_name.clone())
            .unwrap_or_else(|| (*name).to_owned());
        canonical.push(spelled);
        hops.push(Hop { field });
        def = target;
    }
    let Some(f) = def.field(last) else {
        return Ok(None);
    };
    let info = info_of(f)?;
    canonical.push(f.name.clone());
    let end = schema
        .object_shared(&def.name)
        .zip(def.fields.iter().position(|x| x.name == f.name));
    let path = Path { start, hops, end };
    Ok(Some((canonical, info, path)))
}

/// How the formula language types field `f`, or why it cannot read it.
fn info_of(f: &FieldDef) -> Result<FieldInfo, String> {
    let Some(ty) = type_of(f) else {
        return Err(format!(
            "Field {} is a {} field, which formulas cannot read.",
            f.name,
            f.ftype.name()
        ));
    };
    let scale = if matches!(f.ftype, FieldType::Int | FieldType::Long) {
        0
    } else {
        f.scale
    };
    Ok(FieldInfo { ty, scale })
}
