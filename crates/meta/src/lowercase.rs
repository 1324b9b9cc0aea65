//! Case-insensitive name lookups without an allocation: a name is lower-cased on the stack
//! when it fits there, which every object and field name does (Salesforce caps API names
//! at 40 characters, 43 with `__c`, and a namespace adds 17).

/// Longest name lower-cased on the stack; a longer one is lower-cased into a `String`.
const ON_STACK: usize = 96;

/// `f` of the ASCII lower case of `name`.
pub(crate) fn with<T>(name: &str, f: impl FnOnce(&str) -> T) -> T {
    if name.len() > ON_STACK {
        return f(&name.to_ascii_lowercase());
    }
    let mut buf = [0u8; ON_STACK];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    match std::str::from_utf8(lower) {
        Ok(lower) => f(lower),
        // Unreachable: ASCII lower-casing leaves every other byte as it was.
        Err(_) => f(&name.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn it_is_to_ascii_lowercase(name in "\\PC{0,120}") {
            prop_assert_eq!(super::with(&name, str::to_owned), name.to_ascii_lowercase());
        }
    }
}
