//! The clock every timestamp reads, injectable so tests control time, and the org's own
//! clock over it ([`ControlledClock`]), which the test controls move forward or hold still.

use forcebus_sync::prelude::*;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.locked();
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.locked()
    }
}

/// How far the org's clock is from its base clock: moved forward by `offset_ms`, or held
/// still at `frozen_at_ms` (epoch milliseconds). Time never goes backward: unfreezing
/// resumes from the frozen instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shift {
    /// Added to the base clock.
    pub offset_ms: i64,
    /// While frozen, the time the clock shows.
    pub frozen_at_ms: Option<i64>,
}

/// The org's clock: its base clock (the system's, or a test's) shifted by a [`Shift`].
#[derive(Debug)]
pub struct ControlledClock {
    base: Arc<dyn Clock>,
    shift: Mutex<Shift>,
}

impl ControlledClock {
    /// `base` shifted by `shift`.
    pub fn new(base: Arc<dyn Clock>, shift: Shift) -> Self {
        Self {
            base,
            shift: Mutex::new(shift),
        }
    }

    /// The current shift.
    pub fn shift(&self) -> Shift {
        *self.shift.locked()
    }

    /// The shift after moving the clock forward by `by` (a frozen clock stays frozen, at
    /// the later time); nothing changes until it is [`ControlledClock::set`].
    pub fn advanced(&self, by: Duration) -> Shift {
        let mut s = self.shift();
        let ms = by.num_milliseconds();
        s.offset_ms = s.offset_ms.saturating_add(ms);
        s.frozen_at_ms = s.frozen_at_ms.map(|f| f.saturating_add(ms));
        s
    }

    /// The shift after freezing at the current time (`true`) or resuming from the frozen
    /// instant (`false`); unchanged when already so.
    pub fn frozen(&self, freeze: bool) -> Shift {
        let mut s = self.shift();
        match (freeze, s.frozen_at_ms) {
            (true, None) => s.frozen_at_ms = Some(self.now().timestamp_millis()),
            (false, Some(at)) => {
                s.offset_ms = at.saturating_sub(self.base.now().timestamp_millis());
                s.frozen_at_ms = None;
            }
            _ => {}
        }
        s
    }

    /// Applies a shift computed by [`ControlledClock::advanced`] or
    /// [`ControlledClock::frozen`].
    pub fn set(&self, shift: Shift) {
        *self.shift.locked() = shift;
    }
}

impl Clock for ControlledClock {
    fn now(&self) -> DateTime<Utc> {
        let s = self.shift();
        let ms = match s.frozen_at_ms {
            Some(at) => at,
            None => self
                .base
                .now()
                .timestamp_millis()
                .saturating_add(s.offset_ms),
        };
        DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// Formats a datetime as Salesforce's REST API does: `2024-05-01T12:34:56.000+0000`.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Arc<ManualClock> {
        Arc::new(ManualClock::new("2024-05-01T00:00:00Z".parse().unwrap()))
    }

    #[test]
    fn advancing_moves_the_clock_and_freezing_holds_it_without_going_back() {
        let b = base();
        let c = ControlledClock::new(b.clone(), Shift::default());
        let start = c.now();
        c.set(c.advanced(Duration::hours(73)));
        assert_eq!(c.now() - start, Duration::hours(73));
        c.set(c.frozen(true));
        let held = c.now();
        b.advance(Duration::minutes(5));
        assert_eq!(c.now(), held, "a frozen clock does not move with its base");
        c.set(c.advanced(Duration::seconds(30)));
        assert_eq!(
            c.now() - held,
            Duration::seconds(30),
            "advancing moves a frozen clock"
        );
        c.set(c.frozen(false));
        assert_eq!(
            c.now() - held,
            Duration::seconds(30),
            "unfreezing resumes, not jumps"
        );
        b.advance(Duration::seconds(1));
        assert_eq!(c.now() - held, Duration::seconds(31));
    }
}
