//! DeployOptions (`metadata-tooling.md` §5.1, §6) as SOAP and REST clients send them:
//! read from a SOAP `deploy`'s `DeployOptions` element or a REST deploy's JSON
//! `deployOptions`, and written back as the REST `deployRequest` resource echoes them.

use serde::Serialize;
use serde_json::{Map, Value};

use forcebus_xml::Element;

/// DeployOptions (`metadata-tooling.md` §5.1) as SOAP and REST clients send them. Only
/// `checkOnly` and `rollbackOnError` change what a deploy does here; the others are
/// kept to be reported back (the REST resource echoes them).
/// Serialized as the REST resource answers them: every one, defaults included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)] // The WSDL's flags, one field each.
pub(crate) struct DeployOptions {
    /// `allowMissingFiles`.
    pub allow_missing_files: bool,
    /// `autoUpdatePackage` (reserved).
    pub auto_update_package: bool,
    /// `checkOnly`: validate, apply nothing.
    pub check_only: bool,
    /// `ignoreWarnings`.
    pub ignore_warnings: bool,
    /// `performRetrieve` (reserved).
    pub perform_retrieve: bool,
    /// `purgeOnDelete`.
    pub purge_on_delete: bool,
    /// `rollbackOnError`: any failure applies nothing.
    pub rollback_on_error: bool,
    /// `runTests`: class names (there is no Apex here; none run).
    pub run_tests: Vec<String>,
    /// `singlePackage`.
    pub single_package: bool,
    /// `testLevel`, when given.
    pub test_level: Option<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            allow_missing_files: false,
            auto_update_package: false,
            check_only: false,
            ignore_warnings: false,
            perform_retrieve: false,
            purge_on_delete: false,
            rollback_on_error: true,
            run_tests: Vec::new(),
            single_package: false,
            test_level: None,
        }
    }
}

impl DeployOptions {
    /// A SOAP `deploy`'s `DeployOptions`: any subset, any order; flags `true|false|1|0`
    /// in any case (anything else is the default, as stray text is ignored).
    pub(crate) fn from_soap(op: &Element) -> Self {
        let Some(o) = op.child("DeployOptions") else {
            return Self::default();
        };
        let flag = |name: &str, default: bool| {
            o.text_of(name)
                .map(|v| v.trim().to_ascii_lowercase())
                .and_then(|v| match v.as_str() {
                    "true" | "1" => Some(true),
                    "false" | "0" => Some(false),
                    _ => None,
                })
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            allow_missing_files: flag("allowMissingFiles", d.allow_missing_files),
            auto_update_package: flag("autoUpdatePackage", d.auto_update_package),
            check_only: flag("checkOnly", d.check_only),
            ignore_warnings: flag("ignoreWarnings", d.ignore_warnings),
            perform_retrieve: flag("performRetrieve", d.perform_retrieve),
            purge_on_delete: flag("purgeOnDelete", d.purge_on_delete),
            rollback_on_error: flag("rollbackOnError", d.rollback_on_error),
            run_tests: o
                .children_named("runTests")
                .map(|t| t.text.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            single_package: flag("singlePackage", d.single_package),
            test_level: o
                .text_of("testLevel")
                .map(str::trim)
                .filter(|t| !t.is_empty() && *t != "None")
                .map(str::to_owned),
        }
    }
}

impl DeployOptions {
    /// Why the deploy cannot run, when it asks for Apex tests to run: this server keeps
    /// Apex and runs none. `NoTestRun` (and no level, the default of a sandbox or
    /// developer org) runs none; so do `RunLocalTests` and `RunAllTestsInOrg` where there
    /// is no Apex class (`apex` false); `RunSpecifiedTests` names tests.
    pub(crate) fn tests_asked_for(&self, apex: bool) -> Option<String> {
        let level = self.test_level.as_deref()?;
        let runs = match level {
            "NoTestRun" => false,
            "RunSpecifiedTests" => true,
            _ => apex,
        };
        runs.then(|| {
            format!(
                "forcebus runs no Apex tests: this deploy asks for testLevel {level}. Apex classes and triggers are kept, never run; deploy with testLevel NoTestRun (sf project deploy start --test-level NoTestRun), or leave the test level out."
            )
        })
    }

    /// A REST deploy's `deployOptions` (the JSON part's `{"deployOptions": {…}}`; absent
    /// or null: the defaults). Names as in SOAP, with JSON types; a flag may also be the
    /// string `"true"`/`"false"`, `runTests` one string or a list. Names this server does
    /// not know are ignored; a known one of the wrong type is an error saying which.
    pub(crate) fn from_json(root: &Value) -> Result<Self, String> {
        let options = match root {
            Value::Object(m) => m.get("deployOptions").unwrap_or(&Value::Null),
            _ => return Err("The JSON part must be an object: {\"deployOptions\": {...}}".into()),
        };
        let o = match options {
            Value::Null => return Ok(Self::default()),
            Value::Object(o) => o,
            _ => return Err("deployOptions must be an object".into()),
        };
        let d = Self::default();
        Ok(Self {
            allow_missing_files: flag(o, "allowMissingFiles", d.allow_missing_files)?,
            auto_update_package: flag(o, "autoUpdatePackage", d.auto_update_package)?,
            check_only: flag(o, "checkOnly", d.check_only)?,
            ignore_warnings: flag(o, "ignoreWarnings", d.ignore_warnings)?,
            perform_retrieve: flag(o, "performRetrieve", d.perform_retrieve)?,
            purge_on_delete: flag(o, "purgeOnDelete", d.purge_on_delete)?,
            rollback_on_error: flag(o, "rollbackOnError", d.rollback_on_error)?,
            run_tests: match o.get("runTests") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|t| t.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or("deployOptions.runTests must be a list of class names")?,
                Some(_) => {
                    return Err("deployOptions.runTests must be a list of class names".into());
                }
            },
            single_package: flag(o, "singlePackage", d.single_package)?,
            test_level: match o.get("testLevel") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("deployOptions.testLevel must be a string".into()),
            },
        })
    }
}

/// A flag of JSON `deployOptions`, or its default.
fn flag(o: &Map<String, Value>, name: &str, default: bool) -> Result<bool, String> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(format!("deployOptions.{name} must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn soap_options_in_any_order_case_and_with_stray_text() {
        let op = forcebus_xml::parse(
            b"<deploy><DeployOptions><rollbackOnError>False</rollbackOnError>None<checkOnly>1</checkOnly><singlePackage>true</singlePackage><runTests>A</runTests><runTests>B</runTests><testLevel>None</testLevel><ignoreWarnings>maybe</ignoreWarnings></DeployOptions></deploy>",
        )
        .unwrap();
        let o = DeployOptions::from_soap(&op);
        assert!(!o.rollback_on_error && o.check_only && o.single_package);
        assert!(!o.ignore_warnings, "an unreadable flag keeps its default");
        assert_eq!(o.run_tests, ["A", "B"]);
        assert_eq!(o.test_level, None, "simple-salesforce's literal None");
        let bare = forcebus_xml::parse(b"<deploy/>").unwrap();
        assert_eq!(DeployOptions::from_soap(&bare), DeployOptions::default());
    }

    #[test]
    fn json_options_as_sdr_sends_them_round_trip() {
        let sent = json!({"deployOptions": {"rollbackOnError": true, "ignoreWarnings": false,
            "checkOnly": "true", "singlePackage": true, "runTests": ["T"], "testLevel": "RunLocalTests",
            "purgeOnDelete": false, "rest": true}});
        let o = DeployOptions::from_json(&sent).unwrap();
        assert!(o.check_only && o.single_package && o.rollback_on_error);
        assert_eq!(o.test_level.as_deref(), Some("RunLocalTests"));
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            concat!(
                r#"{"allowMissingFiles":false,"autoUpdatePackage":false,"checkOnly":true,"#,
                r#""ignoreWarnings":false,"performRetrieve":false,"purgeOnDelete":false,"#,
                r#""rollbackOnError":true,"runTests":["T"],"singlePackage":true,"#,
                r#""testLevel":"RunLocalTests"}"#
            )
        );
        assert_eq!(
            DeployOptions::from_json(&json!({})).unwrap(),
            DeployOptions::default()
        );
    }

    #[test]
    fn json_options_of_the_wrong_type_say_which() {
        for (bad, want) in [
            (json!([]), "must be an object"),
            (
                json!({"deployOptions": 3}),
                "deployOptions must be an object",
            ),
            (
                json!({"deployOptions": {"checkOnly": 1}}),
                "deployOptions.checkOnly",
            ),
            (json!({"deployOptions": {"runTests": [1]}}), "runTests"),
            (json!({"deployOptions": {"testLevel": false}}), "testLevel"),
        ] {
            let e = DeployOptions::from_json(&bad).unwrap_err();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
