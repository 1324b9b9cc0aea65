//! Components of the types this server does not interpret, kept as sent
//! (`metadata-tooling.md` §5.2, §7): a deploy's zip grouped into components by the type
//! table ([`crate::metadata::types::locate`]: `classes/Hello.cls` with its
//! `-meta.xml`, `lwc/myComp/**`, `reports/Sales/Q1.report`, ...), each member of the
//! manifest taken whole (`*`: every one of its type in the zip); and, for a retrieve, the
//! kept files given back byte for byte.
//!
//! Child types (`ValidationRule`, `ListView`, `CustomLabel`, `WorkflowRule`, ...) live in
//! their parent's file. A child of an object is accepted and reported unchanged: the
//! object's fields are applied, its other children are not kept. A child of another
//! parent (a label of `labels/CustomLabels.labels`) keeps its parent's file whole, and a
//! retrieve of the child gives that file back.

use std::collections::BTreeMap;

use forcebus_org::components::StoredComponent;
use forcebus_org::org::deploy::{Component, Deployed};
use forcebus_org::{Code, OrgError};

use crate::metadata::types::{Layout, MetadataType, locate, named};

/// A zip's files by path, as bytes.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// What a deploy's members of kept types come to.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Components kept as sent, each with the file its message names.
    pub(crate) verbatim: Vec<(StoredComponent, String)>,
    /// Members whose files the zip does not hold.
    pub(crate) refused: Vec<Component>,
    /// Members reported deployed without a change of their own.
    pub(crate) accepted: Vec<Component>,
}

/// A deploy zip's components by type and full name (lowercase): the full name as sent
/// and the files (paths under the package's root).
pub(crate) struct Zip<'a> {
    base: &'a str,
    found: BTreeMap<(&'static str, String), Found<'a>>,
}

/// A component found in a zip: its full name as sent, and its files.
type Found<'a> = (String, Vec<(String, &'a [u8])>);

impl<'a> Zip<'a> {
    /// The components of `files` under `base` (the folder of `package.xml`).
    pub(crate) fn new(files: &'a Files, base: &'a str) -> Self {
        let mut found: BTreeMap<_, (String, Vec<_>)> = BTreeMap::new();
        for (path, bytes) in files {
            let Some(rel) = path.strip_prefix(base) else {
                continue;
            };
            let exists = |p: &str| files.contains_key(&format!("{base}{p}"));
            if let Some((t, full)) = locate(rel, exists) {
                let entry = found
                    .entry((t.name, full.to_ascii_lowercase()))
                    .or_insert_with(|| (full, Vec::new()));
                entry.1.push((rel.to_owned(), bytes.as_slice()));
            }
        }
        Self { base, found }
    }

    /// The member `full` of type `t` (`*`: all of them) entered in `out`: kept, accepted
    /// as a child, or refused for want of its files.
    pub(crate) fn member(&mut self, out: &mut Members, t: &'static MetadataType, full: &str) {
        if t.layout == Layout::Child {
            return self.child(out, t, full);
        }
        let names: Vec<String> = if full == "*" {
            self.found
                .keys()
                .filter(|(kind, _)| *kind == t.name)
                .map(|(_, n)| n.clone())
                .collect()
        } else {
            vec![full.to_ascii_lowercase()]
        };
        for name in names {
            match self.found.get(&(t.name, name)) {
                Some((full, files)) => self.keep(out, t.name, full.clone(), files.clone()),
                None => out.refused.push(missing(t.name, full, self.base)),
            }
        }
    }

    /// A component kept, once however many members name it.
    fn keep(
        &self,
        out: &mut Members,
        kind: &'static str,
        full: String,
        files: Vec<(String, &[u8])>,
    ) {
        if out
            .verbatim
            .iter()
            .any(|(c, _)| c.kind == kind && c.full_name.eq_ignore_ascii_case(&full))
        {
            return;
        }
        let files: Vec<(String, Vec<u8>)> =
            files.into_iter().map(|(p, b)| (p, b.to_vec())).collect();
        let component = StoredComponent {
            kind: kind.to_owned(),
            full_name: full,
            files,
            created: String::new(),
            modified: String::new(),
        };
        let file = format!("{}{}", self.base, component.main_file());
        out.verbatim.push((component, file));
    }

    /// A child type's member: its parent's file.
    fn child(&mut self, out: &mut Members, t: &'static MetadataType, full: &str) {
        let Some(parent) = t.folder.and_then(named) else {
            return out.refused.push(missing(t.name, full, self.base));
        };
        let parent_name = match full.split_once('.') {
            Some((p, _)) => Some(p.to_ascii_lowercase()),
            // A label's parent is the one labels file.
            None => self
                .found
                .keys()
                .find(|(kind, _)| *kind == parent.name)
                .map(|(_, n)| n.clone()),
        };
        let Some((pfull, files)) = parent_name.and_then(|n| self.found.get(&(parent.name, n)))
        else {
            return out.refused.push(missing(t.name, full, self.base));
        };
        let file = format!("{}{}", self.base, files[0].0);
        if parent.name != "CustomObject" {
            self.keep(out, parent.name, pfull.clone(), files.clone());
        }
        out.accepted.push(Component {
            kind: t.name.to_owned(),
            full_name: full.to_owned(),
            file,
            outcome: Ok(Deployed::Unchanged),
        });
    }
}

/// A member whose files the zip does not hold.
fn missing(kind: &str, full: &str, base: &str) -> Component {
    Component {
        kind: kind.to_owned(),
        full_name: full.to_owned(),
        file: format!("{base}package.xml"),
        outcome: Err(OrgError::new(
            Code::InvalidInput,
            format!(
                "An object '{full}' of type {kind} was named in package.xml, but was not found in zipped directory"
            ),
        )),
    }
}

/// The kept components a retrieve's member names (`*`: every one of its type; a child:
/// its parent's), without repeats.
pub(crate) fn wanted(
    org: &forcebus_org::Org,
    t: &'static MetadataType,
    member: &str,
) -> Vec<std::sync::Arc<StoredComponent>> {
    if t.layout == Layout::Child {
        let Some(parent) = t.folder.filter(|p| *p != "CustomObject") else {
            return Vec::new();
        };
        let all = org.components_of(parent);
        return match member.split_once('.') {
            Some((p, _)) => all
                .into_iter()
                .filter(|c| c.full_name.eq_ignore_ascii_case(p))
                .collect(),
            None => all.into_iter().take(1).collect(),
        };
    }
    if member == "*" {
        return org.components_of(t.name);
    }
    org.component(t.name, member).into_iter().collect()
}
