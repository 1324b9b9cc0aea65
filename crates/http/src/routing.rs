//! Route tables that know what they hold: [`Table::route`] takes a path and its methods
//! built as with axum (`get(a).post(b)`), and keeps which methods each path answers, so
//! the 405 of a composite subrequest names them without a second, hand-kept table. (An
//! HTTP request's 405 names them through axum's own `Allow` header.)

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Router;
use axum::handler::Handler;
use axum::routing::MethodRouter;

/// The methods of one path, and the names they answer to (`GET,HEAD,POST`).
#[derive(Debug)]
pub struct On<S> {
    router: MethodRouter<S, Infallible>,
    names: Vec<&'static str>,
}

macro_rules! methods {
    ($($name:ident $label:literal $($also:literal)?;)*) => {
        $(
            #[doc = concat!("A path that answers `", $label, "` with `handler`.")]
            pub fn $name<H, T, S>(handler: H) -> On<S>
            where
                H: Handler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                On {
                    router: axum::routing::$name(handler),
                    names: vec![$label $(, $also)?],
                }
            }
        )*

        impl<S: Clone + Send + Sync + 'static> On<S> {
            $(
                #[doc = concat!("Also answers `", $label, "` with `handler`.")]
                #[must_use]
                pub fn $name<H, T>(mut self, handler: H) -> Self
                where
                    H: Handler<T, S>,
                    T: 'static,
                {
                    self.router = self.router.$name(handler);
                    self.names.extend([$label $(, $also)?]);
                    self
                }
            )*
        }
    };
}

methods! {
    get "GET" "HEAD";
    post "POST";
    put "PUT";
    patch "PATCH";
    delete "DELETE";
}

/// A router and the methods of each of its paths.
#[derive(Debug)]
pub struct Table<S> {
    router: Router<S>,
    allowed: HashMap<&'static str, String>,
}

impl<S: Clone + Send + Sync + 'static> Default for Table<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Table<S> {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            allowed: HashMap::new(),
        }
    }

    /// Adds `path` answering `on`'s methods.
    #[must_use]
    pub fn route(mut self, path: &'static str, on: On<S>) -> Self {
        self.router = self.router.route(path, on.router);
        self.allowed.insert(path, on.names.join(","));
        self
    }

    /// The router and, for each path, the methods it answers (`GET,HEAD,POST`).
    pub fn into_parts(self) -> (Router<S>, Allowed) {
        (self.router, Allowed(self.allowed))
    }

    /// The router alone.
    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

/// Which methods each path of a [`Table`] answers.
#[derive(Debug, Default, Clone)]
pub struct Allowed(HashMap<&'static str, String>);

impl Allowed {
    /// The methods `path` (as the table spells it) answers; empty for a path it lacks.
    pub fn of(&self, path: &str) -> &str {
        self.0.get(path).map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_names_the_methods_of_each_path_in_axums_order() {
        let (_, allowed) = Table::<()>::new()
            .route("/a", get(|| async {}).post(|| async {}))
            .route(
                "/b",
                post(|| async {}).patch(|| async {}).delete(|| async {}),
            )
            .route("/c", get(|| async {}).put(|| async {}).delete(|| async {}))
            .into_parts();
        assert_eq!(allowed.of("/a"), "GET,HEAD,POST");
        assert_eq!(allowed.of("/b"), "POST,PATCH,DELETE");
        assert_eq!(allowed.of("/c"), "GET,HEAD,PUT,DELETE");
        assert_eq!(allowed.of("/d"), "");
    }
}
