//! The Metadata API's `deploy` and `checkDeployStatus` (`metadata-tooling.md` §5): a zip
//! (`package.xml` and `objects/<Name>.object` files, at its root or in one folder) whose
//! `CustomObject` and `CustomField` members are applied as one schema change
//! ([`forcebus_org::org::deploy`]), answered by an id (`0Af…`) that `checkDeployStatus`
//! reports on with one message per component and one for `package.xml`. [`start`] runs
//! a deploy for SOAP, for the REST `deployRequest` resource ([`crate::metadata_rest`])
//! and for quick deploys ([`crate::metadata_quick`]) alike.
//!
//! A deploy is applied before `deploy` answers (it is done at the first poll, which
//! Salesforce allows). The zip is bounded: entries, each entry's and the total's size.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;

use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value};

use forcebus_org::clock::format_datetime;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::declarations::{nested_fields, object_config};
use forcebus_org::org::deploy::{Component, Declared, Deployed};
use forcebus_org::{OrgError, StatusCode as Code};

use crate::metadata_options::DeployOptions;
use crate::soap::{Element, escape, parse};

/// Most entries a deploy zip may hold.
const MAX_ENTRIES: usize = 10_000;
/// Most bytes a deploy zip may unpack to.
const MAX_UNPACKED: u64 = 64 << 20;
/// Deploy results kept (the oldest go first).
const MAX_KEPT: usize = 1_000;

/// What a finished deploy reports.
#[derive(Debug, Clone)]
pub struct DeployResult {
    pub(crate) id: String,
    /// When it was asked for (and, deploys being synchronous, done).
    pub(crate) created: String,
    pub(crate) options: DeployOptions,
    /// The validation a quick deploy applied again (REST's `validatedDeployRequestId`).
    pub(crate) validated: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) error: Option<String>,
    components: Vec<Component>,
    applied: bool,
}

/// A DeployMessage's fields (§5.4), whichever way it is written.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    pub(crate) changed: bool,
    pub(crate) created: bool,
    /// Empty for the `package.xml` message.
    pub(crate) component_type: &'a str,
    pub(crate) file_name: String,
    pub(crate) full_name: &'a str,
    pub(crate) problem: Option<&'a str>,
    pub(crate) success: bool,
}

impl DeployResult {
    /// `numberComponentErrors`, `numberComponentsDeployed` (would-be successes of a
    /// rolled-back deploy included) and `numberComponentsTotal`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let errors = self
            .components
            .iter()
            .filter(|c| c.outcome.is_err())
            .count();
        let total = self.components.len();
        (errors, total - errors, total)
    }

    /// `success`: true but for `Failed`.
    pub(crate) fn success(&self) -> bool {
        self.status != "Failed"
    }

    /// `componentFailures`, then `componentSuccesses` (the `package.xml` message first,
    /// unless the zip could not be read).
    pub(crate) fn messages(&self) -> (Vec<Message<'_>>, Vec<Message<'_>>) {
        let (failed, ok): (Vec<&Component>, Vec<&Component>) =
            self.components.iter().partition(|c| c.outcome.is_err());
        let package = self.error.is_none().then_some(Message {
            changed: true,
            created: false,
            component_type: "",
            file_name: "package.xml".into(),
            full_name: "package.xml",
            problem: None,
            success: true,
        });
        let successes = package.into_iter().chain(ok.into_iter().map(message_of));
        (
            failed.into_iter().map(message_of).collect(),
            successes.collect(),
        )
    }
}

/// A component's message: new components are created and changed, changed ones only
/// changed, failed ones neither.
fn message_of(c: &Component) -> Message<'_> {
    let (changed, created) = match &c.outcome {
        Ok(Deployed::Created) => (true, true),
        Ok(Deployed::Changed) => (true, false),
        Ok(Deployed::Unchanged) | Err(_) => (false, false),
    };
    Message {
        changed,
        created,
        component_type: c.kind,
        file_name: format!("objects/{}.object", c.object),
        full_name: &c.full_name,
        problem: c.outcome.as_ref().err().map(|e| e.message.as_str()),
        success: c.outcome.is_ok(),
    }
}

/// The org's deploys, by id (`0Af…`), and its recent validations.
#[derive(Debug)]
pub struct Deploys {
    results: crate::metadata::AsyncResults<DeployResult>,
    /// Successful validations, for quick deploys.
    pub(crate) validations: crate::metadata_quick::Validations,
}

impl Default for Deploys {
    fn default() -> Self {
        Self {
            results: crate::metadata::AsyncResults::new("0Af", MAX_KEPT),
            validations: crate::metadata_quick::Validations::default(),
        }
    }
}

impl Deploys {
    /// The result of deploy `id` (15 or 18 characters).
    pub(crate) fn get(&self, id: &str) -> Option<DeployResult> {
        self.results.get(id)
    }
}

/// `deploy`: applies the zip now, answers `Queued` with the id to poll.
pub(crate) async fn deploy(app: &crate::State, op: &Element) -> String {
    let options = DeployOptions::from_soap(op);
    let zip = op
        .text_of("ZipFile")
        .unwrap_or_default()
        .replace(char::is_whitespace, "");
    let id = match base64::engine::general_purpose::STANDARD.decode(zip) {
        Ok(bytes) => start(app, bytes.into(), options, None).await,
        Err(e) => {
            let mut result = DeployResult::new(app, options, None);
            result.error = Some(format!("The ZipFile is not base64: {e}"));
            keep(app, result, None)
        }
    };
    format!(
        "<deployResponse><result><done>false</done><id>{id}</id><state>Queued</state></result></deployResponse>"
    )
}

impl DeployResult {
    /// A deploy just asked for, failed until it runs.
    fn new(app: &crate::State, options: DeployOptions, validated: Option<String>) -> Self {
        Self {
            id: String::new(),
            created: format_datetime(app.org.clock().now()),
            options,
            validated,
            status: "Failed",
            error: None,
            components: Vec::new(),
            applied: false,
        }
    }
}

/// Runs a deploy of `zip` (the archive's bytes) with `options`, `validated` naming the
/// validation a quick deploy applies again; keeps its result and returns its id. The
/// deploy is applied (or refused) before this returns.
pub(crate) async fn start(
    app: &crate::State,
    zip: Bytes,
    options: DeployOptions,
    validated: Option<String>,
) -> String {
    let check_only = options.check_only;
    let rollback = options.rollback_on_error;
    let mut result = DeployResult::new(app, options, validated);
    match read_package(&zip) {
        Err(e) => result.error = Some(e),
        Ok((declared, mut refused)) => {
            let org = app.org.clone();
            // A component refused before the org saw it fails a rolled-back deploy too.
            let check_only = check_only || (rollback && !refused.is_empty());
            match crate::blocking(move || org.deploy(&declared, rollback, check_only)).await {
                Ok(Ok((components, applied))) => {
                    refused.extend(components);
                    result.components = refused;
                    result.applied = applied;
                    let failures = result.components.iter().any(|c| c.outcome.is_err());
                    result.status = match (failures, applied || check_only) {
                        (false, _) => "Succeeded",
                        (true, true) if !rollback => "SucceededPartial",
                        _ => "Failed",
                    };
                }
                Ok(Err(e)) => result.error = Some(e.message),
                Err(_) => result.error = Some("the deploy could not run".into()),
            }
        }
    }
    let validation = (result.options.check_only && result.status == "Succeeded").then_some(zip);
    keep(app, result, validation)
}

/// Keeps `result` under a new id (and, for a successful validation, its `zip`); the id.
fn keep(app: &crate::State, result: DeployResult, zip: Option<Bytes>) -> String {
    let options = result.options.clone();
    let id = app.deploys.results.keep(|id| DeployResult {
        id: id.to_owned(),
        ..result
    });
    if let Some(zip) = zip {
        let (schema, now) = (app.org.schema(), app.org.clock().now());
        app.deploys.validations.keep(&id, zip, options, schema, now);
    }
    id
}

/// `checkDeployStatus`: the DeployResult, with its messages when asked for.
pub(crate) fn check(app: &crate::State, op: &Element) -> Result<String, OrgError> {
    let id = op
        .text_of("asyncProcessId")
        .or_else(|| op.children.first().map(|c| c.text.trim()))
        .unwrap_or_default();
    let r = app.deploys.get(id).ok_or_else(|| {
        OrgError::new(Code::InvalidCrossReferenceKey, "invalid cross reference id")
    })?;
    let details = op
        .text_of("includeDetails")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(format!(
        "<checkDeployStatusResponse><result>{}</result></checkDeployStatusResponse>",
        render(&r, details)
    ))
}

fn render(r: &DeployResult, details: bool) -> String {
    let (errors, deployed, total) = r.counts();
    let mut out = format!(
        "<checkOnly>{}</checkOnly><completedDate>{c}</completedDate><createdBy>005000000000000</createdBy><createdByName>forcebus</createdByName><createdDate>{c}</createdDate><details>",
        r.options.check_only,
        c = r.created.replace("+0000", "Z"),
    );
    if details {
        let (failures, successes) = r.messages();
        for m in &failures {
            out.push_str(&message("componentFailures", m, &r.created));
        }
        for m in &successes {
            out.push_str(&message("componentSuccesses", m, &r.created));
        }
    }
    out.push_str("<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun><totalTime>0.0</totalTime></runTestResult></details><done>true</done>");
    if let Some(e) = &r.error {
        out.push_str(&format!(
            "<errorMessage>{}</errorMessage><errorStatusCode>UNKNOWN_EXCEPTION</errorStatusCode>",
            escape(e)
        ));
    }
    out.push_str(&format!(
        "<id>{}</id><ignoreWarnings>{}</ignoreWarnings><numberComponentErrors>{errors}</numberComponentErrors><numberComponentsDeployed>{deployed}</numberComponentsDeployed><numberComponentsTotal>{total}</numberComponentsTotal><numberTestErrors>0</numberTestErrors><numberTestsCompleted>0</numberTestsCompleted><numberTestsTotal>0</numberTestsTotal><rollbackOnError>{}</rollbackOnError><runTestsEnabled>false</runTestsEnabled><status>{}</status><success>{}</success>",
        r.id,
        r.options.ignore_warnings,
        r.options.rollback_on_error,
        r.status,
        r.success(),
    ));
    out
}

/// A DeployMessage (`componentType` always present, as the sf CLI requires).
fn message(element: &str, m: &Message<'_>, created: &str) -> String {
    let problem = m.problem.map_or(String::new(), |p| {
        format!(
            "<problem>{}</problem><problemType>Error</problemType>",
            escape(p)
        )
    });
    format!(
        "<{element}><changed>{}</changed><componentType>{}</componentType><created>{}</created><createdDate>{}</createdDate><deleted>false</deleted><fileName>{}</fileName><fullName>{}</fullName>{problem}<success>{}</success></{element}>",
        m.changed,
        m.component_type,
        m.created,
        created.replace("+0000", "Z"),
        escape(&m.file_name),
        escape(m.full_name),
        m.success,
    )
}

/// The zip's declarations, and the members it names but cannot deploy (each a failure).
fn read_package(bytes: &[u8]) -> Result<(Vec<Declared>, Vec<Component>), String> {
    let files = unzip(bytes)?;
    let (base, manifest) = files
        .iter()
        .find(|(name, _)| {
            name.rsplit('/').next() == Some("package.xml") && name.matches('/').count() <= 1
        })
        .map(|(name, text)| {
            (
                name.trim_end_matches("package.xml").to_owned(),
                text.clone(),
            )
        })
        .ok_or("No package.xml found")?;
    let package =
        parse(manifest.as_bytes()).map_err(|e| format!("package.xml is not well-formed: {e}"))?;
    let mut objects: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    let mut refused = Vec::new();
    for types in package.children_named("types") {
        let kind = types.text_of("name").unwrap_or_default();
        for m in types
            .children_named("members")
            .map(|m| m.text.trim().to_owned())
        {
            match (kind, m.split_once('.')) {
                ("CustomObject", _) => {
                    objects.insert(m, None);
                }
                ("CustomField", Some((o, f))) => {
                    // A whole object (None) keeps all its fields.
                    let entry = objects.entry(o.to_owned()).or_insert_with(|| Some(Vec::new()));
                    if let Some(list) = entry {
                        list.push(f.to_owned());
                    }
                }
                _ => refused.push(Component {
                    kind: "CustomObject",
                    full_name: m.clone(),
                    object: m.clone(),
                    outcome: Err(OrgError::new(Code::InvalidType, format!("Metadata type {kind} is not deployed by this server (CustomObject and CustomField are)."))),
                }),
            }
        }
    }
    let mut declared = Vec::new();
    for (name, only) in objects {
        let path = format!("{base}objects/{name}.object");
        let Some(text) = files.get(&path) else {
            refused.push(Component {
                kind: "CustomObject",
                full_name: name.clone(),
                object: name.clone(),
                outcome: Err(OrgError::new(Code::InvalidInput, format!("An object '{name}' of type CustomObject was named in package.xml, but was not found in zipped directory"))),
            });
            continue;
        };
        match declaration(&name, text, only.as_deref()) {
            Ok(config) => declared.push(Declared {
                name,
                config,
                whole: only.is_none(),
            }),
            Err(e) => refused.push(Component {
                kind: "CustomObject",
                full_name: name.clone(),
                object: name,
                outcome: Err(e),
            }),
        }
    }
    Ok((declared, refused))
}

/// An `.object` file as a declaration; with `only`, just those fields.
fn declaration(name: &str, text: &str, only: Option<&[String]>) -> Result<ObjectConfig, OrgError> {
    let root = parse(text.as_bytes())
        .map_err(|e| OrgError::new(Code::InvalidInput, format!("Error parsing file: {e}")))?;
    let meta: Map<String, Value> = crate::metadata::to_json(&root);
    let mut config = if (name.ends_with("__c") || name.ends_with("__e")) && only.is_none() {
        object_config(&meta)?
    } else {
        let fields = nested_fields(&meta)?;
        ObjectConfig {
            fields,
            ..ObjectConfig::default()
        }
    };
    if let Some(only) = only {
        config
            .fields
            .retain(|f| only.iter().any(|o| o.eq_ignore_ascii_case(&f.name)));
    }
    Ok(config)
}

/// The zip's text files by path, within the bounds.
fn unzip(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("The ZipFile is not a zip archive: {e}"))?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("The zip holds more than {MAX_ENTRIES} files"));
    }
    let mut total = 0u64;
    let mut out = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("The zip is damaged: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().trim_start_matches("./").to_owned();
        let mut text = String::new();
        let room = MAX_UNPACKED.saturating_sub(total);
        (&mut entry)
            .take(room + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{name} cannot be read: {e}"))?;
        total += text.len() as u64;
        if total > MAX_UNPACKED {
            return Err(format!("The zip unpacks to more than {MAX_UNPACKED} bytes"));
        }
        out.insert(name, text);
    }
    Ok(out)
}
