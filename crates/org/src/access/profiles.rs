//! The standard profiles a Developer Edition org has, what each grants without records,
//! and which objects object permissions govern at all.
//!
//! A standard profile's object permissions cannot be edited on Salesforce, and since
//! Spring '10 no profile but those with Modify All Data gets access to a new custom
//! object or a new custom field: a custom object, and a custom field of a standard
//! object, are reached through permission sets (or a custom profile's records).

use super::{ObjectPerms, UserPerms};
use crate::meta::FieldDef;

/// What a standard profile grants without records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Baseline {
    /// Nothing: a custom profile, or a Minimum Access one.
    #[default]
    Nothing,
    /// Read the standard business objects and their standard fields.
    Read,
    /// Read, create, edit and delete the standard business objects (read the price
    /// books and products), and their standard fields.
    Standard,
    /// Everything (System Administrator; also Modify All Data).
    Everything,
}

impl Baseline {
    /// What this baseline grants on the object named `name` (canonical).
    pub(crate) fn object(self, name: &str) -> ObjectPerms {
        let business = BUSINESS.iter().any(|b| b.eq_ignore_ascii_case(name));
        match self {
            Self::Everything => ObjectPerms::ALL,
            Self::Standard if business && READ_ONLY_FOR_STANDARD.contains(&name) => {
                ObjectPerms::READ
            }
            Self::Standard if business => ObjectPerms::CRED,
            Self::Read if business => ObjectPerms::READ,
            _ => ObjectPerms::default(),
        }
    }

    /// Whether this baseline shows `field` of the object named `object` without a field
    /// permission: the standard fields of the objects it grants.
    pub(crate) fn grants_field(self, object: &str, field: &FieldDef) -> bool {
        match self {
            Self::Everything => true,
            Self::Nothing => false,
            Self::Read | Self::Standard => !field.custom && self.object(object).read,
        }
    }
}

/// A standard profile: its name, its user permissions and its baseline.
#[derive(Debug, Clone, Copy)]
pub struct StandardProfile {
    /// The profile's name.
    pub name: &'static str,
    /// `UserType`.
    pub user_type: &'static str,
    /// Its user permissions.
    pub perms: UserPerms,
    /// What it grants without records.
    pub baseline: Baseline,
}

const fn api(on: bool) -> UserPerms {
    UserPerms {
        api_enabled: on,
        view_all_data: false,
        modify_all_data: false,
        customize_application: false,
        modify_metadata: false,
        manage_users: false,
    }
}

/// The profile every org's first user has.
pub const SYSTEM_ADMINISTRATOR: &str = "System Administrator";
/// The profile a user made without one is given.
pub const STANDARD_USER: &str = "Standard User";

/// The standard profiles of a Developer Edition org (Read Only as orgs made before
/// Spring '21 have it).
pub const STANDARD: &[StandardProfile] = &[
    StandardProfile {
        name: SYSTEM_ADMINISTRATOR,
        user_type: "Standard",
        perms: UserPerms {
            api_enabled: true,
            view_all_data: true,
            modify_all_data: true,
            customize_application: true,
            modify_metadata: true,
            manage_users: true,
        },
        baseline: Baseline::Everything,
    },
    StandardProfile {
        name: STANDARD_USER,
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Standard,
    },
    StandardProfile {
        name: "Read Only",
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Read,
    },
    StandardProfile {
        name: "Marketing User",
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Standard,
    },
    StandardProfile {
        name: "Contract Manager",
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Standard,
    },
    StandardProfile {
        name: "Solution Manager",
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Standard,
    },
    StandardProfile {
        name: "Minimum Access - Salesforce",
        user_type: "Standard",
        perms: api(false),
        baseline: Baseline::Nothing,
    },
    StandardProfile {
        name: "Minimum Access - API Only Integrations",
        user_type: "Standard",
        perms: api(true),
        baseline: Baseline::Nothing,
    },
];

/// The standard profile named `name` (any case).
pub fn standard(name: &str) -> Option<&'static StandardProfile> {
    STANDARD.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The standard objects whose access object permissions govern.
const BUSINESS: &[&str] = &[
    "Account",
    "Asset",
    "Campaign",
    "Case",
    "Contact",
    "Contract",
    "Document",
    "Idea",
    "Lead",
    "Opportunity",
    "Order",
    "Pricebook2",
    "Product2",
    "Quote",
    "Solution",
];

/// Business objects a Standard User reads but does not change.
const READ_ONLY_FOR_STANDARD: &[&str] = &["Pricebook2", "Product2"];

/// Objects whose access their parent's controls, and that parent.
const CONTROLLED_BY_PARENT: &[(&str, &str)] = &[
    ("OpportunityLineItem", "Opportunity"),
    ("OpportunityContactRole", "Opportunity"),
    ("OrderItem", "Order"),
    ("QuoteLineItem", "Quote"),
    ("CaseComment", "Case"),
    ("CaseContactRole", "Case"),
    ("AccountContactRole", "Account"),
    ("CampaignMember", "Campaign"),
    ("PricebookEntry", "Pricebook2"),
];

/// The object whose permissions govern `name`'s: its parent's, or its own.
pub(crate) fn controlling(name: &str) -> &str {
    CONTROLLED_BY_PARENT
        .iter()
        .find(|(child, _)| child.eq_ignore_ascii_case(name))
        .map_or(name, |(_, parent)| parent)
}

/// Whether object permissions govern the object named `name`: a custom object or
/// platform event, or a standard business object. Every other object (users, record
/// types, setup objects, tasks and events) is open to every user to read.
pub fn permissionable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("__c")
        || lower.ends_with("__e")
        || BUSINESS.iter().any(|b| b.eq_ignore_ascii_case(name))
}

/// The objects only a user who manages users may change: the records users' access is
/// read from.
pub(crate) const USER_ADMINISTRATION: &[&str] = &[
    "User",
    "Profile",
    "PermissionSet",
    "PermissionSetAssignment",
    "PermissionSetGroup",
    "PermissionSetGroupComponent",
    "ObjectPermissions",
    "FieldPermissions",
    "UserRole",
    "Group",
    "GroupMember",
];

/// What every user may do with an object object permissions do not govern: read it,
/// and change it unless it is one of user administration's (then `ManageUsers` is
/// needed).
pub(crate) fn open_object(name: &str, perms: UserPerms) -> ObjectPerms {
    let administered = USER_ADMINISTRATION
        .iter()
        .any(|o| o.eq_ignore_ascii_case(name));
    if administered && !perms.manage_users {
        ObjectPerms::READ
    } else {
        ObjectPerms::CRED
    }
}
