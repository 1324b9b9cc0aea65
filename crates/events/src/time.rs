//! Stored date and datetime text (`2024-05-01`, `2024-05-01T12:34:56.000+0000`) to the
//! forms the wire shows: Avro's epoch numbers and CometD's ISO text in UTC.

use chrono::{DateTime, NaiveDate};

/// `2024-05-01T12:34:56.000+0000` to epoch milliseconds.
pub(crate) fn millis(s: &str) -> Option<i64> {
    stored_millis(s).or_else(|| {
        DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

/// The stored form, exactly `YYYY-MM-DDTHH:MM:SS.mmm±hhmm`, read by position: every
/// event rendered to Avro converts its datetimes, and a format-string parse is most of
/// that cost. Anything else is left to the general parse.
pub(crate) fn stored_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 28
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || !matches!(b[23], b'+' | b'-')
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let (hh, mm) = (num(24, 26)?, num(26, 28)?);
    if hh > 23 || mm > 59 {
        return None;
    }
    let offset = i64::from(hh * 60 + mm) * 60_000;
    let utc = date
        .and_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?
        .and_utc()
        .timestamp_millis();
    Some(if b[23] == b'+' {
        utc - offset
    } else {
        utc + offset
    })
}

/// `2024-05-01` to days since 1970-01-01.
pub(crate) fn days(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

/// Days since 1970-01-01 to `2024-05-01`.
pub(crate) fn date_text(days: i64) -> Option<String> {
    let d =
        NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days))?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// Epoch milliseconds to the stored datetime form, `2024-05-01T12:34:56.000+0000`.
pub(crate) fn datetime_text(ms: i64) -> Option<String> {
    let t = DateTime::from_timestamp_millis(ms)?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
}

/// A stored datetime (`2024-05-02T08:55:27.000+0000`) as CometD shows it (`…27.000Z`).
pub(crate) fn iso_z(s: &str) -> String {
    s.strip_suffix("+0000")
        .map_or_else(|| s.to_owned(), |t| format!("{t}Z"))
}

#[cfg(test)]
mod tests {
    use super::{millis, stored_millis};
    use chrono::DateTime;
    use proptest::prelude::*;

    proptest! {
        /// The positional reading of a stored datetime agrees with chrono's parse, for
        /// any instant and offset.
        #[test]
        fn stored_datetimes_read_by_position_as_chrono_reads_them(
            secs in -2_208_988_800i64..4_102_444_800,
            ms in 0i64..1000,
            offset_min in -840i32..=840,
        ) {
            let tz = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let t = DateTime::from_timestamp_millis(secs * 1000 + ms).unwrap().with_timezone(&tz);
            let text = t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
            prop_assert_eq!(stored_millis(&text), Some(t.timestamp_millis()), "{}", text);
            prop_assert_eq!(millis(&text), Some(t.timestamp_millis()));
        }
    }

    #[test]
    fn other_forms_fall_back_or_fail() {
        assert_eq!(stored_millis("2024-05-01T12:34:56Z"), None);
        assert_eq!(
            millis("2024-05-01T12:34:56.5+0000"),
            Some(1_714_566_896_500)
        );
        assert_eq!(stored_millis("2024-13-01T12:34:56.000+0000"), None);
        assert_eq!(stored_millis("2024-05-01T12:34:56.000+2400"), None);
        assert_eq!(stored_millis("2024-05-01T1x:34:56.000+0000"), None);
        assert_eq!(millis("not a date"), None);
    }
}
