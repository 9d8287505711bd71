//! The services the generator knows by name, with plausible routes and dependencies (checkout
//! calls payment, cart calls redis), and the frontend's pages. Data only; the graph is built in
//! `topology`.

use super::topology::{Role, Runtime};
use Role::{App, Cache, Database, Edge};
use Runtime::{Go, Jvm, Node as NodeJs, Python};

/// Which known services a run of N services gets, in order.
pub(super) const SELECTION: [&str; 22] = [
    "frontend",
    "api-gateway",
    "cart",
    "checkout",
    "redis",
    "postgres",
    "catalog",
    "payment",
    "auth",
    "user",
    "search",
    "inventory",
    "recommendation",
    "shipping",
    "currency",
    "order",
    "notification",
    "email",
    "ad",
    "review",
    "pricing",
    "session",
];

/// A service the generator knows by name: its routes (method, route, median ms), the services
/// it depends on, and the table its queries touch.
pub(super) struct Known {
    pub name: &'static str,
    pub role: Role,
    pub runtime: Runtime,
    pub routes: &'static [(&'static str, &'static str, f64)],
    pub calls: &'static [&'static str],
    pub table: &'static str,
}

const fn known(
    name: &'static str,
    role: Role,
    runtime: Runtime,
    routes: &'static [(&'static str, &'static str, f64)],
    calls: &'static [&'static str],
    table: &'static str,
) -> Known {
    Known {
        name,
        role,
        runtime,
        routes,
        calls,
        table,
    }
}

/// Known services in rank order (callers before callees); `svc-NN` slot in before the stores.
/// Frontend pages list the services they fan out to instead of routes of their own.
#[rustfmt::skip]
pub(super) const KNOWN: [Known; 22] = [
    known("frontend", Edge, NodeJs, &[("GET", "/", 4.0), ("GET", "/product/{id}", 6.0), ("GET", "/cart", 4.0), ("POST", "/cart/checkout", 8.0), ("GET", "/search", 5.0), ("POST", "/login", 3.0), ("GET", "/account/orders", 5.0)], &["api-gateway"], ""),
    known("api-gateway", Edge, Go, &[], &["auth", "search", "recommendation", "ad", "review", "checkout", "order", "cart", "catalog", "user", "session"], ""),
    known("auth", App, Go, &[("POST", "/api/auth/token", 12.0), ("GET", "/api/auth/verify", 2.0)], &["user", "session", "redis", "postgres"], "credentials"),
    known("search", App, Jvm, &[("GET", "/api/search", 25.0), ("GET", "/api/search/suggest", 8.0)], &["catalog", "redis"], "products"),
    known("recommendation", App, Python, &[("GET", "/api/recommendations/{id}", 18.0)], &["catalog", "user", "redis"], "recommendations"),
    known("ad", App, Jvm, &[("GET", "/api/ads", 6.0)], &["redis"], "ads"),
    known("review", App, Python, &[("GET", "/api/reviews/{id}", 9.0), ("POST", "/api/reviews", 14.0)], &["user", "postgres"], "reviews"),
    known("checkout", App, Jvm, &[("POST", "/api/checkout", 20.0)], &["cart", "order", "payment", "shipping", "currency", "email", "inventory", "pricing", "notification"], "orders"),
    known("order", App, Jvm, &[("POST", "/api/orders", 12.0), ("GET", "/api/orders/{id}", 5.0)], &["inventory", "notification", "postgres"], "orders"),
    known("cart", App, Go, &[("GET", "/api/cart/{id}", 3.0), ("POST", "/api/cart/{id}/items", 5.0), ("DELETE", "/api/cart/{id}/items/{item}", 4.0)], &["catalog", "pricing", "redis"], "carts"),
    known("catalog", App, Go, &[("GET", "/api/products/{id}", 4.0), ("GET", "/api/products", 9.0)], &["postgres", "redis"], "products"),
    known("pricing", App, Jvm, &[("GET", "/api/prices/{id}", 4.0)], &["currency", "redis"], "prices"),
    known("inventory", App, Jvm, &[("GET", "/api/inventory/{id}", 4.0), ("POST", "/api/inventory/reserve", 9.0)], &["postgres"], "stock_levels"),
    known("payment", App, Jvm, &[("POST", "/api/payments/charge", 45.0)], &["currency", "postgres"], "payments"),
    known("shipping", App, Go, &[("POST", "/api/shipping/quote", 10.0), ("POST", "/api/shipping/orders", 15.0)], &["currency", "postgres"], "shipments"),
    known("user", App, Jvm, &[("GET", "/api/users/{id}", 4.0), ("PUT", "/api/users/{id}", 8.0)], &["postgres", "redis"], "users"),
    known("session", App, Go, &[("GET", "/api/sessions/{id}", 1.5)], &["redis"], "sessions"),
    known("currency", App, NodeJs, &[("GET", "/api/currency/convert", 2.0)], &["redis"], "exchange_rates"),
    known("notification", App, Python, &[("POST", "/api/notifications", 6.0)], &["email"], "notifications"),
    known("email", App, Python, &[("POST", "/api/email/send", 30.0)], &[], "outbox"),
    known("postgres", Database, Runtime::Postgres, &[], &[], ""),
    known("redis", Cache, Runtime::Redis, &[], &[], ""),
];

/// Frontend pages → the services behind them, with the probability of each call.
pub(super) const PAGES: [&[(&str, f64)]; 7] = [
    &[
        ("recommendation", 0.9),
        ("ad", 0.8),
        ("catalog", 0.9),
        ("cart", 0.4),
    ],
    &[
        ("catalog", 1.0),
        ("review", 0.7),
        ("recommendation", 0.8),
        ("ad", 0.6),
    ],
    &[("cart", 1.0), ("recommendation", 0.4)],
    &[("checkout", 1.0)],
    &[("search", 1.0), ("ad", 0.5)],
    &[("auth", 1.0), ("session", 0.8)],
    &[("order", 1.0), ("user", 1.0)],
];
pub(super) const PAGE_WEIGHTS: [f64; 7] = [3.0, 4.0, 2.0, 0.8, 2.0, 1.0, 0.7];

pub(super) const POSTGRES_OPS: [(&str, f64); 4] = [
    ("SELECT", 1.2),
    ("INSERT", 2.0),
    ("UPDATE", 2.5),
    ("COMMIT", 0.4),
];
pub(super) const REDIS_OPS: [(&str, f64); 5] = [
    ("GET", 0.15),
    ("SET", 0.2),
    ("HGETALL", 0.3),
    ("MGET", 0.25),
    ("EXPIRE", 0.1),
];
