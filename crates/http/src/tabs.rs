//! The org's apps and their tabs, as SOAP `describeTabs` and REST `/tabs` and `/theme`
//! show them: Sales (the sales objects and the org's custom objects) and Service (the
//! service objects). Icons are named where Salesforce keeps them (`/img/icon/...`);
//! forcebus serves no images, and gives no colors (Salesforce's `/theme` may say null).

use forcebus_org::{ObjectDef, Schema};

/// One app: label, description, tab set id, and the objects with a tab.
#[derive(Debug, Clone, Copy)]
pub struct App {
    /// `Sales`.
    pub label: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Its tab set id.
    pub tab_set_id: &'static str,
    objects: &'static [&'static str],
}

/// The org's apps, the first one selected.
pub const APPS: [App; 2] = [
    App {
        label: "Sales",
        description: "Manage your sales process with accounts, leads, opportunities, and more",
        tab_set_id: "02u000000000001",
        objects: &[
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "Campaign",
            "Product2",
            "Pricebook2",
            "Contract",
            "Order",
            "Quote",
            "Asset",
            "ContentDocument",
        ],
    },
    App {
        label: "Service",
        description: "Manage customer service with accounts, contacts, cases, and more",
        tab_set_id: "02u000000000002",
        objects: &[
            "Account",
            "Contact",
            "Case",
            "Solution",
            "Entitlement",
            "Asset",
        ],
    },
];

impl App {
    /// The objects with a tab in this app, as `schema` has them (the first app takes the
    /// org's custom objects too).
    pub fn objects<'s>(&self, schema: &'s Schema) -> Vec<&'s ObjectDef> {
        let mut tabs: Vec<&ObjectDef> = self
            .objects
            .iter()
            .filter_map(|o| schema.object(o))
            .collect();
        if self.label == APPS[0].label {
            tabs.extend(schema.objects().filter(|o| o.custom));
        }
        tabs
    }

    /// Its logo's URL.
    pub fn logo_url(&self, origin: &str) -> String {
        format!(
            "{origin}/img/seasonLogos/{}_logo.png",
            self.label.to_lowercase()
        )
    }
}

/// One tab: an object's.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tab {
    /// A custom object's tab.
    pub custom: bool,
    /// Its 32-pixel icon.
    pub icon_url: String,
    /// Its icons.
    pub icons: Vec<Icon>,
    /// The object's plural label.
    pub label: String,
    /// Its 16-pixel icon.
    pub mini_icon_url: String,
    /// `standard-Account`, or the custom object's name.
    pub name: String,
    /// The object.
    pub sobject_name: String,
    /// The tab's page.
    pub url: String,
}

/// One icon of a tab.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Icon {
    /// `image/png`.
    pub content_type: String,
    /// Pixels.
    pub height: u32,
    /// `theme3`.
    pub theme: String,
    /// Where it is.
    pub url: String,
    /// Pixels.
    pub width: u32,
}

impl Tab {
    /// The tab of `o`, its URLs under `origin`.
    pub fn of(o: &ObjectDef, origin: &str) -> Self {
        let icon = o.name.to_lowercase();
        let url = |size: u32| format!("{origin}/img/icon/{icon}{size}.png");
        Self {
            custom: o.custom,
            icon_url: url(32),
            icons: [32, 16]
                .into_iter()
                .map(|size| Icon {
                    content_type: "image/png".into(),
                    height: size,
                    theme: "theme3".into(),
                    url: url(size),
                    width: size,
                })
                .collect(),
            label: o.label_plural.clone(),
            mini_icon_url: url(16),
            name: if o.custom {
                o.name.clone()
            } else {
                format!("standard-{}", o.name)
            },
            sobject_name: o.name.clone(),
            url: format!("{origin}/{}/o", o.key_prefix),
        }
    }
}

/// Every tab of every app, each object once, in the apps' order.
pub fn all(schema: &Schema, origin: &str) -> Vec<Tab> {
    let mut seen = std::collections::HashSet::new();
    APPS.iter()
        .flat_map(|app| app.objects(schema))
        .filter(|o| seen.insert(o.name.clone()))
        .map(|o| Tab::of(o, origin))
        .collect()
}
