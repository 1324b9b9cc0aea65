//! What comes after a deploy (`metadata-tooling.md` §5.6), over SOAP and REST:
//! `deployRecentValidation`, a quick deploy of a kept validation (a successful
//! `checkOnly` deploy: its zip applied again, not check-only), and `cancelDeploy`.
//!
//! The validations a quick deploy takes are [`crate::metadata::validations`]'.

use forcebus_org::{Code, OrgError};

use crate::metadata::deploy::start;
use crate::metadata::options::DeployOptions;
use forcebus_xml::Element;
use forcebus_xml::write::Writer;

/// A quick deploy of the validation `id`: its zip applied again with its options, not
/// `checkOnly`; the new deploy's id.
pub(crate) async fn deploy_validated(
    app: &crate::State,
    caller: &forcebus_org::Caller,
    id: &str,
) -> Result<String, OrgError> {
    let v = app
        .deploys
        .validations
        .take(id, &app.org.schema(), app.org.clock().now())?;
    let options = DeployOptions {
        check_only: false,
        ..v.options
    };
    Ok(start(app, caller, v.zip, options, Some(v.id)).await)
}

/// Whether deploy `id` may be canceled: never here, every deploy being complete before
/// its id is handed out. Salesforce refuses a completed one with `INVALID_ID_FIELD:
/// Deployment already completed` (what the sf CLI's own tests expect of a deploy that
/// finished before the cancel arrived, and jsforce turns into an error); an unknown id
/// is an invalid cross reference, as for `checkDeployStatus`.
pub(crate) fn cancel(app: &crate::State, id: &str) -> Result<(), OrgError> {
    match app.deploys.get(id) {
        None => Err(OrgError::new(
            Code::InvalidCrossReferenceKey,
            "invalid cross reference id",
        )),
        Some(_) => Err(OrgError::new(
            Code::InvalidId,
            "Deployment already completed",
        )),
    }
}

/// `cancelDeploy` (`<id>` from jsforce, `<String>` in the WSDL: the first child). Were a
/// deploy ever still running, the answer would be `done` false with its id, and the
/// deploy would go `Canceling`, then `Canceled`.
pub(crate) fn cancel_soap(app: &crate::State, op: &Element) -> Result<String, OrgError> {
    let id = op.children.first().map_or("", |c| c.text.trim());
    cancel(app, id)?;
    let mut w = Writer::new();
    w.open("cancelDeployResponse")
        .open("result")
        .value("done", false)
        .text("id", id);
    Ok(w.finish())
}

/// `deployRecentValidation` (`<validationId>`, or the first child): the new deploy's id,
/// a bare string.
pub(crate) async fn deploy_recent_validation(
    app: &crate::State,
    caller: &forcebus_org::Caller,
    op: &Element,
) -> Result<String, OrgError> {
    let id = op
        .text_of("validationId")
        .or_else(|| op.children.first().map(|c| c.text.as_str()))
        .unwrap_or_default()
        .trim();
    let new = deploy_validated(app, caller, id).await?;
    Ok(format!(
        "<deployRecentValidationResponse><result>{new}</result></deployRecentValidationResponse>"
    ))
}
