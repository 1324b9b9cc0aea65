//! Unified diffs for long text fields in change events (`org-rest-cdc.md` §4.6).
//!
//! An update of a long text area may carry a diff instead of the value. The full value is
//! sent when the new value is under 1,000 characters, when the lengths differ by more than
//! half, when more than a quarter of the lines changed, or when the diff is not shorter
//! than the value. The diff has one hunk per run of changed lines, without context lines,
//! headed `--- \n+++ <sha256 of the new value>`.

use sha2::{Digest, Sha256};

/// Shortest value that may travel as a diff.
pub const MIN_CHARS: usize = 1000;

/// One edit of a line diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Keep,
    Remove,
    Add,
}

/// A shortest edit script between two line lists, by longest common subsequence.
fn edits(a: &[&str], b: &[&str]) -> Vec<Edit> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(n + m));
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(Edit::Keep);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(Edit::Add);
            j += 1;
        } else {
            out.push(Edit::Remove);
            i += 1;
        }
    }
    out
}

/// Longest texts diffed, in lines (the edit table is quadratic).
const MAX_LINES: usize = 4000;

/// The diff of `old` to `new`, when the rules allow one.
pub fn diff(old: &str, new: &str) -> Option<String> {
    let (old_len, new_len) = (old.chars().count(), new.chars().count());
    if new_len < MIN_CHARS || old_len.abs_diff(new_len) * 2 > old_len.max(1) {
        return None;
    }
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    if a.len().max(b.len()) > MAX_LINES {
        return None;
    }
    let script = edits(&a, &b);
    let removed = script.iter().filter(|e| **e == Edit::Remove).count();
    let added = script.iter().filter(|e| **e == Edit::Add).count();
    if removed + added == 0 || removed.max(added) * 4 > a.len().max(b.len()) {
        return None;
    }
    let hash: String = Sha256::digest(new.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut out = format!("--- \n+++ {hash}");
    let range = |start: usize, count: usize| {
        if count == 0 {
            format!("{start},0")
        } else {
            format!("{},{count}", start + 1)
        }
    };
    let (mut i, mut j, mut k) = (0usize, 0usize, 0usize);
    while k < script.len() {
        if script[k] == Edit::Keep {
            i += 1;
            j += 1;
            k += 1;
            continue;
        }
        // One hunk per run of edits, no context lines.
        let (start_a, start_b) = (i, j);
        let (mut minus, mut plus) = (Vec::new(), Vec::new());
        while k < script.len() && script[k] != Edit::Keep {
            match script[k] {
                Edit::Remove => {
                    minus.push(a[i]);
                    i += 1;
                }
                _ => {
                    plus.push(b[j]);
                    j += 1;
                }
            }
            k += 1;
        }
        out.push_str(&format!(
            "\n@@ -{} +{} @@",
            range(start_a, minus.len()),
            range(start_b, plus.len())
        ));
        for l in minus {
            out.push_str("\n-");
            out.push_str(l);
        }
        for l in plus {
            out.push_str("\n+");
            out.push_str(l);
        }
    }
    (out.chars().count() < new_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies a diff made by [`diff`] to `old`: hunks in order, no context lines.
    fn apply(old: &str, d: &str) -> String {
        let mut lines = d.split('\n').peekable();
        assert_eq!(lines.next(), Some("--- "));
        assert!(lines.next().unwrap().starts_with("+++ "));
        let a: Vec<&str> = old.split('\n').collect();
        let (mut out, mut at) = (Vec::new(), 0usize);
        while let Some(h) = lines.next() {
            let old_range = h.trim_start_matches("@@ -").split(' ').next().unwrap();
            let (start, count): (usize, usize) = {
                let (s, c) = old_range.split_once(',').unwrap();
                (s.parse().unwrap(), c.parse().unwrap())
            };
            let first = if count == 0 { start } else { start - 1 };
            out.extend_from_slice(&a[at..first]);
            at = first + count;
            while let Some(l) = lines.peek().filter(|l| !l.starts_with("@@")) {
                if let Some(added) = l.strip_prefix('+') {
                    out.push(added);
                }
                lines.next();
            }
        }
        out.extend_from_slice(&a[at..]);
        out.join("\n")
    }

    fn text(lines: usize, tag: &str) -> String {
        (0..lines)
            .map(|i| format!("line {i:03} {tag} lorem ipsum dolor sit amet"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn a_small_change_to_a_long_text_is_a_diff_that_applies() {
        let old = text(40, "a");
        let mut lines: Vec<String> = old.split('\n').map(str::to_owned).collect();
        lines[7] = "line 007 changed".into();
        lines.insert(20, "a brand new line".into());
        let new = lines.join("\n");
        let d = diff(&old, &new).unwrap();
        assert!(d.starts_with("--- \n+++ "));
        assert_eq!(
            d.lines().nth(1).unwrap().len(),
            4 + 64,
            "+++ and the sha256 hex of the new value"
        );
        assert!(d.contains("\n@@ -8,1 +8,1 @@\n-line 007"), "{d}");
        assert!(d.contains("\n@@ -20,0 +21,1 @@\n+a brand new line"), "{d}");
        assert_eq!(apply(&old, &d), new);
    }

    proptest::proptest! {
        #[test]
        fn every_diff_applies_back_to_the_new_value(
            edits in proptest::collection::vec((0usize..60, 0u8..3, "[a-z ]{0,40}"), 1..4),
        ) {
            let old = text(60, "a");
            let mut lines: Vec<String> = old.split('\n').map(str::to_owned).collect();
            for (at, kind, content) in edits {
                let at = at.min(lines.len().saturating_sub(1));
                match kind {
                    0 => lines[at] = content,
                    1 => lines.insert(at, content),
                    _ if lines.len() > 1 => { lines.remove(at); }
                    _ => {}
                }
            }
            let new = lines.join("\n");
            if let Some(d) = diff(&old, &new) {
                proptest::prop_assert_eq!(apply(&old, &d), new);
            }
        }
    }

    #[test]
    fn the_full_value_is_sent_when_the_rules_say_so() {
        let old = text(40, "a");
        assert_eq!(
            diff("short", "short but changed"),
            None,
            "under 1,000 characters"
        );
        assert_eq!(
            diff(&old, &format!("{old}\n{old}")),
            None,
            "lengths differ by more than half"
        );
        assert_eq!(
            diff(&old, &text(40, "b")),
            None,
            "more than a quarter of the lines changed"
        );
        assert_eq!(diff(&old, &old), None, "nothing changed");
    }
}
