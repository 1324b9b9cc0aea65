//! The sign-in page of `/services/oauth2/authorize`. Its form uses Salesforce's own element
//! ids (`username`, `password`, `Login`), so browser scripts written against Salesforce's
//! login page (Playwright's `#username`, `#password`, `#Login`) work unchanged. The OAuth
//! request rides along in hidden fields; every value is HTML-escaped.

use forcebus_auth::AuthorizeRequest;

// XML escaping is HTML escaping for text and double-quoted attributes.
use forcebus_xml::escape;

/// Salesforce's message after a failed sign-in.
pub(crate) const FAILED: &str = "Please check your username and password. If you still can't log in, \
                          contact your Salesforce administrator.";

/// The username and password a sign-in form posted (`pw`, as Salesforce's form names it,
/// or `password`).
pub(crate) fn credentials(form: &std::collections::HashMap<String, String>) -> (String, String) {
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form
        .get("pw")
        .or_else(|| form.get("password"))
        .cloned()
        .unwrap_or_default();
    (username, password)
}

/// The page: the form, the request's hidden fields, and `error` above the form if any.
pub(crate) fn render(request: &AuthorizeRequest, username: &str, error: Option<&str>) -> String {
    form(
        "/services/oauth2/authorize",
        &request.fields(),
        username,
        error,
    )
}

/// The sign-in form posted to `action`, with Salesforce's ids and classes, `hidden` as
/// hidden fields and `error` above the form if any; every value HTML-escaped. Both sign-in
/// pages (this one and Salesforce's login URL, `crate::pages::login`) are this form.
pub(crate) fn form(
    action: &str,
    hidden: &[(&str, &str)],
    username: &str,
    error: Option<&str>,
) -> String {
    let hidden: String = hidden
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            )
        })
        .collect();
    let error = error
        .map(|e| {
            format!(
                r#"<div id="error" class="loginError" role="alert">{}</div>"#,
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Login | forcebus</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:sans-serif;background:#f3f3f3;display:flex;justify-content:center;padding-top:10vh}}
form{{background:#fff;padding:2em;border-radius:6px;width:20em;display:flex;flex-direction:column;gap:.6em}}
input[type=email],input[type=password]{{padding:.5em}}#error{{color:#c23934}}</style></head>
<body>
<form id="login_form" name="login" method="post" action="{action}">
<h1>forcebus</h1>
{error}
<label for="username">Username</label>
<input id="username" name="username" type="email" class="input r4 wide mb16 mt8 username" autocomplete="username" value="{username}" required>
<label for="password">Password</label>
<input id="password" name="pw" type="password" class="input r4 wide mb16 mt8 password" autocomplete="current-password" required>
{hidden}
<input id="Login" name="Login" class="button r4 wide primary" type="submit" value="Log In">
</form>
</body>
</html>
"#,
        action = escape(action),
        username = escape(username),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_the_page() {
        let request = AuthorizeRequest {
            client_id: "cid".into(),
            redirect_uri: "http://localhost/cb".into(),
            state: Some(r#""><script>alert(1)</script>"#.into()),
            challenge: None,
        };
        let page = render(&request, "<b>", Some("x"));
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
        assert!(page.contains(r#"value="&lt;b&gt;""#));
        for id in ["username", "password", "Login"] {
            assert!(page.contains(&format!(r#"id="{id}""#)), "{id}");
        }
    }
}
