//! Model-based test: random appends (some whose commit fails), reads on several channels
//! from every kind of start, clock advances, expiries and restarts, against a plain model.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use forcebus_eventlog::{Channel, EventLog, LogConfig, LogError, NewEvent, Start};
use forcebus_store::{Batch, SqliteStore, Store};
use proptest::prelude::*;

const KINDS: [(&str, u8); 3] = [("A", 0), ("B", 0), ("C", 1)];
const CHANNELS: [(&[&str], u8); 3] = [(&["A"], 0), (&["A", "B"], 0), (&["C"], 1)];
const RETENTION: [i64; 2] = [1000, 300];
const MAX_BYTES: u64 = 600;

#[derive(Debug, Clone)]
enum Action {
    Append(Vec<(usize, usize)>, bool),
    Advance(i64),
    Expire,
    Read(usize, StartAt, usize),
    Restart,
}

#[derive(Debug, Clone, Copy)]
enum StartAt {
    Latest,
    Earliest,
    After(u64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (prop::collection::vec((0..3usize, 0..80usize), 1..4), prop::bool::weighted(0.9)).prop_map(|(e, ok)| Action::Append(e, ok)),
        2 => (1i64..400).prop_map(Action::Advance),
        1 => Just(Action::Expire),
        3 => (0..3usize, prop_oneof![Just(StartAt::Latest), Just(StartAt::Earliest), (0u64..40).prop_map(StartAt::After)], 1..5usize).prop_map(|(c, s, m)| Action::Read(c, s, m)),
        1 => Just(Action::Restart),
    ]
}

#[derive(Debug, Clone)]
struct Ev {
    id: u64,
    kind: usize,
    time: i64,
    size: usize,
}

#[derive(Default)]
struct Model {
    events: Vec<Ev>,
    next: u64,
    /// The id counter as last committed: ids burnt after it were never visible to anyone.
    committed_next: u64,
    last: u64,
    expired: BTreeMap<u8, u64>,
}

impl Model {
    fn expire(&mut self, now: i64) {
        let mut through: BTreeMap<u8, u64> = BTreeMap::new();
        let mut keep = Vec::new();
        for e in self.events.drain(..) {
            let class = KINDS[e.kind].1;
            if now - e.time >= RETENTION[class as usize] {
                through.insert(class, e.id);
            } else {
                keep.push(e);
            }
        }
        let mut bytes: u64 = keep.iter().map(|e| e.size as u64).sum();
        while bytes > MAX_BYTES && !keep.is_empty() {
            let e = keep.remove(0);
            let t = through.entry(KINDS[e.kind].1).or_insert(0);
            *t = (*t).max(e.id);
            bytes -= e.size as u64;
        }
        for (class, t) in through {
            keep.retain(|e| !(KINDS[e.kind].1 == class && e.id <= t));
            let x = self.expired.entry(class).or_insert(0);
            *x = (*x).max(t);
        }
        self.events = keep;
    }
}

fn config() -> LogConfig {
    LogConfig {
        retention: [
            (0, Duration::from_millis(RETENTION[0] as u64)),
            (1, Duration::from_millis(RETENTION[1] as u64)),
        ]
        .into(),
        max_bytes: MAX_BYTES,
        tail_capacity: 4,
        // Three or four typical events: reads cross from the store to the tail by bytes
        // as well as by count.
        tail_max_bytes: 150,
        // Expiries in steps of two events: the model removes all at once, as a whole
        // expiry must.
        expire_step: 2,
        ..LogConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_log_behaves_like_the_model(actions in prop::collection::vec(action(), 1..60)) {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let mut log = Arc::new(EventLog::open(store.clone(), config()).unwrap());
        let mut model = Model { next: 1, committed_next: 1, ..Default::default() };
        let mut now = 0i64;
        for a in actions {
            match a {
                Action::Append(evs, ok) => {
                    let new: Vec<NewEvent> = evs.iter().map(|(k, size)| NewEvent { kind: KINDS[*k].0.into(), class: KINDS[*k].1, payload: vec![*k as u8; *size] }).collect();
                    let result = log.append(new, now, |writes| {
                        if ok { store.commit(&Batch::from(writes)).map_err(|_| ()) } else { Err(()) }
                    });
                    prop_assert_eq!(result.is_ok(), ok);
                    let ids: Vec<u64> = (model.next..model.next + evs.len() as u64).collect();
                    model.next += evs.len() as u64;
                    if ok {
                        let published = result.unwrap();
                        prop_assert_eq!(published.iter().map(|e| e.replay_id).collect::<Vec<_>>(), ids.clone());
                        for ((k, size), id) in evs.into_iter().zip(ids) {
                            model.events.push(Ev { id, kind: k, time: now, size });
                            model.last = id;
                        }
                        model.committed_next = model.next;
                        // Past the cap and a half, the append sweeps the log itself.
                        if model.events.iter().map(|e| e.size as u64).sum::<u64>() > MAX_BYTES * 3 / 2 {
                            model.expire(now);
                        }
                    }
                }
                Action::Advance(ms) => now += ms,
                Action::Expire => {
                    log.expire(now).unwrap();
                    model.expire(now);
                }
                Action::Read(c, start, max) => {
                    let (kinds, class) = CHANNELS[c];
                    let start_at = match start {
                        StartAt::Latest => Start::Latest,
                        StartAt::Earliest => Start::Earliest,
                        StartAt::After(id) => Start::After(id),
                    };
                    let earliest = model.expired.get(&class).copied().unwrap_or(0);
                    let from = match start {
                        StartAt::Latest => Ok(model.last),
                        StartAt::Earliest => Ok(earliest),
                        StartAt::After(id) if id > model.last => Err(LogError::Future { requested: id, last: model.last }),
                        StartAt::After(id) if id < earliest || (id == earliest && earliest > 0) => Err(LogError::Expired { requested: id, earliest }),
                        StartAt::After(id) => Ok(id),
                    };
                    match (log.subscribe(Channel::of(kinds, class), start_at), from) {
                        (Ok(mut cursor), Ok(from)) => {
                            let mut got = Vec::new();
                            loop {
                                let page = cursor.poll(max).unwrap();
                                prop_assert!(page.len() <= max);
                                if page.is_empty() { break; }
                                got.extend(page.iter().map(|e| (e.replay_id, e.kind.clone(), e.payload.len())));
                            }
                            let want: Vec<(u64, String, usize)> = model.events.iter()
                                .filter(|e| e.id > from && kinds.contains(&KINDS[e.kind].0))
                                .map(|e| (e.id, KINDS[e.kind].0.to_owned(), e.size))
                                .collect();
                            prop_assert_eq!(got, want);
                        }
                        (Err(e), Err(want)) => prop_assert_eq!(e, want),
                        (got, want) => prop_assert!(false, "log {:?} vs model {:?}", got.map(|c| c.position()), want),
                    }
                }
                Action::Restart => {
                    drop(log);
                    log = Arc::new(EventLog::open(store.clone(), config()).unwrap());
                    model.next = model.committed_next.max(model.last + 1);
                }
            }
            prop_assert_eq!(log.last_replay_id(), model.last);
        }
    }
}

#[tokio::test]
async fn a_cursor_wakes_when_its_channel_grows() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = Arc::new(EventLog::open(store.clone(), LogConfig::default()).unwrap());
    let mut cursor = log
        .subscribe(Channel::of(&["A"], 0), Start::Latest)
        .unwrap();
    let waiter = tokio::spawn(async move {
        cursor.changed().await;
        cursor.poll(10).unwrap().len()
    });
    tokio::task::yield_now().await;
    log.append(
        vec![NewEvent {
            kind: "A".into(),
            class: 0,
            payload: b"x".to_vec(),
        }],
        0,
        |w| store.commit(&Batch::from(w)),
    )
    .unwrap();
    assert_eq!(waiter.await.unwrap(), 1);
}

#[test]
fn burnt_ids_are_never_reused_after_a_restart() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = EventLog::open(store.clone(), LogConfig::default()).unwrap();
    let ev = || {
        vec![NewEvent {
            kind: "A".into(),
            class: 0,
            payload: vec![],
        }]
    };
    log.append(ev(), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    let _ = log.append(ev(), 0, |_| Err::<(), ()>(()));
    let third = log
        .append(ev(), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    assert_eq!(third[0].replay_id, 3);
    drop(log);
    let log = EventLog::open(store.clone(), LogConfig::default()).unwrap();
    let next = log
        .append(ev(), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    assert_eq!(next[0].replay_id, 4);
}

#[test]
fn unpublished_events_stay_hidden_until_published() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = Arc::new(EventLog::open(store.clone(), LogConfig::default()).unwrap());
    let ev = |n: usize| {
        (0..n)
            .map(|_| NewEvent {
                kind: "A".into(),
                class: 0,
                payload: vec![1],
            })
            .collect::<Vec<_>>()
    };
    log.append(ev(1), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    let mut cur = log
        .subscribe(Channel::of(&["A"], 0), Start::Earliest)
        .unwrap();
    let first = log
        .append_unpublished(ev(2), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    let second = log
        .append_unpublished(ev(1), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    assert_eq!(cur.poll(10).unwrap().len(), 1, "only the published one");
    assert_eq!(log.last_replay_id(), 1);
    assert!(
        log.subscribe(Channel::of(&["A"], 0), Start::After(3))
            .is_err(),
        "an unpublished position is in the future"
    );
    // Publishing the later batch first covers the earlier (group commit made both durable).
    log.publish_through(second[0].replay_id);
    log.publish_through(first[1].replay_id);
    assert_eq!(log.last_replay_id(), 4);
    let ids: Vec<u64> = cur.poll(10).unwrap().iter().map(|e| e.replay_id).collect();
    assert_eq!(ids, [2, 3, 4]);
}

/// A class expires a prefix: an event stamped earlier than one before it (a publish that
/// read the clock before the org's clock was moved forward) does not take the newer one
/// with it.
#[test]
fn expiry_removes_a_prefix_of_each_class_even_when_stamps_go_back() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let log = Arc::new(EventLog::open(store.clone(), LogConfig::default()).unwrap());
    let one = || {
        vec![NewEvent {
            kind: "A".into(),
            class: 0,
            payload: vec![1],
        }]
    };
    let day = 24 * 3600 * 1000;
    log.append(one(), 3 * day, |w| store.commit(&Batch::from(w)))
        .unwrap();
    log.append(one(), 0, |w| store.commit(&Batch::from(w)))
        .unwrap();
    assert_eq!(
        log.expire(3 * day + 1).unwrap(),
        0,
        "the first is within retention"
    );
    assert_eq!(log.earliest(0), 0);
    assert_eq!(log.expire(6 * day).unwrap(), 2, "then both go");
}
