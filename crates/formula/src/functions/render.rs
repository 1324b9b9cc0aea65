//! How values read as text (TEXT(), and `&` of a converted value), as Salesforce prints them.

use crate::Value;

/// `TEXT(value)`: numbers as written (no exponent), dates `YYYY-MM-DD`, date/times
/// `YYYY-MM-DD HH:MM:SSZ` in GMT, times `HH:MM:SS.mmm`, checkboxes `true`/`false`.
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Text(text) => text.clone(),
        Value::Number(number) => number.normalize_if_integral(),
        Value::Checkbox(flag) => flag.to_string(),
        Value::Date(date) => date.format("%Y-%m-%d").to_string(),
        Value::DateTime(instant) => instant.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        Value::Time(time) => time.format("%H:%M:%S%.3f").to_string(),
        Value::Location {
            latitude,
            longitude,
        } => format!("{latitude}, {longitude}"),
    }
}

/// Printing decimals as TEXT() does.
trait DecimalText {
    fn normalize_if_integral(&self) -> String;
}

impl DecimalText for rust_decimal::Decimal {
    fn normalize_if_integral(&self) -> String {
        self.to_string()
    }
}
