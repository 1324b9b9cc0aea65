//! A field as describe shows it: the `fields` entries of an object's describe (and of a
//! layout's `details`).

use serde_json::{Value, json};

use forcebus_org::{FieldDef, FieldType};

fn byte_length(f: &FieldDef) -> u32 {
    match f.ftype {
        FieldType::Id | FieldType::Reference => 18,
        t if t.is_text() || t == FieldType::Textarea => f.length * 3,
        _ => 0,
    }
}

pub(crate) fn field_json(f: &FieldDef) -> Value {
    let text = f.ftype.is_text();
    // A custom master-detail field (the catalogue's standard ones describe as lookups).
    let master_detail = f.custom && f.ftype == FieldType::Reference && f.cascade_delete;
    let long_text = f.ftype == FieldType::Textarea && f.length > 255;
    let picklist: Vec<Value> = f
        .picklist
        .iter()
        .map(|v| json!({"active": true, "defaultValue": f.default_picklist.as_deref() == Some(v.as_str()), "label": v, "validFor": null, "value": v}))
        .collect();
    let default_value = match (&f.default_value, f.ftype) {
        (Some(v), _) => v.clone(),
        (None, FieldType::Boolean) => json!(false),
        _ => Value::Null,
    };
    json!({
        "aggregatable": !long_text && !matches!(f.ftype, FieldType::Boolean | FieldType::Address | FieldType::Location | FieldType::Multipicklist),
        "aiPredictionField": false,
        "autoNumber": f.name == "CaseNumber",
        "byteLength": byte_length(f),
        "calculated": f.calculated,
        "calculatedFormula": null,
        "cascadeDelete": master_detail,
        "caseSensitive": false,
        "compoundFieldName": f.compound_field_name,
        "controllerName": null,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default_value,
        "defaultValueFormula": null,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": f.digits,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info,
        "filterable": !long_text && f.ftype != FieldType::Address,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": !long_text && !matches!(f.ftype, FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Datetime | FieldType::Address | FieldType::Location),
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": f.name == "Id" || f.external_id || f.name == "Username" || (f.name_field && text),
        "inlineHelpText": null,
        "label": f.label,
        "length": f.length,
        "mask": null,
        "maskType": null,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.reference_to.len() > 1,
        "nillable": f.nillable,
        "permissionable": f.nillable && f.createable && !f.name_field,
        "picklistValues": picklist,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "precision": f.precision,
        "queryByDistance": false,
        "referenceTargetField": null,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name,
        "relationshipOrder": master_detail.then_some(0),
        "restrictedDelete": false,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": f.ftype == FieldType::Reference,
        "soapType": f.ftype.soap_type(),
        "sortable": !long_text && !matches!(f.ftype, FieldType::Address | FieldType::Location | FieldType::Multipicklist),
        "type": f.ftype.name(),
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": false,
    })
}
