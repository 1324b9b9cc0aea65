//! The language's types and values, as the public API shows them.

use rust_decimal::Decimal;

/// A formula's (or a field's) type, as Salesforce's formula language types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// Text, and Text Area, Email, Phone, URL fields.
    Text,
    /// A decimal number.
    Number,
    /// A decimal amount of money.
    Currency,
    /// A decimal percentage (50 means 50%).
    Percent,
    /// A boolean.
    Checkbox,
    /// A calendar date.
    Date,
    /// An instant, in UTC.
    DateTime,
    /// A time of day.
    Time,
    /// A picklist (Text at run time).
    Picklist,
    /// A multi-select picklist (Text `a;b` at run time).
    MultiPicklist,
    /// A record id (Text at run time).
    Id,
    /// A latitude and longitude.
    Geolocation,
}

impl Type {
    /// Whether values of the type are decimals (Number, Currency, Percent).
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Number | Type::Currency | Type::Percent)
    }

    /// Whether values of the type are text at run time (Text, Id; not picklists).
    pub fn is_textual(self) -> bool {
        matches!(self, Type::Text | Type::Id)
    }

    /// The name Salesforce's compile errors give the type.
    pub fn display_name(self) -> &'static str {
        match self {
            Type::Text | Type::Id => "Text",
            Type::Number => "Number",
            Type::Currency => "Currency",
            Type::Percent => "Percent",
            Type::Checkbox => "Boolean",
            Type::Date => "Date",
            Type::DateTime => "DateTime",
            Type::Time => "Time",
            Type::Picklist => "Picklist",
            Type::MultiPicklist => "Multi-Select Picklist",
            Type::Geolocation => "Location",
        }
    }
}

/// A value. Numbers (Number, Currency, Percent) are decimals, never f64. Picklists and Ids are Text
/// at run time; their type is known at compile time.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Blank.
    Null,
    /// Text (also picklists, multi-select picklists and ids). `""` is blank.
    Text(String),
    /// Number, Currency or Percent.
    Number(Decimal),
    /// Checkbox.
    Checkbox(bool),
    /// Date.
    Date(chrono::NaiveDate),
    /// Date/Time.
    DateTime(chrono::DateTime<chrono::Utc>),
    /// Time.
    Time(chrono::NaiveTime),
    /// Geolocation.
    Location {
        /// Degrees north.
        latitude: Decimal,
        /// Degrees east.
        longitude: Decimal,
    },
}

impl Value {
    /// Whether the value is blank as Salesforce sees it: null, or text `""`.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(text) => text.is_empty(),
            _ => false,
        }
    }
}

/// How blank fields read in a formula (`formulaTreatBlanksAs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Blanks {
    /// `BlankAsZero`: a blank number reads 0, a blank text "".
    #[default]
    AsZero,
    /// `BlankAsBlank`: a blank reads blank, and most functions of a blank are blank.
    AsBlank,
}

/// Where a formula is used: it decides which functions are allowed (ISNEW/ISCHANGED/PRIORVALUE/ISCLONE
/// only in Validation and, per Salesforce's "Formula Operators and Functions by Context", not in Field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A formula field.
    Field,
    /// A validation rule.
    Validation,
    /// A default value.
    Default,
}

/// A field as the formula sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldInfo {
    /// Its type.
    pub ty: Type,
    /// Digits after the point, for numeric fields.
    pub scale: u32,
}
