//! Platform event schemas (`pubsub-api.md` §5.2): `CreatedDate` (`long`, epoch ms) and
//! `CreatedById` (`string`) first, then the event's custom fields in definition order,
//! each `["null", T]`. `EventUuid` and `ReplayId` are not schema fields.

use std::sync::Arc;

use forcebus_meta::{FieldType, ObjectDef};

use crate::change::{NAMESPACE, avro_type};
use crate::schema::{Field, RecordSchema, Schema};

fn kind(t: FieldType) -> &'static str {
    match t {
        FieldType::Boolean => "Checkbox",
        FieldType::Date => "Date",
        FieldType::Datetime => "DateTime",
        FieldType::Double | FieldType::Int | FieldType::Currency | FieldType::Percent => "Number",
        FieldType::Textarea => "LongTextArea",
        _ => "Text",
    }
}

/// The schema of a platform event (`Order_Shipped__e`).
pub fn event_schema(event: &ObjectDef) -> Schema {
    let mut fields = vec![
        Field::new("CreatedDate", Schema::Long).doc("CreatedDate:DateTime"),
        Field::new("CreatedById", Schema::String).doc("CreatedBy:EntityId"),
    ];
    for f in event.fields.iter().filter(|f| f.custom) {
        fields.push(Field::nullable(&f.name, avro_type(f)).doc(&format!("Data:{}", kind(f.ftype))));
    }
    Schema::Record(Arc::new(RecordSchema {
        name: event.name.clone(),
        namespace: Some(NAMESPACE.into()),
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use forcebus_meta::FieldDef;
    use serde_json::json;

    #[test]
    fn matches_the_shape_of_a_real_org_schema() {
        let mut message = FieldDef::new("Message__c", "Message", FieldType::String);
        message.custom = true;
        let event = ObjectDef::new(
            "CamelEventMessage__e",
            "Camel Event Message",
            "Camel Event Messages",
            "e00",
            vec![message],
        );
        let json = event_schema(&event).to_json();
        assert_eq!(
            json,
            json!({"type": "record", "name": "CamelEventMessage__e", "namespace": "com.sforce.eventbus", "fields": [
                {"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
                {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"},
                {"name": "Message__c", "type": ["null", "string"], "doc": "Data:Text", "default": null},
            ]})
        );
    }
}
