//! The tables, and the migrations that bring a database up to this version's.
//!
//! Every migration runs in one transaction under an advisory lock, so nodes starting
//! together on one database migrate it once. The database's version is kept in
//! `fb_schema`; a database a newer forcebus wrote is refused rather than misread.

use postgres::Client;

use crate::StoreError;

/// The migrations, in order: the database's version is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: records, values, the event log, blobs; one row per org in each, keys compared
    // byte by byte as SQLite compares them.
    r#"
    CREATE TABLE fb_records (
        org TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        object TEXT NOT NULL,
        is_deleted BOOLEAN NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (org, id)
    );
    CREATE TABLE fb_values (
        org TEXT COLLATE "C" NOT NULL,
        space TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (org, space, key)
    );
    CREATE TABLE fb_events (
        org TEXT COLLATE "C" NOT NULL,
        replay_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        class SMALLINT NOT NULL,
        time_ms BIGINT NOT NULL,
        payload BYTEA NOT NULL,
        PRIMARY KEY (org, replay_id)
    );
    CREATE INDEX fb_events_by_class ON fb_events (org, class, replay_id);
    CREATE TABLE fb_blob_pieces (
        org TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        piece INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (org, key, piece)
    );
    CREATE TABLE fb_commits (
        org TEXT COLLATE "C" PRIMARY KEY,
        n BIGINT NOT NULL
    );
    "#,
    // 2: the lease on writing (see `lease`), and the nodes' heartbeats.
    r#"
    CREATE TABLE fb_leases (
        scope TEXT COLLATE "C" PRIMARY KEY,
        node TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE fb_nodes (
        node TEXT COLLATE "C" PRIMARY KEY,
        address TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL
    );
    "#,
    // 3: where each node serves the Pub/Sub API (other nodes pass requests on to the
    // holder's addresses), and the key a node shows on what it passes on.
    r#"
    ALTER TABLE fb_nodes ADD COLUMN grpc_address TEXT NOT NULL DEFAULT '';
    CREATE TABLE fb_cluster (
        name TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 4: orgs spread over the nodes. A node holds a lease of its own (its row, renewed);
    // each org's lease names the node serving it, with the epoch its commits check, so an
    // org changes hands alone. Every org listed (and the default one) gets a lease nobody
    // holds, for the first live node to take. `fb_names`: usernames, client ids and record
    // blocks, unique across the orgs of the database, so any node finds an org by them.
    r#"
    DELETE FROM fb_leases WHERE scope = 'server';
    ALTER TABLE fb_leases DROP COLUMN expires_at;
    ALTER TABLE fb_leases ADD COLUMN open BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE fb_leases ADD COLUMN move_to TEXT;
    CREATE INDEX fb_leases_by_node ON fb_leases (node);
    ALTER TABLE fb_nodes ADD COLUMN instance TEXT NOT NULL DEFAULT '';
    ALTER TABLE fb_nodes ADD COLUMN expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity';
    ALTER TABLE fb_nodes ADD COLUMN draining BOOLEAN NOT NULL DEFAULT false;
    ALTER TABLE fb_nodes ADD COLUMN open_orgs INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE fb_nodes ADD COLUMN rss_bytes BIGINT NOT NULL DEFAULT 0;
    INSERT INTO fb_leases (scope, node, epoch)
        SELECT key, '', 0 FROM fb_values WHERE org = '' AND space = 'orgs'
        ON CONFLICT DO NOTHING;
    INSERT INTO fb_leases (scope, node, epoch) VALUES ('default', '', 0)
        ON CONFLICT DO NOTHING;
    CREATE TABLE fb_names (
        kind TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        org TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (kind, name)
    );
    CREATE INDEX fb_names_by_org ON fb_names (org);
    INSERT INTO fb_names (kind, name, org)
        SELECT 'client_id', value, org FROM fb_values
        WHERE space = 'setup' AND key = 'client_id' AND org <> ''
        ON CONFLICT DO NOTHING;
    "#,
    // 5: the event log in runs (see `runs`): a row per run of events a commit appends, their
    // payloads kept in the row's pages as long as they fit (no compression tried on
    // payloads, mostly Avro and JSON already dense). Old-style events stay in `fb_events`
    // until retention empties it.
    r#"
    CREATE TABLE fb_event_runs (
        org TEXT COLLATE "C" NOT NULL,
        last_id BIGINT NOT NULL,
        first_id BIGINT NOT NULL,
        class SMALLINT NOT NULL,
        meta BYTEA NOT NULL,
        body BYTEA NOT NULL,
        PRIMARY KEY (org, last_id)
    );
    CREATE INDEX fb_event_runs_by_class ON fb_event_runs (org, class, last_id);
    ALTER TABLE fb_event_runs ALTER COLUMN body SET STORAGE EXTERNAL;
    "#,
    // 6: what an org's flush writes to make its commit wait for the WAL: a row of its
    // own, so a flush neither waits for the org's commits counting themselves in
    // `fb_commits` nor holds them up until its WAL is on disk.
    r#"
    CREATE TABLE fb_flushes (
        org TEXT COLLATE "C" PRIMARY KEY,
        n BIGINT NOT NULL
    );
    "#,
];

/// The version this forcebus writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// An arbitrary key for the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x666f_7263_6562_7573;

/// Brings the database up to [`VERSION`], or refuses one of a newer version.
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    // Not the notice that the table exists already, at every start.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS fb_schema (version BIGINT NOT NULL)")?;
    let found: Option<i64> = tx
        .query_opt("SELECT version FROM fb_schema", &[])?
        .map(|r| r.get(0));
    let found = found.unwrap_or(0);
    if found > VERSION {
        return Err(StoreError::Config(format!(
            "the database was written by a newer forcebus (schema version {found}; this one \
             knows up to {VERSION}); upgrade forcebus, or point it at another database"
        )));
    }
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql)?;
        tracing::info!(version = n + 1, "Migrated the database.");
    }
    if found == 0 {
        tx.execute("INSERT INTO fb_schema (version) VALUES ($1)", &[&VERSION])?;
    } else if found < VERSION {
        tx.execute("UPDATE fb_schema SET version = $1", &[&VERSION])?;
    }
    tx.commit()?;
    Ok(())
}
