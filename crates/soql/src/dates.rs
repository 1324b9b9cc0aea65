//! Relative date literals (`TODAY`, `LAST_N_DAYS:7`, ...) as half-open UTC ranges, and the
//! date functions (`CALENDAR_YEAR()`, ...). The user's time zone is UTC, weeks start on
//! Sunday (en_US), and the fiscal year is the calendar year; so `convertTimezone()`, which
//! puts a datetime in the user's time zone inside a date function, changes nothing.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Timelike, Utc};

use crate::ast::DateFunc;

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64))
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
    }
    .unwrap_or(d)
}

fn add_months(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_months(Months::new(n as u32))
    } else {
        d.checked_sub_months(Months::new(n.unsigned_abs() as u32))
    }
    .unwrap_or(d)
}

fn week_start(d: NaiveDate) -> NaiveDate {
    add_days(d, -(d.weekday().num_days_from_sunday() as i64))
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).expect("quarter start exists")
}

fn year_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).expect("January 1 exists")
}

/// The range a date literal stands for at `now`: `[start, end)`. `None` for unknown names.
pub fn range(
    name: &str,
    n: Option<i64>,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = now.date_naive();
    let n = n.unwrap_or(1);
    let span = |start: NaiveDate, end: NaiveDate| Some((midnight(start), midnight(end)));
    let name = name.replace("_FISCAL", "");
    let (unit_start, step): (NaiveDate, fn(NaiveDate, i64) -> NaiveDate) = match name.as_str() {
        "YESTERDAY" => return span(add_days(today, -1), today),
        "TODAY" => return span(today, add_days(today, 1)),
        "TOMORROW" => return span(add_days(today, 1), add_days(today, 2)),
        "LAST_90_DAYS" => return span(add_days(today, -90), add_days(today, 1)),
        "NEXT_90_DAYS" => return span(add_days(today, 1), add_days(today, 91)),
        "LAST_N_DAYS" => return span(add_days(today, -n), add_days(today, 1)),
        "NEXT_N_DAYS" => return span(add_days(today, 1), add_days(today, 1 + n)),
        "N_DAYS_AGO" => return span(add_days(today, -n), add_days(today, -n + 1)),
        s if s.contains("WEEK") => (week_start(today), |d, k| add_days(d, 7 * k)),
        s if s.contains("MONTH") => (month_start(today), add_months),
        s if s.contains("QUARTER") => (quarter_start(today), |d, k| add_months(d, 3 * k)),
        s if s.contains("YEAR") => (year_start(today), |d, k| add_months(d, 12 * k)),
        _ => return None,
    };
    let (from, to) = match name.split('_').next()? {
        "LAST" if name.contains("_N_") => (-n, 0),
        "NEXT" if name.contains("_N_") => (1, 1 + n),
        "N" => (-n, -n + 1),
        "LAST" => (-1, 0),
        "THIS" => (0, 1),
        "NEXT" => (1, 2),
        _ => return None,
    };
    span(step(unit_start, from), step(unit_start, to))
}

/// The value of a date function for an instant (dates are taken at midnight UTC).
pub fn apply(f: DateFunc, t: DateTime<Utc>) -> FnValue {
    let d = t.date_naive();
    let n = |v: u32| FnValue::Num(v as f64);
    match f {
        DateFunc::CalendarMonth | DateFunc::FiscalMonth => n(d.month()),
        DateFunc::CalendarQuarter | DateFunc::FiscalQuarter => n(d.month0() / 3 + 1),
        DateFunc::CalendarYear | DateFunc::FiscalYear => FnValue::Num(d.year() as f64),
        DateFunc::DayInMonth => n(d.day()),
        DateFunc::DayInWeek => n(d.weekday().num_days_from_sunday() + 1),
        DateFunc::DayInYear => n(d.ordinal()),
        DateFunc::DayOnly => FnValue::Date(d),
        DateFunc::HourInDay => n(t.hour()),
        DateFunc::WeekInMonth => n((d.day() - 1) / 7 + 1),
        DateFunc::WeekInYear => n((d.ordinal() - 1) / 7 + 1),
    }
}

/// What a date function yields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FnValue {
    /// A number (year, month, ...).
    Num(f64),
    /// A date (`DAY_ONLY`).
    Date(NaiveDate),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn r(name: &str, n: Option<i64>) -> (String, String) {
        let (a, b) = range(name, n, at("2024-05-15T10:30:00Z")).unwrap();
        (
            a.format("%Y-%m-%d").to_string(),
            b.format("%Y-%m-%d").to_string(),
        )
    }

    #[test]
    fn ranges_on_wednesday_may_15_2024() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(r("TODAY", None), s("2024-05-15", "2024-05-16"));
        assert_eq!(r("YESTERDAY", None), s("2024-05-14", "2024-05-15"));
        assert_eq!(
            r("LAST_N_DAYS", Some(1)),
            s("2024-05-14", "2024-05-16"),
            "yesterday and today"
        );
        assert_eq!(
            r("NEXT_N_DAYS", Some(2)),
            s("2024-05-16", "2024-05-18"),
            "today left out"
        );
        assert_eq!(r("N_DAYS_AGO", Some(3)), s("2024-05-12", "2024-05-13"));
        assert_eq!(
            r("THIS_WEEK", None),
            s("2024-05-12", "2024-05-19"),
            "Sunday start"
        );
        assert_eq!(r("LAST_WEEK", None), s("2024-05-05", "2024-05-12"));
        assert_eq!(r("NEXT_N_WEEKS", Some(2)), s("2024-05-19", "2024-06-02"));
        assert_eq!(r("THIS_MONTH", None), s("2024-05-01", "2024-06-01"));
        assert_eq!(r("LAST_N_MONTHS", Some(2)), s("2024-03-01", "2024-05-01"));
        assert_eq!(r("N_MONTHS_AGO", Some(1)), s("2024-04-01", "2024-05-01"));
        assert_eq!(r("THIS_QUARTER", None), s("2024-04-01", "2024-07-01"));
        assert_eq!(r("LAST_QUARTER", None), s("2024-01-01", "2024-04-01"));
        assert_eq!(r("NEXT_N_QUARTERS", Some(2)), s("2024-07-01", "2025-01-01"));
        assert_eq!(r("THIS_YEAR", None), s("2024-01-01", "2025-01-01"));
        assert_eq!(r("LAST_N_YEARS", Some(2)), s("2022-01-01", "2024-01-01"));
        assert_eq!(r("NEXT_FISCAL_YEAR", None), s("2025-01-01", "2026-01-01"));
        assert_eq!(r("LAST_90_DAYS", None), s("2024-02-15", "2024-05-16"));
        assert!(range("SOMEDAY", None, at("2024-05-15T00:00:00Z")).is_none());
    }

    #[test]
    fn date_functions() {
        let t = at("2024-05-15T10:30:00Z");
        assert_eq!(apply(DateFunc::CalendarYear, t), FnValue::Num(2024.0));
        assert_eq!(apply(DateFunc::CalendarQuarter, t), FnValue::Num(2.0));
        assert_eq!(
            apply(DateFunc::DayInWeek, t),
            FnValue::Num(4.0),
            "Wednesday; Sunday is 1"
        );
        assert_eq!(apply(DateFunc::HourInDay, t), FnValue::Num(10.0));
        assert_eq!(apply(DateFunc::WeekInMonth, t), FnValue::Num(3.0));
        assert_eq!(
            apply(DateFunc::DayOnly, t),
            FnValue::Date(NaiveDate::from_ymd_opt(2024, 5, 15).unwrap())
        );
    }
}
