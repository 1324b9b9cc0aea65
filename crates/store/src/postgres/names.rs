//! Names unique across the orgs of one database, each naming its org: usernames (lower
//! case), connected apps' client ids, blocks of the record counter. Any node finds the org
//! a sign-in is for by them without opening it, and a name is taken by one org only:
//! taking names is all or nothing, so two nodes making orgs at once cannot both take one.

use crate::StoreError;

use super::Database;

/// A name's kind.
pub mod kinds {
    /// A user's username, lower case.
    pub const USERNAME: &str = "username";
    /// A connected app's client id.
    pub const CLIENT_ID: &str = "client_id";
    /// A block of the record counter, in decimal.
    pub const BLOCK: &str = "block";
}

impl Database {
    /// Takes every name of `names` (kind, name) for the org `org`, or none: `Err` names
    /// the first one another org has.
    pub fn take_names(
        &self,
        org: &str,
        names: &[(&str, String)],
    ) -> Result<Result<(), (String, String)>, StoreError> {
        let org = org.to_owned();
        let names: Vec<(String, String)> = names
            .iter()
            .map(|(k, n)| ((*k).to_owned(), n.clone()))
            .collect();
        self.run(move |c| {
            let mut tx = c.client.transaction()?;
            for (kind, name) in names {
                let n = tx.execute(
                    "INSERT INTO fb_names (kind, name, org) VALUES ($1, $2, $3)
                     ON CONFLICT (kind, name) DO UPDATE SET org = EXCLUDED.org
                     WHERE fb_names.org = EXCLUDED.org",
                    &[&kind, &name, &org],
                )?;
                if n == 0 {
                    // Rolled back when dropped.
                    return Ok(Err((kind, name)));
                }
            }
            tx.commit()?;
            Ok(Ok(()))
        })
    }

    /// Makes `names` the org's names of `kind`: the others it had are let go, and a name
    /// another org has stays that org's.
    pub fn set_names(&self, org: &str, kind: &str, names: &[String]) -> Result<(), StoreError> {
        let (org, kind, names) = (org.to_owned(), kind.to_owned(), names.to_vec());
        self.run(move |c| {
            let mut tx = c.client.transaction()?;
            tx.execute(
                "DELETE FROM fb_names WHERE org = $1 AND kind = $2 AND name <> ALL($3)",
                &[&org, &kind, &names],
            )?;
            tx.execute(
                "INSERT INTO fb_names (kind, name, org) SELECT $2, unnest($3::text[]), $1
                 ON CONFLICT DO NOTHING",
                &[&org, &kind, &names],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The org that has the name.
    pub fn name_owner(&self, kind: &str, name: &str) -> Result<Option<String>, StoreError> {
        let (kind, name) = (kind.to_owned(), name.to_owned());
        self.run(move |c| {
            let row = c.client.query_opt(
                "SELECT org FROM fb_names WHERE kind = $1 AND name = $2",
                &[&kind, &name],
            )?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    /// The org's names of `kind`.
    pub fn names_of(&self, org: &str, kind: &str) -> Result<Vec<String>, StoreError> {
        let (org, kind) = (org.to_owned(), kind.to_owned());
        self.run(move |c| {
            let rows = c.client.query(
                "SELECT name FROM fb_names WHERE org = $1 AND kind = $2 ORDER BY name",
                &[&org, &kind],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}
