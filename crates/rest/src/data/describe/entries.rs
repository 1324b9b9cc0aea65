//! An object's describeGlobal entry and the URLs it lists, and the entries and describes
//! of change events and platform events, which describe builds from them.

use std::borrow::Cow;

use forcebus_org::platform::EventDef;
use forcebus_org::{FieldDef, ObjectDef};

use super::fields;
use crate::shapes::describe::{
    DescribeGlobalSObjectResult, DescribedUrls, EventDescribe, EventUrls, ObjectUrls, Urls,
};
use crate::shapes::field::Field;

/// An object's URLs under `base`; `described` adds those only its describe lists.
pub(super) fn object_urls(base: &str, o: &ObjectDef, described: bool) -> Urls {
    let root = format!("{base}/sobjects/{}", o.name);
    Urls::Object(ObjectUrls {
        row_template: format!("{root}/{{ID}}"),
        default_values: format!("{root}/defaultValues?recordTypeId&fields"),
        describe: format!("{root}/describe"),
        described: described.then(|| DescribedUrls {
            compact_layouts: format!("{root}/describe/compactLayouts"),
            approval_layouts: format!("{root}/describe/approvalLayouts"),
            ui_detail_template: (),
            ui_edit_template: (),
            listviews: format!("{root}/listviews"),
            layouts: format!("{root}/describe/layouts"),
            quick_actions: format!("{root}/quickActions"),
            ui_new_record: (),
        }),
        sobject: root,
    })
}

/// The describeGlobal entry of an object, its URLs under `base`.
pub(crate) fn global_entry<'a>(base: &str, o: &'a ObjectDef) -> DescribeGlobalSObjectResult<'a> {
    DescribeGlobalSObjectResult {
        activateable: false,
        associate_entity_type: None,
        associate_parent_entity: None,
        createable: o.createable,
        custom: o.custom,
        custom_setting: false,
        deep_cloneable: false,
        deletable: o.deletable,
        deprecated_and_hidden: false,
        feed_enabled: !o.custom,
        has_subtypes: false,
        id_enabled: true,
        is_interface: false,
        is_subtype: false,
        key_prefix: Some(o.key_prefix.as_str()).filter(|p| !p.is_empty()),
        label: Cow::Borrowed(&o.label),
        label_plural: Cow::Borrowed(&o.label_plural),
        layoutable: true,
        mergeable: matches!(o.name.as_str(), "Account" | "Contact" | "Lead" | "Case"),
        mru_enabled: true,
        name: Cow::Borrowed(&o.name),
        queryable: o.queryable,
        replicateable: true,
        retrieveable: true,
        searchable: true,
        triggerable: true,
        undeletable: o.name != "User",
        updateable: o.updateable,
        urls: object_urls(base, o, false),
    }
}

/// The describeGlobal entry of an object's change events.
pub(crate) fn change_entry<'a>(base: &str, o: &'a ObjectDef) -> DescribeGlobalSObjectResult<'a> {
    let name = forcebus_events::change::entity_name_of(o);
    let mut e = global_entry(base, o);
    e.label = Cow::Owned(format!("{} Change Event", o.label));
    e.label_plural = Cow::Owned(format!("{} Change Events", o.label));
    e.associate_entity_type = Some("ChangeEvent");
    e.associate_parent_entity = Some(&o.name);
    e.key_prefix = None;
    as_event(&mut e, base, &name);
    e.name = Cow::Owned(name);
    e
}

/// What change events and platform events share in describeGlobal: no record operations
/// (platform events add `createable`, for publishing), triggerable, an `eventSchema` URL.
fn as_event(e: &mut DescribeGlobalSObjectResult<'_>, base: &str, name: &str) {
    e.createable = false;
    e.deletable = false;
    e.updateable = false;
    e.queryable = false;
    e.searchable = false;
    e.layoutable = false;
    e.mergeable = false;
    e.mru_enabled = false;
    e.replicateable = false;
    e.retrieveable = false;
    e.undeletable = false;
    e.feed_enabled = false;
    e.triggerable = true;
    e.urls = Urls::Event(EventUrls {
        event_schema: format!("{base}/sobjects/{name}/eventSchema"),
        sobject: format!("{base}/sobjects/{name}"),
        describe: format!("{base}/sobjects/{name}/describe"),
    });
}

/// The describe of an object's change events: the header, then the fields events carry,
/// none of them writable; `fields` holds their definitions, which it borrows.
pub(super) fn change_describe<'a>(
    base: &str,
    o: &'a ObjectDef,
    fields: &'a [FieldDef],
) -> EventDescribe<'a> {
    let read_only = |f: &'a FieldDef| Field {
        createable: false,
        updateable: false,
        ..fields::describe(f)
    };
    let mut described: Vec<Field<'a>> = fields[1..].iter().map(read_only).collect();
    let header = Field {
        kind: "complexvalue",
        soap_type: "tns:ChangeEventHeader",
        ..read_only(&fields[0])
    };
    described.insert(2, header);
    EventDescribe {
        entry: change_entry(base, o),
        fields: described,
        child_relationships: [],
        record_type_infos: [],
        action_overrides: [],
        named_layout_infos: [],
        supported_scopes: [],
    }
}

/// What a change event's describe lists of `o`: its header first, then its `Id`, its
/// `ReplayId` and the fields its events carry.
pub(super) fn change_event_fields(o: &ObjectDef) -> Vec<FieldDef> {
    use forcebus_events::change::{EventField, event_fields};
    use forcebus_meta::FieldType;
    let header = FieldDef::new(
        "ChangeEventHeader",
        "Change Event Header",
        FieldType::AnyType,
    );
    let mut id = FieldDef::new("Id", "Change Event ID", FieldType::Id);
    id.nillable = false;
    let mut replay = FieldDef::new("ReplayId", "Replay ID", FieldType::String);
    replay.length = 255;
    let mut fields = vec![header, id, replay];
    for ef in event_fields(o) {
        match ef {
            EventField::Scalar(f) => fields.push(f.clone()),
            EventField::Compound { name, .. } => {
                if let Some(f) = o.field(&name) {
                    fields.push(f.clone());
                }
            }
        }
    }
    fields
}

/// The describeGlobal entry of a platform event.
pub(crate) fn event_global_entry<'a>(
    base: &str,
    def: &'a EventDef,
) -> DescribeGlobalSObjectResult<'a> {
    let o = &def.object;
    let mut e = global_entry(base, o);
    as_event(&mut e, base, &o.name);
    e.createable = true;
    e.activateable = false;
    e.custom = true;
    e.custom_setting = false;
    e
}

/// The describe of a platform event.
pub(super) fn event_describe<'a>(base: &str, def: &'a EventDef) -> EventDescribe<'a> {
    EventDescribe {
        entry: event_global_entry(base, def),
        fields: def.object.fields.iter().map(fields::describe).collect(),
        child_relationships: [],
        record_type_infos: [],
        action_overrides: [],
        named_layout_infos: [],
        supported_scopes: [],
    }
}
