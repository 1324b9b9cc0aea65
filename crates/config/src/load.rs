//! Loading: defaults, then the TOML file, then `FORCEBUS_*` variables, then flags; and
//! errors that say where a bad value was written (the file and line, the variable, or the
//! flag).

use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::validate::Invalid;
use super::{Config, Overrides};

/// The top-level keys of the configuration, as environment variables may name them: every
/// field `Config` deserialises, those unset by default (`store`, `admin_key`, ...) too.
fn top_level_keys() -> Vec<String> {
    field_names::<Config>()
        .iter()
        .map(|k| (*k).to_owned())
        .collect()
}

/// The field names a struct's `Deserialize` asks for (it names them all when it starts).
pub(super) fn field_names<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Names<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("only a struct's field names are read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Names(&mut names));
    names
}

/// Where the merged values came from, to say where a bad one was written.
struct Sources<'a> {
    fig: &'a Figment,
    /// The config file's text, when there is one.
    text: Option<&'a str>,
}

impl Sources<'_> {
    /// Whether `key`'s value was written in the config file.
    fn set_in_file(&self, key: &str) -> bool {
        self.fig
            .find_metadata(key)
            .is_some_and(|md| matches!(md.source, Some(figment::Source::File(_))))
    }

    /// A figment error as a person wants it: the file, line and key, or the variable or
    /// flag, then what is wrong (without figment's `default.` profile prefix).
    fn explain(&self, errors: figment::Error) -> anyhow::Error {
        let lines: Vec<String> = errors
            .into_iter()
            .map(|e| {
                // For an unknown field, figment's path already ends with its name.
                let path = e.path.clone();
                let key = path.join(".");
                let what = match &e.kind {
                    figment::error::Kind::UnknownField(field, _) => {
                        format!("unknown key `{field}`")
                    }
                    kind => kind.to_string(),
                };
                match &e.metadata {
                    Some(md) if matches!(md.source, Some(figment::Source::File(_))) => {
                        let file = md.source.as_ref().map(ToString::to_string);
                        let at = self.text.and_then(|t| line_of(t, &path));
                        place(file.as_deref().unwrap_or("?"), at, &key, &what)
                    }
                    Some(md) if md.name.contains("environment") && !path.is_empty() => {
                        format!("{}: {what}", env_var(&path))
                    }
                    _ if key.is_empty() => what,
                    _ => format!("{key}: {what}"),
                }
            })
            .collect();
        anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
    }

    /// A validation failure of `key`, placed where its value came from.
    fn locate(&self, key: &str, message: &str) -> anyhow::Error {
        let text = match self.fig.find_metadata(key) {
            Some(md) => match &md.source {
                Some(figment::Source::File(file)) => {
                    let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                    let at = self.text.and_then(|t| line_of(t, &path));
                    place(&file.display().to_string(), at, key, message)
                }
                _ if md.name.contains("environment") => {
                    format!("{}: {key} {message}", env_var(&[key.to_owned()]))
                }
                // Serialized providers are named after their type.
                _ if md.name.ends_with("Overrides") => {
                    format!("--{}: {key} {message}", key.replace('_', "-"))
                }
                _ => format!("{key} {message}"),
            },
            None => format!("{key} {message}"),
        };
        anyhow::anyhow!("invalid configuration: {text}")
    }
}

/// `config file F, line N: key: what` (a syntax error has no key; its text has the line).
fn place(file: &str, line: Option<usize>, key: &str, what: &str) -> String {
    match (line, key) {
        (_, "") => format!("config file {file}: {what}"),
        (Some(n), _) => format!("config file {file}, line {n}: {key}: {what}"),
        (None, _) => format!("config file {file}: {key}: {what}"),
    }
}

/// The variable that sets `path`: `FORCEBUS_APP__CLIENT_ID` for `app.client_id`.
fn env_var(path: &[String]) -> String {
    format!("FORCEBUS_{}", path.join("__").to_ascii_uppercase())
}

/// The 1-based line where the deepest existing key of `path` is written in `text`.
fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut span = None;
    for segment in path {
        let Some((key, item)) = table.get_key_value(segment) else {
            break;
        };
        span = key.span().or(span);
        match item.as_table_like() {
            Some(t) => table = t,
            None => break,
        }
    }
    let offset = span?.start;
    Some(text[..offset].matches('\n').count() + 1)
}

impl Config {
    /// Merges defaults, the TOML file, `FORCEBUS_*` variables and flags, then validates.
    /// Errors name where the bad value came from: the file and line, the variable, or the
    /// flag. Paths given in the file are relative to the file's directory.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let mut text = None;
        if let Some(path) = file {
            let read = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            text = Some(read);
            fig = fig.merge(Toml::file_exact(path));
        }
        // Only variables naming a configuration key are ours; others that share the prefix
        // (FORCEBUS_BIN in a test harness, say) are left alone with a warning.
        let known = top_level_keys();
        for (key, _) in std::env::vars() {
            if let Some(rest) = key.strip_prefix("FORCEBUS_") {
                let top = rest.split("__").next().unwrap_or("").to_ascii_lowercase();
                if !known.contains(&top) {
                    eprintln!("forcebus: ignoring {key}: not a configuration key");
                }
            }
        }
        let env = Env::prefixed("FORCEBUS_").split("__").filter(move |k| {
            let top = k
                .as_str()
                .split('.')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            known.contains(&top)
        });
        let fig = fig.merge(env).merge(Serialized::defaults(overrides));
        let source = Sources {
            fig: &fig,
            text: text.as_deref(),
        };
        let mut config: Config = fig.extract().map_err(|e| source.explain(e))?;
        config
            .validate()
            .map_err(|Invalid { key, message }| source.locate(key, &message))?;
        if let Some(dir) = file.and_then(|f| f.parent()) {
            config.resolve_file_paths(&source, dir);
        }
        Ok(config)
    }

    /// Makes the paths that came from the config file relative to its directory, not to
    /// the working directory: a file that says `data_dir = "data"` means the same
    /// directory wherever the server is started from.
    fn resolve_file_paths(&mut self, source: &Sources<'_>, dir: &Path) {
        let rebase = |key: &str, p: &mut PathBuf| {
            if source.set_in_file(key) && p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        rebase("data_dir", &mut self.data_dir);
        if let Some(p) = &mut self.tls_cert {
            rebase("tls_cert", p);
        }
        if let Some(p) = &mut self.tls_key {
            rebase("tls_key", p);
        }
        if let Some(p) = &mut self.project {
            rebase("project", p);
        }
        if let Some(p) = &mut self.describes {
            rebase("describes", p);
        }
        if let Some(c) = &mut self.app.certificate
            && !c.contains("-----BEGIN")
            && source.set_in_file("app.certificate")
            && Path::new(c).is_relative()
        {
            *c = dir.join(&*c).display().to_string();
        }
    }
}
