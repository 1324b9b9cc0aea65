//! A user's access worked out from the org's records: their profile's own permission
//! set, every permission set assigned to them, and every set of the groups assigned to
//! them, together.

use super::profiles::{self, Baseline};
use super::rules::{Principal, Shares, SharingRuleConfig};
use super::sharing::{Level, Reach, RuleGrant, RuleTest};
use super::{Access, FieldPerms, ObjectPerms, UserPerms};
use crate::FastMap;
use crate::id::RecordId;
use crate::meta::Schema;
use crate::record::Record;
use crate::state::State;

/// `user`'s access in `state`. A user with no profile (one made before profiles
/// existed) has everything, as every user had then; a user the org does not have has
/// nothing (but the org's first, making itself).
pub(crate) fn access_of(
    state: &State,
    schema: &Schema,
    user: RecordId,
    rules: &[SharingRuleConfig],
) -> Access {
    let Some(record) = state.records.get(&user).filter(|r| r.object == "User") else {
        // The org making its first user acts as that user before it exists.
        if live(state, "User").next().is_none() {
            return Access::everything(user);
        }
        return Access::nothing(user);
    };
    let active = record.get("IsActive") != false;
    let Some(profile) = id_of(record, "ProfileId") else {
        return Access {
            active,
            ..Access::everything(user)
        };
    };
    let mut sets: Vec<RecordId> = live(state, "PermissionSet")
        .filter(|ps| ps.get("IsOwnedByProfile") == true && id_of(ps, "ProfileId") == Some(profile))
        .map(|ps| ps.id)
        .collect();
    let assigned =
        live(state, "PermissionSetAssignment").filter(|a| id_of(a, "AssigneeId") == Some(user));
    let mut groups = Vec::new();
    for a in assigned {
        sets.extend(id_of(a, "PermissionSetId"));
        groups.extend(id_of(a, "PermissionSetGroupId"));
    }
    sets.extend(
        live(state, "PermissionSetGroupComponent")
            .filter(|c| id_of(c, "PermissionSetGroupId").is_some_and(|g| groups.contains(&g)))
            .filter_map(|c| id_of(c, "PermissionSetId")),
    );
    sets.sort_unstable();
    sets.dedup();
    let mut access = Access {
        active,
        baseline: baseline(state, profile),
        ..Access::nothing(user)
    };
    for set in sets.iter().filter_map(|id| state.records.get(id)) {
        access.perms = access.perms.union(user_perms(set));
    }
    if access.baseline == Baseline::Everything {
        access.perms = Access::everything(user).perms;
    }
    access.objects = object_perms(state, &sets);
    access.fields = field_perms(state, &sets);
    if !access.is_everything() {
        access.reach = reach(state, schema, record);
        access.reach.rules = rule_grants(state, record, rules);
    }
    access
}

/// The user `user`'s reach: they and the users below them in the role hierarchy, and the
/// records shared with them or their public groups.
fn reach(state: &State, schema: &Schema, user: &Record) -> Reach {
    let mut below = forcebus_record::FastSet::default();
    below.insert(user.id);
    if let Some(role) = id_of(user, "UserRoleId") {
        let mut children: FastMap<RecordId, Vec<RecordId>> = FastMap::default();
        for r in live(state, "UserRole") {
            if let Some(parent) = id_of(r, "ParentRoleId") {
                children.entry(parent).or_default().push(r.id);
            }
        }
        let mut roles = Vec::new();
        let mut todo = children.get(&role).cloned().unwrap_or_default();
        while let Some(r) = todo.pop() {
            if roles.contains(&r) || roles.len() > MAX_ROLES {
                continue;
            }
            roles.push(r);
            todo.extend(children.get(&r).into_iter().flatten().copied());
        }
        below.extend(
            live(state, "User")
                .filter(|u| id_of(u, "UserRoleId").is_some_and(|r| roles.contains(&r)))
                .map(|u| u.id),
        );
    }
    let mut who = vec![user.id];
    who.extend(
        live(state, "GroupMember")
            .filter(|m| id_of(m, "UserOrGroupId") == Some(user.id))
            .filter_map(|m| id_of(m, "GroupId")),
    );
    let mut shared: FastMap<RecordId, Level> = FastMap::default();
    for share in schema.objects().filter(|o| o.name.ends_with("Share")) {
        let Some(parent) = share
            .fields
            .iter()
            .find(|f| f.ftype == crate::meta::FieldType::Reference && f.cascade_delete)
        else {
            continue;
        };
        let Some(level) = share
            .fields
            .iter()
            .find(|f| f.name.ends_with("AccessLevel"))
        else {
            continue;
        };
        for row in live(state, &share.name) {
            if !id_of(row, "UserOrGroupId").is_some_and(|w| who.contains(&w)) {
                continue;
            }
            let (Some(record), Some(l)) = (id_of(row, &parent.name), row.get_str(&level.name))
            else {
                continue;
            };
            let entry = shared.entry(record).or_default();
            *entry = (*entry).max(Level::parse(l));
        }
    }
    Reach {
        below,
        shared,
        rules: Vec::new(),
    }
}

/// The sharing rules that share with `user`, each as what it grants them.
fn rule_grants(state: &State, user: &Record, rules: &[SharingRuleConfig]) -> Vec<RuleGrant> {
    rules
        .iter()
        .filter(|r| {
            r.shared_to
                .iter()
                .any(|p| members(state, p).contains(&user.id))
        })
        .map(|r| RuleGrant {
            object: r.object.to_ascii_lowercase(),
            level: Level::parse(&r.access_level).min(Level::Edit),
            test: match &r.shares {
                Shares::Criteria(items) => RuleTest::Criteria(items.clone()),
                Shares::OwnedBy(p) => RuleTest::OwnedBy(members(state, p)),
            },
        })
        .collect()
}

/// The users a principal of a sharing rule stands for.
fn members(state: &State, p: &Principal) -> Vec<RecordId> {
    let role_named = |name: &str| {
        live(state, "UserRole")
            .find(|r| {
                r.get_str("DeveloperName")
                    .or_else(|| r.get_str("Name"))
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(|r| r.id)
    };
    let in_roles = |roles: &[RecordId]| -> Vec<RecordId> {
        live(state, "User")
            .filter(|u| id_of(u, "UserRoleId").is_some_and(|r| roles.contains(&r)))
            .map(|u| u.id)
            .collect()
    };
    match p {
        Principal::AllInternalUsers => live(state, "User").map(|u| u.id).collect(),
        Principal::Role(name) => role_named(name).map_or_else(Vec::new, |r| in_roles(&[r])),
        Principal::RoleAndSubordinates(name) => {
            let Some(top) = role_named(name) else {
                return Vec::new();
            };
            let mut roles = vec![top];
            let mut i = 0;
            while i < roles.len() && roles.len() <= MAX_ROLES {
                let parent = roles[i];
                roles.extend(
                    live(state, "UserRole")
                        .filter(|r| id_of(r, "ParentRoleId") == Some(parent))
                        .map(|r| r.id),
                );
                i += 1;
            }
            in_roles(&roles)
        }
        Principal::Group(name) => {
            let groups: Vec<RecordId> = live(state, "Group")
                .filter(|g| {
                    g.get_str("DeveloperName")
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .map(|g| g.id)
                .collect();
            live(state, "GroupMember")
                .filter(|m| id_of(m, "GroupId").is_some_and(|g| groups.contains(&g)))
                .filter_map(|m| id_of(m, "UserOrGroupId"))
                .collect()
        }
    }
}

/// Most roles below one followed (a hierarchy of more is cut there).
const MAX_ROLES: usize = 10_000;

/// What the standard profile `profile` grants without records (nothing for a custom
/// profile).
fn baseline(state: &State, profile: RecordId) -> Baseline {
    let Some(p) = state.records.get(&profile) else {
        return Baseline::Nothing;
    };
    let custom = live(state, "PermissionSet").any(|ps| {
        ps.get("IsOwnedByProfile") == true
            && id_of(ps, "ProfileId") == Some(profile)
            && ps.get("IsCustom") == true
    });
    match p.get_str("Name").and_then(profiles::standard) {
        Some(standard) if !custom => standard.baseline,
        _ => Baseline::Nothing,
    }
}

/// The user permissions a permission set (or a profile's own) grants.
pub(crate) fn user_perms(set: &Record) -> UserPerms {
    let on = |name: &str| set.get(name) == true;
    UserPerms {
        api_enabled: on("PermissionsApiEnabled"),
        view_all_data: on("PermissionsViewAllData"),
        modify_all_data: on("PermissionsModifyAllData"),
        customize_application: on("PermissionsCustomizeApplication"),
        modify_metadata: on("PermissionsModifyMetadata"),
        manage_users: on("PermissionsManageUsers"),
    }
}

fn object_perms(state: &State, sets: &[RecordId]) -> FastMap<String, ObjectPerms> {
    let mut out: FastMap<String, ObjectPerms> = FastMap::default();
    for row in live(state, "ObjectPermissions") {
        if id_of(row, "ParentId").is_none_or(|p| sets.binary_search(&p).is_err()) {
            continue;
        }
        let Some(object) = row.get_str("SobjectType") else {
            continue;
        };
        let on = |name: &str| row.get(name) == true;
        let perms = ObjectPerms {
            read: on("PermissionsRead"),
            create: on("PermissionsCreate"),
            edit: on("PermissionsEdit"),
            delete: on("PermissionsDelete"),
            view_all: on("PermissionsViewAllRecords"),
            modify_all: on("PermissionsModifyAllRecords"),
        };
        let entry = out.entry(object.to_ascii_lowercase()).or_default();
        *entry = entry.union(perms);
    }
    out
}

fn field_perms(state: &State, sets: &[RecordId]) -> FastMap<String, FieldPerms> {
    let mut out: FastMap<String, FieldPerms> = FastMap::default();
    for row in live(state, "FieldPermissions") {
        if id_of(row, "ParentId").is_none_or(|p| sets.binary_search(&p).is_err()) {
            continue;
        }
        let Some(field) = row.get_str("Field") else {
            continue;
        };
        let entry = out.entry(field.to_ascii_lowercase()).or_default();
        entry.read |= row.get("PermissionsRead") == true;
        entry.edit |= row.get("PermissionsEdit") == true;
    }
    out
}

/// The records of `object` not in the Recycle Bin.
fn live<'s>(state: &'s State, object: &str) -> impl Iterator<Item = &'s Record> + 's {
    state.of(object).filter(|r| !r.is_deleted)
}

fn id_of(record: &Record, field: &str) -> Option<RecordId> {
    record.get_str(field).and_then(RecordId::parse)
}
