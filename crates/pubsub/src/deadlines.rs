//! The times a Subscribe or ManagedSubscribe stream's loop keeps (`flow`): when its next
//! keepalive, the mode's next check and its idle end are due, so that one timer, reset to
//! the earliest, serves all three.

use std::time::Duration;

use tokio::time::Instant;

/// The times a stream's loop keeps: when a keepalive, the mode's next check and the idle
/// end are due.
pub(crate) struct Deadlines {
    keepalive: Duration,
    idle_timeout: Duration,
    check_every: Option<Duration>,
    /// When a response last went out.
    pub(crate) last_sent: Instant,
    /// When the client last had nothing outstanding to wait for: its last request, or
    /// the moment its credit ran out.
    pub(crate) idle_since: Instant,
    next_check: Option<Instant>,
}

/// What is due when the loop's timer fires.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Due {
    pub(crate) keepalive: bool,
    pub(crate) check: bool,
    pub(crate) idle: bool,
}

impl Deadlines {
    pub(crate) fn new(config: &crate::PubSubConfig, check_every: Option<Duration>) -> Self {
        let now = Instant::now();
        Self {
            keepalive: config.keepalive,
            idle_timeout: config.idle_timeout,
            check_every,
            last_sent: now,
            idle_since: now,
            next_check: check_every.map(|d| now + d),
        }
    }

    /// The earliest of what can fall due: with credit the keepalive, without it the idle
    /// end; and the mode's check.
    pub(crate) fn next(&self, credit: bool) -> Instant {
        let due = if credit {
            self.last_sent + self.keepalive
        } else {
            self.idle_since + self.idle_timeout
        };
        self.next_check.map_or(due, |at| at.min(due))
    }

    /// What is due at `now`.
    pub(crate) fn due(&self, now: Instant, credit: bool) -> Due {
        Due {
            keepalive: credit && now >= self.last_sent + self.keepalive,
            check: self.next_check.is_some_and(|at| now >= at),
            idle: !credit && now >= self.idle_since + self.idle_timeout,
        }
    }

    /// The mode was checked at `now`: the next check is a period later.
    pub(crate) fn checked(&mut self, now: Instant) {
        self.next_check = self.check_every.map(|d| now + d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deadlines whose client last had nothing outstanding 100 s after the last response
    /// (so a swap of the two clocks shows).
    fn deadlines(check_every: Option<Duration>) -> Deadlines {
        let config = crate::PubSubConfig {
            keepalive: Duration::from_secs(270),
            idle_timeout: Duration::from_secs(500),
            ..Default::default()
        };
        let mut at = Deadlines::new(&config, check_every);
        at.idle_since = at.last_sent + Duration::from_secs(100);
        at
    }

    #[test]
    fn the_timer_is_due_at_the_keepalive_with_credit_and_at_the_idle_end_without() {
        let at = deadlines(None);
        let start = at.last_sent;
        assert_eq!(at.next(true), start + Duration::from_secs(270));
        assert_eq!(at.next(false), start + Duration::from_secs(600));
        let nothing = Due {
            keepalive: false,
            check: false,
            idle: false,
        };
        assert_eq!(at.due(start + Duration::from_secs(269), true), nothing);
        assert_eq!(
            at.due(start + Duration::from_secs(270), true),
            Due {
                keepalive: true,
                ..nothing
            }
        );
        // Without credit there is no keepalive, and the idle end waits for its time.
        assert_eq!(at.due(start + Duration::from_secs(599), false), nothing);
        assert_eq!(
            at.due(start + Duration::from_secs(600), false),
            Due {
                idle: true,
                ..nothing
            }
        );
        // With credit a stream never idles out.
        assert!(!at.due(start + Duration::from_secs(6000), true).idle);
    }

    #[test]
    fn a_mode_check_due_first_sets_the_timer_and_moves_on_once_done() {
        let mut at = deadlines(Some(Duration::from_secs(5)));
        let start = at.last_sent;
        assert_eq!(at.next(true), start + Duration::from_secs(5));
        assert_eq!(at.next(false), start + Duration::from_secs(5));
        let due = at.due(start + Duration::from_secs(5), true);
        assert!(due.check && !due.keepalive && !due.idle, "{due:?}");
        at.checked(start + Duration::from_secs(5));
        assert_eq!(at.next(true), start + Duration::from_secs(10));
        assert!(!at.due(start + Duration::from_secs(9), true).check);
        // A keepalive due before the next check comes first.
        at.keepalive = Duration::from_secs(2);
        assert_eq!(at.next(true), start + Duration::from_secs(2));
        assert_eq!(at.next(false), start + Duration::from_secs(10));
    }
}
