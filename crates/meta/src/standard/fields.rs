//! Building blocks of the catalogue: field constructors by type, the modifiers
//! (required, read-only, calculated, cascade-deleted), and the field groups many objects
//! share (the head, the owner, the audit fields, addresses, person names, views).

use crate::{FieldDef, FieldType as T};

pub(super) fn f(name: &str, label: &str, t: T) -> FieldDef {
    FieldDef::new(name, label, t)
}

pub(super) fn text(name: &str, label: &str, len: u32) -> FieldDef {
    let mut d = f(name, label, T::String);
    d.length = len;
    d
}

pub(super) fn area(name: &str, label: &str, len: u32) -> FieldDef {
    let mut d = f(name, label, T::Textarea);
    d.length = len;
    d
}

pub(super) fn pick(name: &str, label: &str, values: &[&str]) -> FieldDef {
    let mut d = f(name, label, T::Picklist);
    d.length = 255;
    d.picklist = values.iter().map(|v| (*v).to_owned()).collect();
    d
}

pub(super) fn pick_default(name: &str, label: &str, values: &[&str], default: &str) -> FieldDef {
    let mut d = pick(name, label, values);
    d.nillable = false;
    d.defaulted_on_create = true;
    d.default_picklist = Some(default.to_owned());
    d
}

pub(super) fn num(name: &str, label: &str, t: T, precision: u32, scale: u32) -> FieldDef {
    let mut d = f(name, label, t);
    d.precision = precision;
    d.scale = scale;
    d
}

pub(super) fn int(name: &str, label: &str, digits: u32) -> FieldDef {
    let mut d = f(name, label, T::Int);
    d.digits = digits;
    d
}

pub(super) fn flag(name: &str, label: &str) -> FieldDef {
    let mut d = f(name, label, T::Boolean);
    d.nillable = false;
    d.defaulted_on_create = true;
    d.default_value = Some(serde_json::Value::Bool(false));
    d
}

/// A lookup: `rel` is the parent accessor, `child` the relationship name on the parent.
pub(super) fn lookup(
    name: &str,
    label: &str,
    to: &[&str],
    rel: &str,
    child: Option<&str>,
) -> FieldDef {
    let mut d = f(name, label, T::Reference);
    d.reference_to = to.iter().map(|v| (*v).to_owned()).collect();
    d.relationship_name = Some(rel.to_owned());
    d.child_relationship = child.map(str::to_owned);
    d
}

pub(super) fn required(mut d: FieldDef) -> FieldDef {
    d.nillable = false;
    d
}

pub(super) fn name_field(mut d: FieldDef) -> FieldDef {
    d.name_field = true;
    d
}

/// Maintained by the server: visible, never writable.
pub(super) fn readonly(mut d: FieldDef) -> FieldDef {
    d.createable = false;
    d.updateable = false;
    d
}

pub(super) fn calculated(d: FieldDef) -> FieldDef {
    let mut d = readonly(d);
    d.calculated = true;
    d
}

pub(super) fn cascade(mut d: FieldDef) -> FieldDef {
    d.cascade_delete = true;
    d
}

pub(super) fn head() -> Vec<FieldDef> {
    let mut id = readonly(f("Id", "Record ID", T::Id));
    id.nillable = false;
    id.defaulted_on_create = true;
    vec![id, readonly(flag("IsDeleted", "Deleted"))]
}

pub(super) fn owner() -> FieldDef {
    let mut d = lookup("OwnerId", "Owner ID", &["User"], "Owner", None);
    d.nillable = false;
    d.defaulted_on_create = true;
    d
}

pub(super) fn audit() -> Vec<FieldDef> {
    let stamp = |name: &str, label: &str| {
        let mut d = readonly(f(name, label, T::Datetime));
        d.nillable = false;
        d.defaulted_on_create = true;
        d
    };
    let by = |name: &str, label: &str, rel: &str| {
        let mut d = readonly(lookup(name, label, &["User"], rel, None));
        d.nillable = false;
        d.defaulted_on_create = true;
        d
    };
    vec![
        stamp("CreatedDate", "Created Date"),
        by("CreatedById", "Created By ID", "CreatedBy"),
        stamp("LastModifiedDate", "Last Modified Date"),
        by("LastModifiedById", "Last Modified By ID", "LastModifiedBy"),
        stamp("SystemModstamp", "System Modstamp"),
    ]
}

pub(super) const GEOCODE: &[&str] = &[
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
];

/// The parts of an address compound (`Billing` → `BillingStreet` ... `BillingAddress`).
pub(super) fn address(prefix: &str, label: &str) -> Vec<FieldDef> {
    let compound = format!("{prefix}Address");
    let mut parts = vec![
        area(&format!("{prefix}Street"), &format!("{label} Street"), 255),
        text(&format!("{prefix}City"), &format!("{label} City"), 40),
        text(
            &format!("{prefix}State"),
            &format!("{label} State/Province"),
            80,
        ),
        text(
            &format!("{prefix}PostalCode"),
            &format!("{label} Zip/Postal Code"),
            20,
        ),
        text(&format!("{prefix}Country"), &format!("{label} Country"), 80),
        num(
            &format!("{prefix}Latitude"),
            &format!("{label} Latitude"),
            T::Double,
            18,
            15,
        ),
        num(
            &format!("{prefix}Longitude"),
            &format!("{label} Longitude"),
            T::Double,
            18,
            15,
        ),
        pick(
            &format!("{prefix}GeocodeAccuracy"),
            &format!("{label} Geocode Accuracy"),
            GEOCODE,
        ),
    ];
    for p in &mut parts {
        p.compound_field_name = Some(compound.clone());
    }
    parts.push(readonly(f(
        &compound,
        &format!("{label} Address"),
        T::Address,
    )));
    parts
}

/// The person-name compound: parts then the computed `Name`.
pub(super) fn person_name(last_required: bool) -> Vec<FieldDef> {
    let mut last = text("LastName", "Last Name", 80);
    last.nillable = !last_required;
    let mut parts = vec![
        last,
        text("FirstName", "First Name", 40),
        pick(
            "Salutation",
            "Salutation",
            &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."],
        ),
        text("MiddleName", "Middle Name", 40),
        text("Suffix", "Name Suffix", 40),
    ];
    for p in &mut parts {
        p.compound_field_name = Some("Name".to_owned());
    }
    let mut name = name_field(readonly(text("Name", "Full Name", 121)));
    name.extra_type_info = Some("personname".to_owned());
    name.nillable = false;
    name.defaulted_on_create = true;
    parts.push(name);
    parts
}

pub(super) const INDUSTRY: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
pub(super) const RATING: &[&str] = &["Hot", "Warm", "Cold"];
pub(super) const SOURCE: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
pub(super) const CLEAN: &[&str] = &[
    "Matched",
    "Different",
    "Acknowledged",
    "NotFound",
    "Inactive",
    "Pending",
    "SelectMatch",
    "Skipped",
];

/// `LastViewedDate` and `LastReferencedDate`, which every object with a tab has.
pub(super) fn views() -> Vec<FieldDef> {
    vec![
        readonly(f("LastViewedDate", "Last Viewed Date", T::Datetime)),
        readonly(f("LastReferencedDate", "Last Referenced Date", T::Datetime)),
    ]
}

/// `MasterRecordId`: the record a merge kept, of the same object.
pub(super) fn master_record(object: &str) -> FieldDef {
    readonly(lookup(
        "MasterRecordId",
        "Master Record ID",
        &[object],
        "MasterRecord",
        None,
    ))
}
