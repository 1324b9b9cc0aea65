//! Metadata components kept as they were deployed (`metadata-tooling.md` §5.2, §7): the
//! files of every component of a type the org does not interpret (an Apex class, a
//! layout, a permission set, a flow, a static resource, ...), so that a retrieve gives
//! back what was deployed, byte for byte. Kept in the store's space [`COMPONENTS`], one
//! value per component keyed by [`key`], its files as text or, when not UTF-8, base64.

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The store's space of kept components.
pub const COMPONENTS: &str = "metadata_component";

/// One component: its type, its full name, and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComponent {
    /// Its Metadata type (`ApexClass`).
    pub kind: String,
    /// Its full name (`Hello`, `Account-Account Layout`, `Folder/Report`).
    pub full_name: String,
    /// Its files, by path inside a package (`classes/Hello.cls`,
    /// `classes/Hello.cls-meta.xml`), in path order.
    pub files: Vec<(String, Vec<u8>)>,
    /// When it was first deployed (`2024-05-02T09:15:27.000+0000`).
    pub created: String,
    /// When it was last changed.
    pub modified: String,
}

/// A component's key in [`COMPONENTS`]: its type and full name, case-insensitive.
#[must_use]
pub fn key(kind: &str, full_name: &str) -> String {
    format!("{kind}:{full_name}").to_ascii_lowercase()
}

/// One file as stored: its path, and its text or its bytes in base64.
#[derive(Serialize, Deserialize)]
struct StoredFile {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    kind: String,
    full_name: String,
    created: String,
    modified: String,
    files: Vec<StoredFile>,
}

impl StoredComponent {
    /// The file a message about it names: its first file that is not a `-meta.xml`
    /// (`classes/Hello.cls`), else its first.
    #[must_use]
    pub fn main_file(&self) -> &str {
        self.files
            .iter()
            .map(|(p, _)| p.as_str())
            .find(|p| !p.ends_with("-meta.xml"))
            .or_else(|| self.files.first().map(|(p, _)| p.as_str()))
            .unwrap_or_default()
    }

    /// The text of its file whose path ends with `suffix`, if it is UTF-8.
    #[must_use]
    pub fn text_ending(&self, suffix: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .and_then(|(_, b)| std::str::from_utf8(b).ok())
    }

    /// Whether it holds the same files as `other`.
    #[must_use]
    pub fn same_files(&self, other: &Self) -> bool {
        self.files == other.files
    }

    /// As stored.
    #[must_use]
    pub fn to_json(&self) -> String {
        let files = self
            .files
            .iter()
            .map(|(path, bytes)| match std::str::from_utf8(bytes) {
                Ok(text) => StoredFile {
                    path: path.clone(),
                    text: Some(text.to_owned()),
                    base64: None,
                },
                Err(_) => StoredFile {
                    path: path.clone(),
                    text: None,
                    base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                },
            })
            .collect();
        let stored = Stored {
            kind: self.kind.clone(),
            full_name: self.full_name.clone(),
            created: self.created.clone(),
            modified: self.modified.clone(),
            files,
        };
        serde_json::to_string(&stored).expect("a component serialises")
    }

    /// Read back from [`StoredComponent::to_json`]'s text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s: Stored = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let files = s
            .files
            .into_iter()
            .map(|f| {
                let bytes = match (f.text, f.base64) {
                    (Some(t), _) => t.into_bytes(),
                    (None, Some(b)) => base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| format!("{}: {e}", f.path))?,
                    (None, None) => Vec::new(),
                };
                Ok((f.path, bytes))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            kind: s.kind,
            full_name: s.full_name,
            files,
            created: s.created,
            modified: s.modified,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_files_round_trip_through_the_store_text() {
        let c = StoredComponent {
            kind: "StaticResource".into(),
            full_name: "Logo".into(),
            files: vec![
                (
                    "staticresources/Logo.resource".into(),
                    vec![0x89, b'P', 0xff, 0],
                ),
                (
                    "staticresources/Logo.resource-meta.xml".into(),
                    b"<?xml version=\"1.0\"?>\n<StaticResource/>\n".to_vec(),
                ),
            ],
            created: "2024-05-02T09:15:27.000+0000".into(),
            modified: "2024-05-02T09:15:27.000+0000".into(),
        };
        let text = c.to_json();
        assert!(text.contains("\"base64\"") && text.contains("<StaticResource/>"));
        assert_eq!(StoredComponent::parse(&text).unwrap(), c);
        assert_eq!(c.main_file(), "staticresources/Logo.resource");
        assert_eq!(key("ApexClass", "Hello"), "apexclass:hello");
    }
}
