//! An object's canonical name as a record holds it: one shared copy per name, not a
//! `String` in every record.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An object's canonical name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObjectName(Arc<str>);

impl ObjectName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ObjectName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ObjectName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ObjectName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ObjectName {
    fn from(name: &str) -> Self {
        Self(crate::fields::intern(name))
    }
}

impl From<&String> for ObjectName {
    fn from(name: &String) -> Self {
        Self::from(name.as_str())
    }
}

impl From<String> for ObjectName {
    fn from(name: String) -> Self {
        Self::from(name.as_str())
    }
}

impl From<ObjectName> for String {
    fn from(name: ObjectName) -> Self {
        name.0.to_string()
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for ObjectName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ObjectName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for ObjectName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<ObjectName> for String {
    fn eq(&self, other: &ObjectName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<ObjectName> for &str {
    fn eq(&self, other: &ObjectName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<ObjectName> for str {
    fn eq(&self, other: &ObjectName) -> bool {
        *self == *other.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shared_and_compare_as_text() {
        let a = ObjectName::from("Account");
        let b = ObjectName::from(String::from("Account"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let text = String::from("Account");
        assert!(a == "Account" && a == *"Account" && a == text);
        assert!("Account" == a && text == a);
        assert_ne!(a, ObjectName::from("Contact"));
        assert_eq!(format!("{a} {a:?}"), "Account \"Account\"");
    }
}
