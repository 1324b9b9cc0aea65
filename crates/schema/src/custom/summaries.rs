//! Roll-up summary fields and field history settled against the whole schema, once every
//! object is known: a summary's child, its master-detail key and the field it aggregates
//! checked, and its type taken from that field (a count is a whole number); an object's
//! tracked fields counted against Salesforce's limit.

use forcebus_meta::{FieldType, Schema, SummaryOp};

/// Most fields one object's history tracks (Salesforce's limit).
pub const MAX_TRACKED_FIELDS: usize = 20;

/// What a summary field becomes: its type, precision and scale, and its child's name as
/// the schema spells it.
struct Settled {
    object: String,
    field: String,
    ftype: FieldType,
    precision: u32,
    scale: u32,
    child: String,
}

/// A field (or an object, when `field` is empty) the schema cannot settle, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsettled {
    /// The object.
    pub object: String,
    /// The field; empty for the object's own problem.
    pub field: String,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for Unsettled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field.as_str() {
            "" => write!(f, "{}: {}", self.object, self.why),
            field => write!(f, "{}.{field}: {}", self.object, self.why),
        }
    }
}

/// Settles every summary field of `schema`; what cannot be settled is a problem each,
/// its field left a number.
pub fn resolve_summaries(schema: &mut Schema) -> Vec<Unsettled> {
    let mut problems = Vec::new();
    let mut settled = Vec::new();
    for o in schema.objects() {
        let tracked = o.fields.iter().filter(|f| f.track_history).count();
        if tracked > MAX_TRACKED_FIELDS {
            problems.push(Unsettled {
                object: o.name.clone(),
                field: String::new(),
                why: format!("at most {MAX_TRACKED_FIELDS} fields may track history; {tracked} do"),
            });
        }
        for f in &o.fields {
            let Some(s) = &f.summary else { continue };
            match settle(schema, &o.name, s) {
                Ok((ftype, precision, scale, child)) => settled.push(Settled {
                    object: o.name.clone(),
                    field: f.name.clone(),
                    ftype,
                    precision,
                    scale,
                    child,
                }),
                Err(why) => problems.push(Unsettled {
                    object: o.name.clone(),
                    field: f.name.clone(),
                    why,
                }),
            }
        }
    }
    for s in settled {
        let Some(f) = schema
            .object_mut(&s.object)
            .and_then(|o| o.fields.iter_mut().find(|f| f.name == s.field))
        else {
            continue;
        };
        f.ftype = s.ftype;
        f.precision = s.precision;
        f.scale = s.scale;
        if let Some(summary) = f.summary.as_mut() {
            summary.child = s.child;
        }
    }
    problems
}

/// A summary of `parent` checked: its type, precision and scale, and its child's name.
fn settle(
    schema: &Schema,
    parent: &str,
    s: &forcebus_meta::SummaryDef,
) -> Result<(FieldType, u32, u32, String), String> {
    let child = schema
        .object(&s.child)
        .ok_or_else(|| format!("no object named {}", s.child))?;
    child
        .field(&s.key)
        .filter(|k| k.ftype == FieldType::Reference && k.cascade_delete)
        .filter(|k| {
            k.reference_to
                .iter()
                .any(|t| t.eq_ignore_ascii_case(parent))
        })
        .ok_or_else(|| {
            format!(
                "{}.{} is not a master-detail relationship to {parent}",
                child.name, s.key
            )
        })?;
    for item in &s.filters {
        if child.field(&item.field).is_none() {
            return Err(format!("no field {}.{}", child.name, item.field));
        }
    }
    let Some(name) = &s.field else {
        return Ok((FieldType::Double, 18, 0, child.name.clone()));
    };
    let f = child
        .field(name)
        .ok_or_else(|| format!("no field {}.{name}", child.name))?;
    let numeric = matches!(
        f.ftype,
        FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Int
            | FieldType::Long
    );
    let dated = matches!(f.ftype, FieldType::Date | FieldType::Datetime);
    match (s.op, numeric, dated) {
        (_, true, _) if s.op != SummaryOp::Count => {
            let ftype = match f.ftype {
                FieldType::Int | FieldType::Long => FieldType::Double,
                t => t,
            };
            let precision = if f.precision == 0 { 18 } else { f.precision };
            Ok((ftype, precision, f.scale, child.name.clone()))
        }
        (SummaryOp::Min | SummaryOp::Max, _, true) => Ok((f.ftype, 0, 0, child.name.clone())),
        _ => Err(format!(
            "a {} summary cannot aggregate {}.{name}, a {} field",
            s.op.name(),
            child.name,
            f.ftype.name()
        )),
    }
}
