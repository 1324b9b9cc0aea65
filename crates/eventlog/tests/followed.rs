//! A commit made while another waits to append behind it tells the store so
//! (`Batch::followed`), whoever commits: a publisher's commit has no org writer to say it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use forcebus_eventlog::{EventLog, LogConfig, NewEvent};
use forcebus_store::{Batch, SqliteStore, Store, StoreError, StoredEvent, StoredRecord};

/// SQLite storage that records each deferred batch's `followed`, the first call held
/// until released.
#[derive(Debug)]
struct Recording {
    inner: SqliteStore,
    followed: Mutex<Vec<bool>>,
    hold: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Store for Recording {
    fn load_records(&self) -> Result<Vec<StoredRecord>, StoreError> {
        self.inner.load_records()
    }
    fn load_values(&self, space: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.load_values(space)
    }
    fn load_events(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.load_events(after, limit)
    }
    fn load_event_index(&self) -> Result<Vec<(u64, u8, i64, usize)>, StoreError> {
        self.inner.load_event_index()
    }
    fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.blob_size(key)
    }
    fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        self.inner.read_blob(key, offset, len)
    }
    fn commit_unsynced(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.inner.commit_unsynced(batch)
    }
    fn commit_deferred(&self, batch: &Batch) -> Result<u64, StoreError> {
        if let Some(release) = self.hold.lock().unwrap().take() {
            release.recv().unwrap();
        }
        self.followed.lock().unwrap().push(batch.followed);
        self.inner.commit_deferred(batch)
    }
    fn sync(&self, ticket: u64) -> Result<(), StoreError> {
        self.inner.sync(ticket)
    }
}

#[test]
fn a_commit_with_another_waiting_behind_it_is_followed() {
    let dir = std::env::temp_dir().join(format!("fb-eventlog-followed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (release, held) = std::sync::mpsc::channel();
    let store = Arc::new(Recording {
        inner: SqliteStore::open(&dir, forcebus_store::Durability::Normal).unwrap(),
        followed: Mutex::new(Vec::new()),
        hold: Mutex::new(Some(held)),
    });
    let log = Arc::new(EventLog::open(store.clone(), LogConfig::default()).unwrap());
    let commit = |log: Arc<EventLog>| {
        std::thread::spawn(move || {
            let e = NewEvent {
                kind: "E".into(),
                class: 0,
                payload: vec![1; 10],
            };
            log.commit(vec![e], 0, Batch::new())
                .unwrap()
                .wait()
                .unwrap();
        })
    };
    // The first holds the log while two more queue behind it.
    let first = commit(log.clone());
    std::thread::sleep(Duration::from_millis(200));
    let (second, third) = (commit(log.clone()), commit(log.clone()));
    std::thread::sleep(Duration::from_millis(500));
    release.send(()).unwrap();
    for t in [first, second, third] {
        t.join().unwrap();
    }
    // The first committed alone (the others came after it asked); the second had the
    // third waiting behind it; the third, nobody.
    assert_eq!(*store.followed.lock().unwrap(), [false, true, false]);
    let _ = std::fs::remove_dir_all(&dir);
}
