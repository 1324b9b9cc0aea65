//! The service and people objects: Case, User, Task.

use super::fields::*;
use crate::{FieldDef, FieldType as T, ObjectDef};

pub(super) fn case() -> ObjectDef {
    let mut v = head();
    v.push(master_record("Case"));
    let mut number = name_field(readonly(text("CaseNumber", "Case Number", 30)));
    number.nillable = false;
    number.defaulted_on_create = true;
    number.auto_number = true;
    v.push(number);
    v.push(lookup(
        "ContactId",
        "Contact ID",
        &["Contact"],
        "Contact",
        Some("Cases"),
    ));
    v.push(cascade(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        Some("Cases"),
    )));
    v.push(lookup(
        "ParentId",
        "Parent Case ID",
        &["Case"],
        "Parent",
        Some("Cases"),
    ));
    v.push(text("SuppliedName", "Name", 80));
    v.push(f("SuppliedEmail", "Email Address", T::Email));
    v.push(text("SuppliedPhone", "Phone", 40));
    v.push(text("SuppliedCompany", "Company", 80));
    v.push(pick(
        "Type",
        "Case Type",
        &[
            "Mechanical",
            "Electrical",
            "Electronic",
            "Structural",
            "Other",
        ],
    ));
    v.push(pick_default(
        "Status",
        "Status",
        &["New", "Working", "Escalated", "Closed"],
        "New",
    ));
    v.push(pick(
        "Reason",
        "Case Reason",
        &[
            "Installation",
            "Equipment Complexity",
            "Performance",
            "Breakdown",
            "Equipment Design",
            "Feedback",
            "Other",
        ],
    ));
    v.push(pick("Origin", "Case Origin", &["Phone", "Email", "Web"]));
    v.push(text("Subject", "Subject", 255));
    v.push(pick_default(
        "Priority",
        "Priority",
        &["High", "Medium", "Low"],
        "Medium",
    ));
    v.push(area("Description", "Description", 32000));
    v.push(calculated(flag("IsClosed", "Closed")));
    v.push(readonly(f("ClosedDate", "Closed Date", T::Datetime)));
    v.push(flag("IsEscalated", "Escalated"));
    let mut own = owner();
    own.reference_to.push("Group".to_owned());
    v.push(own);
    v.extend(audit());
    v.extend(views());
    ObjectDef::new("Case", "Case", "Cases", "500", v)
}

pub(super) fn user() -> ObjectDef {
    let mut v = head();
    v.pop(); // User has no IsDeleted: users are deactivated, never deleted.
    let mut username = required(text("Username", "Username", 80));
    username.unique = true;
    v.push(username);
    v.extend(person_name(true));
    v.push(text("CompanyName", "Company Name", 80));
    v.push(text("Division", "Division", 80));
    v.push(text("Department", "Department", 80));
    v.push(text("Title", "Title", 80));
    v.extend(address("", "User"));
    v.push(required(f("Email", "Email", T::Email)));
    v.push(f("Phone", "Phone", T::Phone));
    v.push(f("MobilePhone", "Mobile", T::Phone));
    v.push(required(text("Alias", "Alias", 8)));
    let mut nick = text("CommunityNickname", "Nickname", 40);
    nick.nillable = false;
    nick.defaulted_on_create = true;
    v.push(nick);
    let mut active = flag("IsActive", "Active");
    active.default_value = Some(serde_json::Value::Bool(true));
    v.push(active);
    v.extend(user_locale());
    v.push(lookup(
        "ProfileId",
        "Profile ID",
        &["Profile"],
        "Profile",
        None,
    ));
    v.push(lookup(
        "UserRoleId",
        "Role ID",
        &["UserRole"],
        "UserRole",
        None,
    ));
    v.push(lookup(
        "ManagerId",
        "Manager ID",
        &["User"],
        "Manager",
        None,
    ));
    let mut user_type = readonly(pick(
        "UserType",
        "User Type",
        &["Standard", "PowerPartner", "CsnOnly", "Guest"],
    ));
    // The org's own users are internal ones (`standard-objects.md` §4.12).
    user_type.default_picklist = Some("Standard".into());
    user_type.defaulted_on_create = true;
    v.push(user_type);
    v.extend(audit());
    v.push(readonly(f("LastLoginDate", "Last Login", T::Datetime)));
    let mut o = ObjectDef::new("User", "User", "Users", "005", v);
    o.deletable = false;
    o.also_tooling = true;
    o
}

/// A user's time zone, locale, email encoding and language, each a picklist with its
/// default.
fn user_locale() -> Vec<FieldDef> {
    let mut v = Vec::new();
    for (name, label, default, values) in [
        (
            "TimeZoneSidKey",
            "Time Zone",
            "America/Los_Angeles",
            &[
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
                "Europe/Paris",
                "Asia/Tokyo",
                "GMT",
            ][..],
        ),
        (
            "LocaleSidKey",
            "Locale",
            "en_US",
            &["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP"][..],
        ),
        (
            "EmailEncodingKey",
            "Email Encoding",
            "UTF-8",
            &["UTF-8", "ISO-8859-1"][..],
        ),
        (
            "LanguageLocaleKey",
            "Language",
            "en_US",
            &["en_US", "de", "fr", "ja"][..],
        ),
    ] {
        v.push(pick_default(name, label, values, default));
    }
    v
}

pub(super) fn task() -> ObjectDef {
    let mut v = head();
    v.push(lookup(
        "WhoId",
        "Name ID",
        &["Contact", "Lead"],
        "Who",
        Some("Tasks"),
    ));
    v.push(cascade(lookup(
        "WhatId",
        "Related To ID",
        &["Account", "Opportunity", "Case"],
        "What",
        Some("Tasks"),
    )));
    let mut subject = name_field(f("Subject", "Subject", T::Combobox));
    subject.length = 255;
    subject.picklist = ["Call", "Send Letter", "Send Quote", "Other"]
        .map(String::from)
        .to_vec();
    v.push(subject);
    v.push(f("ActivityDate", "Due Date Only", T::Date));
    v.push(pick_default(
        "Status",
        "Status",
        &[
            "Not Started",
            "In Progress",
            "Completed",
            "Waiting on someone else",
            "Deferred",
        ],
        "Not Started",
    ));
    v.push(pick_default(
        "Priority",
        "Priority",
        &["High", "Normal", "Low"],
        "Normal",
    ));
    v.push(calculated(flag("IsHighPriority", "High Priority")));
    v.push(owner());
    v.push(area("Description", "Description", 32000));
    v.push(pick("Type", "Type", &["Call", "Email", "Meeting", "Other"]));
    v.push(calculated(flag("IsClosed", "Closed")));
    v.push(calculated(lookup(
        "AccountId",
        "Account ID",
        &["Account"],
        "Account",
        None,
    )));
    v.extend(audit());
    v.push(calculated(flag("IsArchived", "Archived")));
    v.push(int("CallDurationInSeconds", "Call Duration", 8));
    v.push(pick(
        "CallType",
        "Call Type",
        &["Internal", "Inbound", "Outbound"],
    ));
    v.push(text("CallDisposition", "Call Result", 255));
    v.push(text("CallObject", "Call Object Identifier", 255));
    v.push(f("ReminderDateTime", "Reminder Date/Time", T::Datetime));
    v.push(flag("IsReminderSet", "Reminder Set"));
    v.push(pick(
        "TaskSubtype",
        "Task Subtype",
        &["Task", "Email", "ListEmail", "Cadence", "Call"],
    ));
    ObjectDef::new("Task", "Task", "Tasks", "00T", v)
}
