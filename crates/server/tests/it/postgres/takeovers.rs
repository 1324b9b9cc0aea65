//! Servers killed under load on PostgreSQL, ten times over: two taking turns on the same
//! ports, and three on ports of their own with writers reaching every one (a node that
//! does not serve the org passes their calls on). After each takeover every acknowledged
//! write is there with exactly one CREATE event, replay ids strictly increase, no event
//! disappears, every event has its record, and the round's Bulk job, killed in the
//! middle, completes on the next server with each of its rows once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Pending, Server};
use serde_json::json;

use super::forwarding::{free_port, ready_at};
use super::{TAKEOVER, node_of, options, serving};
use crate::events::Writers;
use crate::orgs::rest;
use crate::{bin, get};

/// Rows of each round's Bulk job (25 chunks: under way when the server dies).
const BULK_ROWS: usize = 5_000;

/// A Bulk API 2.0 insert of [`BULK_ROWS`] Contacts named `B{round} {n}`, uploaded and
/// closed on `s`: its id.
fn bulk_contacts(s: &Server, round: u64) -> String {
    let job = crate::bulk2::new_job(
        s,
        "ingest",
        json!({"object": "Contact", "operation": "insert"}),
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let mut csv = String::from("LastName\n");
    for n in 0..BULK_ROWS {
        csv.push_str(&format!("B{round} {n}\n"));
    }
    assert_eq!(crate::bulk2::upload(s, &id, &csv).0, 201);
    assert_eq!(
        crate::bulk2::patch_state(s, "ingest", &id, "UploadComplete").0,
        200
    );
    id
}

/// What the rounds acknowledged and saw so far.
struct Tally {
    token: String,
    acked: Arc<Mutex<Vec<String>>>,
    seen: BTreeSet<u64>,
    acked_before: usize,
}

impl Tally {
    fn new(token: &str) -> Self {
        Self {
            token: token.to_owned(),
            acked: Arc::default(),
            seen: BTreeSet::new(),
            acked_before: 0,
        }
    }

    /// Rows the round's Bulk job had processed on the server about to die.
    fn at_kill(s: &Server, job: &str) -> serde_json::Value {
        get(s, &format!("/jobs/ingest/{job}")).1["numberRecordsProcessed"].clone()
    }

    /// Checks everything after round `round`'s takeover, on the server that now serves.
    fn check(&mut self, serving: &Server, round: u64, job: &str, at_kill: &serde_json::Value) {
        let (creates, now) = crate::events::account_creates(serving, &self.seen, round);
        self.seen = now;
        let acked = self.acked.lock().unwrap().clone();
        assert!(
            acked.len() > self.acked_before,
            "round {round} acknowledged nothing"
        );
        self.acked_before = acked.len();
        for id in &acked {
            assert_eq!(
                creates.get(id),
                Some(&1),
                "round {round}: {id} has exactly one CREATE"
            );
        }
        let count = |q: &str| {
            let (st, body) = rest(
                serving,
                reqwest::Method::GET,
                &self.token,
                &format!("/query?q={q}"),
                None,
            );
            assert_eq!(st, 200, "{body}");
            body["totalSize"].as_u64().unwrap()
        };
        assert_eq!(
            count("SELECT+COUNT()+FROM+Account"),
            creates.len() as u64,
            "round {round}: every event has its record, and no record lacks its event"
        );
        let done = crate::bulk2::wait(serving, "ingest", job);
        assert_eq!(done["state"], "JobComplete", "round {round}: {done}");
        assert_eq!(
            done["numberRecordsProcessed"], BULK_ROWS,
            "round {round}: {done}"
        );
        assert_eq!(done["numberRecordsFailed"], 0, "round {round}: {done}");
        let ok = crate::bulk2::csv(serving, &format!("/jobs/ingest/{job}/successfulResults"));
        assert_eq!(
            ok.lines().count(),
            BULK_ROWS + 1,
            "round {round}: each row's result once"
        );
        assert_eq!(
            count(&format!(
                "SELECT+COUNT()+FROM+Contact+WHERE+LastName+LIKE+'B{round}+%25'"
            )),
            BULK_ROWS as u64,
            "round {round}: each row inserted once"
        );
        eprintln!(
            "round {round}: {} acknowledged, {} events, the Bulk job at {at_kill} of {BULK_ROWS} rows when the server died",
            acked.len(),
            self.seen.len(),
        );
    }
}

/// Two servers taking turns on the same ports (the next one waiting for them), writers
/// (REST one record a call, composite five) through them.
#[test]
fn ten_takeovers_under_load_lose_nothing() {
    let pg = Postgres::start();
    let url = pg.database();
    let listen = (free_port(), free_port());
    let start = || {
        Pending::start(
            &bin(),
            Options {
                listen: Some(listen.clone()),
                ..options(&url, 1)
            },
        )
    };
    let mut serving = start().ready(TAKEOVER);
    let mut tally = Tally::new(&serving.ready.access_token);
    let mut waiting = start();
    for round in 0..10 {
        let job = bulk_contacts(&serving, round);
        let writers = Writers::start(2, &serving, &tally.token, &tally.acked, round);
        std::thread::sleep(Duration::from_millis(300));
        let at_kill = Tally::at_kill(&serving, &job);
        serving.kill();
        let next = waiting.ready(TAKEOVER);
        std::thread::sleep(Duration::from_millis(200));
        writers.stop();
        drop(serving);
        serving = next;
        waiting = start();
        tally.check(&serving, round, &job, &at_kill);
    }
    drop(waiting);
}

/// Three nodes on ports of their own; writers reach each of them (the two that do not
/// serve the org pass their calls on), and the node serving the org is killed ten times:
/// one of the others takes it over, the other passes calls on to it, the killed one comes
/// back as a new node on its own ports.
#[test]
fn three_servers_on_their_own_ports_lose_nothing_across_ten_kills() {
    let pg = Postgres::start();
    let url = pg.database();
    let ports: Vec<(String, String)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let start = |n: usize| {
        Pending::start(
            &bin(),
            Options {
                listen: Some(ports[n].clone()),
                ..options(&url, 1)
            },
        )
        .ready(TAKEOVER)
    };
    let mut nodes: Vec<Server> = (0..3).map(start).collect();
    for (http, _) in &ports {
        assert_eq!(ready_at(http)["status"], "ready");
    }
    let mut tally = Tally::new(&nodes[0].ready.access_token);
    for round in 0..10 {
        let owner = serving(&url, "default");
        let dead = nodes
            .iter()
            .position(|n| node_of(n) == owner)
            .unwrap_or_else(|| panic!("round {round}: nobody serves the org ({owner:?})"));
        let job = bulk_contacts(&nodes[dead], round);
        let writers: Vec<Writers> = ports
            .iter()
            .enumerate()
            .map(|(n, (http, _))| {
                let data = format!("http://{http}/services/data/v59.0");
                Writers::start_at(
                    2,
                    &data,
                    &tally.token,
                    &tally.acked,
                    &format!("R{round} N{n}"),
                )
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let at_kill = Tally::at_kill(&nodes[dead], &job);
        nodes[dead].kill();
        let survivor = (dead + 1) % 3;
        let deadline = Instant::now() + TAKEOVER;
        while serving(&url, "default") == owner {
            assert!(Instant::now() < deadline, "round {round}: nobody took over");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        for w in writers {
            w.stop();
        }
        nodes[dead] = start(dead);
        tally.check(&nodes[survivor], round, &job, &at_kill);
    }
}
