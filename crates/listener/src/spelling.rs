//! Response header names as Salesforce writes them on HTTP/1.1: Title-Case (`Content-Type`,
//! `Sforce-Limit-Info`, `Sforce-Locator`), and Salesforce's own spelling where it is not
//! Title-Case (`Sforce-NumberOfRecords`, `ETag`). Names are case-insensitive by the RFC, but
//! clients are not: a Python CDK that looks a header up in `dict(response.headers)` finds
//! a lower-case `content-type` that Salesforce never sends. Both paths write the same
//! names: the lean path through [`write`], hyper through its `title_case_headers` and, for
//! the names in [`OWN`], a header-case map made once from them ([`super::served`]).

/// The names whose Salesforce spelling is not their Title-Case form.
pub(crate) const OWN: &[&str] = &[
    "Sforce-NumberOfRecords",
    "ETag",
    "WWW-Authenticate",
    "X-XSS-Protection",
    "X-SFDC-Session",
    "X-SFDC-Request-Id",
];

/// Appends `name` (as `http` holds it: lower case) spelled as Salesforce writes it.
pub(crate) fn write(out: &mut Vec<u8>, name: &[u8]) {
    if let Some(own) = OWN
        .iter()
        .find(|own| own.as_bytes().eq_ignore_ascii_case(name))
    {
        out.extend_from_slice(own.as_bytes());
        return;
    }
    title_case(out, name);
}

/// Appends `name` with the first letter of each `-`-separated word upper case.
fn title_case(out: &mut Vec<u8>, name: &[u8]) {
    let mut upper = true;
    for &b in name {
        out.push(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelled(name: &str) -> String {
        let mut out = Vec::new();
        write(&mut out, name.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn title_case_and_salesforces_own_spellings() {
        for (name, want) in [
            ("content-type", "Content-Type"),
            ("sforce-limit-info", "Sforce-Limit-Info"),
            ("sforce-locator", "Sforce-Locator"),
            ("sforce-numberofrecords", "Sforce-NumberOfRecords"),
            ("sforce-query-options", "Sforce-Query-Options"),
            ("etag", "ETag"),
            ("www-authenticate", "WWW-Authenticate"),
            ("date", "Date"),
            ("x-forcebus-proto", "X-Forcebus-Proto"),
            ("a--b", "A--B"),
            ("", ""),
        ] {
            assert_eq!(spelled(name), want);
        }
    }

    #[test]
    fn every_own_spelling_differs_from_title_case() {
        for own in OWN {
            let mut title = Vec::new();
            title_case(&mut title, own.to_ascii_lowercase().as_bytes());
            assert_ne!(title, own.as_bytes(), "{own} needs no entry");
        }
    }
}
