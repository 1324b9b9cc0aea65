//! Calendar arithmetic and the text forms DATEVALUE, DATETIMEVALUE and TIMEVALUE read.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime};

/// The date `year-month-day`, when it exists.
pub(crate) fn ymd(year: i64, month: i64, day: i64) -> Option<NaiveDate> {
    let year = i32::try_from(year)
        .ok()
        .filter(|y| (1..=9999).contains(y))?;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// `date` moved by `months`; a day past the end of the new month is its last day, and the
/// last day of a month stays the last day (Salesforce's ADDMONTHS).
pub(crate) fn add_months(date: NaiveDate, months: i64) -> Option<NaiveDate> {
    let magnitude = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    let moved = if months >= 0 {
        date.checked_add_months(magnitude)
    } else {
        date.checked_sub_months(magnitude)
    }?;
    let last_day = date
        .succ_opt()
        .is_none_or(|next| next.month() != date.month());
    if last_day {
        return last_of_month(moved);
    }
    Some(moved)
}

fn last_of_month(date: NaiveDate) -> Option<NaiveDate> {
    let first = date.with_day(1)?;
    first.checked_add_months(Months::new(1))?.pred_opt()
}

/// Splits `text` on `separator` into numbers of 1 to `max_digits` digits each.
fn numbers(text: &str, separator: char, max_digits: usize) -> Option<Vec<i64>> {
    text.split(separator)
        .map(|part| {
            let ok = !part.is_empty()
                && part.len() <= max_digits
                && part.chars().all(|c| c.is_ascii_digit());
            ok.then(|| part.parse().ok()).flatten()
        })
        .collect()
}

/// `YYYY-MM-DD` (months and days may have one digit).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.split('-').next().is_none_or(|year| year.len() != 4) {
        return None;
    }
    let parts = numbers(text, '-', 4)?;
    let [year, month, day] = parts[..] else {
        return None;
    };
    ymd(year, month, day)
}

/// `HH:MM:SS[.mmm]` (hours, minutes and seconds may have one digit).
pub(crate) fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    let (clock, millis) = match text.split_once('.') {
        Some((clock, fraction)) => {
            let digits = numbers(fraction, '.', 3)?;
            let scale = [100, 10, 1][fraction.len() - 1];
            (clock, digits[0] * scale)
        }
        None => (text, 0),
    };
    let parts = numbers(clock, ':', 2)?;
    let (hour, minute, second) = match parts[..] {
        [h, m, s] => (h, m, s),
        [h, m] => (h, m, 0),
        _ => return None,
    };
    let hms = |v: i64| u32::try_from(v).ok();
    NaiveTime::from_hms_milli_opt(hms(hour)?, hms(minute)?, hms(second)?, hms(millis)?)
}

/// `YYYY-MM-DD HH:MM:SS` in GMT, or a bare date at midnight.
pub(crate) fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    match text.split_once(' ') {
        Some((date, time)) => Some(parse_date(date)?.and_time(parse_time(time.trim())?)),
        None => Some(parse_date(text)?.and_hms_opt(0, 0, 0)?),
    }
}
