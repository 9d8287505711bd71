//! Log templates of the demo system, and their rendering into log bodies.
//!
//! The table is the ground truth of log parsing: every log body the generator writes is one of
//! these patterns with each `{placeholder}` replaced by a value. [`log_templates`] exposes them
//! with `<*>` in place of placeholders (the Loghub convention), so a log-parser evaluation can
//! re-derive the template of each body without labels in the signal tables.
//!
//! Scopes say who logs a template and when; the `Fault*` scopes only appear during injected
//! faults, which is how a fault shows up as new templates.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::LazyLock;

use rand::Rng;

use super::random::RngExt;
mod table;

use table::TABLE;
pub(crate) use table::{Scope, pattern};

/// One template of the ground-truth table.
#[derive(Debug, Clone)]
pub struct LogTemplate {
    /// Stable id: the index in [`log_templates`].
    pub id: usize,
    /// DEBUG, INFO, WARN, ERROR or FATAL.
    pub severity: &'static str,
    /// The template with every variable part written `<*>`.
    pub template: String,
    /// The generator's pattern, with named `{placeholders}`.
    pub pattern: &'static str,
}

struct Index {
    templates: Vec<LogTemplate>,
    by_scope: BTreeMap<(Scope, &'static str), Vec<usize>>,
    scopes: Vec<Scope>,
    by_pattern: BTreeMap<&'static str, usize>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut by_scope: BTreeMap<(Scope, &'static str), Vec<usize>> = BTreeMap::new();
    let templates = TABLE
        .iter()
        .enumerate()
        .map(|(id, (scope, severity, pattern))| {
            by_scope.entry((*scope, *severity)).or_default().push(id);
            LogTemplate {
                id,
                severity,
                template: wildcard(pattern),
                pattern,
            }
        })
        .collect();
    Index {
        templates,
        by_scope,
        scopes: TABLE.iter().map(|t| t.0).collect(),
        by_pattern: TABLE.iter().enumerate().map(|(i, t)| (t.2, i)).collect(),
    }
});

/// The ground-truth template table (see the module doc).
pub fn log_templates() -> &'static [LogTemplate] {
    &INDEX.templates
}

fn wildcard(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str("<*>");
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Template ids of a scope and severity (empty when there are none).
pub(crate) fn ids(scope: Scope, severity: &'static str) -> &'static [usize] {
    INDEX
        .by_scope
        .get(&(scope, severity))
        .map_or(&[], Vec::as_slice)
}

/// The id of one of the [`pattern`] constants.
pub(crate) fn id_of(pattern: &str) -> Option<usize> {
    INDEX.by_pattern.get(pattern).copied()
}

/// Template ids of a scope, any severity.
pub(crate) fn scope_ids(scope: Scope) -> Vec<usize> {
    (0..INDEX.scopes.len())
        .filter(|&i| INDEX.scopes[i] == scope)
        .collect()
}

/// Context values for placeholders; empty fields fall back to random plausible values.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fill<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub ms: f64,
    pub peer: &'a str,
    pub peer_ip: &'a str,
    pub peer_port: u16,
    pub pod: &'a str,
    pub version: &'a str,
    pub table: &'a str,
}

const WORDS: &[&str] = &[
    "shoes",
    "laptop",
    "coffee",
    "headphones",
    "backpack",
    "watch",
    "jacket",
    "camera",
    "mug",
    "desk",
    "lamp",
    "sneakers",
];
const REASONS: &[&str] = &[
    "upstream unavailable",
    "deadline exceeded",
    "connection reset by peer",
    "validation failed",
    "card_declined",
    "insufficient_funds",
    "invalid state transition",
    "resource exhausted",
];
const CLIENT_REASONS: &[&str] = &[
    "invalid request body",
    "missing authorization header",
    "resource not found",
    "version conflict",
    "unsupported media type",
];
const FLAGS: &[&str] = &[
    "new_checkout_flow",
    "promo_banner",
    "fast_shipping",
    "currency_code",
    "gift_wrap",
    "loyalty_points",
    "dark_mode",
];
const KEYS: &[&str] = &["user", "cart", "product", "session", "price", "rates"];
const TABLES: &[&str] = &[
    "orders",
    "products",
    "users",
    "payments",
    "stock_levels",
    "shipments",
];

fn push_placeholder(out: &mut String, name: &str, f: &Fill<'_>, rng: &mut impl Rng) {
    // write! into a String cannot fail.
    let _ = match name {
        "method" if !f.method.is_empty() => write!(out, "{}", f.method),
        "method" => write!(out, "{}", rng.pick(&["GET", "POST", "PUT"])),
        "path" if !f.path.is_empty() => write!(out, "{}", f.path),
        "route" if !f.route.is_empty() => write!(out, "{}", f.route),
        "path" | "route" => write!(out, "/api/v1/items/{}", rng.int(1000, 99_999)),
        "status" => write!(out, "{}", if f.status == 0 { 200 } else { f.status }),
        "ms" if f.ms > 0.0 => write!(out, "{}", f.ms.round().max(1.0) as i64),
        "ms" => write!(out, "{}", rng.lognormal(40.0, 0.8).round().max(1.0) as i64),
        "svc" if !f.peer.is_empty() => write!(out, "{}", f.peer),
        "svc" => write!(out, "{}", rng.pick(&["cart", "catalog", "user", "auth"])),
        "ip" if !f.peer_ip.is_empty() => write!(out, "{}", f.peer_ip),
        "ip" => write!(out, "10.0.{}.{}", rng.int(100, 110), rng.int(2, 250)),
        "port" => write!(out, "{}", if f.peer_port == 0 { 8080 } else { f.peer_port }),
        "pod" => write!(out, "{}", f.pod),
        "ver" if !f.version.is_empty() => write!(out, "{}", f.version),
        "ver" => write!(
            out,
            "{}.{}.{}",
            rng.int(1, 4),
            rng.int(0, 30),
            rng.int(0, 12)
        ),
        "table" if !f.table.is_empty() => write!(out, "{}", f.table),
        "table" => write!(out, "{}", rng.pick(TABLES)),
        "int" => write!(out, "{}", rng.int(1, 999)),
        "n" => write!(out, "{}", rng.int(1, 24)),
        "big" => write!(out, "{}", rng.int(100, 99_999)),
        "id" => write!(out, "{}", rng.int(1000, 99_999)),
        "pid" => write!(out, "{}", rng.int(2, 65_000)),
        "line" => write!(out, "{}", rng.int(20, 900)),
        "uuid" => write!(out, "{}", rng.uuid()),
        "hex" => write!(out, "{}", rng.hex(8)),
        "bytes" => write!(out, "{}", rng.int(200, 90_000)),
        "pct" => write!(out, "{:.1}", rng.uniform(0.0, 100.0)),
        "float" => write!(out, "{:.3}", rng.lognormal(0.2, 1.0)),
        "amount" => write!(out, "{:.2}", rng.lognormal(45.0, 0.9)),
        "cur" => write!(out, "{}", rng.pick(&["USD", "EUR", "GBP", "JPY", "CAD"])),
        "card" => write!(out, "{:04}", rng.int(0, 9999)),
        "email" => write!(out, "customer{}@example.com", rng.int(1000, 99_999)),
        "word" => write!(out, "{}", rng.pick(WORDS)),
        "reason" => write!(out, "{}", rng.pick(REASONS)),
        "creason" => write!(out, "{}", rng.pick(CLIENT_REASONS)),
        "os" => write!(
            out,
            "{}",
            rng.pick(&[
                "Windows NT 10.0",
                "Macintosh",
                "iPhone",
                "Linux x86_64",
                "Android 14"
            ])
        ),
        "provider" => write!(
            out,
            "{}",
            rng.pick(&["password", "google", "apple", "stripe", "adyen"])
        ),
        "carrier" => write!(out, "{}", rng.pick(&["ups", "dhl", "fedex", "usps"])),
        "flag" => write!(out, "{}", rng.pick(FLAGS)),
        "key" => write!(out, "{}", rng.pick(KEYS)),
        "sku" => write!(out, "SKU-{}", rng.int(10_000, 99_999)),
        "state" => write!(
            out,
            "{}",
            rng.pick(&["PENDING", "PAID", "PACKED", "SHIPPED"])
        ),
        "step" => write!(
            out,
            "{}",
            rng.pick(&["address", "shipping", "payment", "review"])
        ),
        "country" => write!(out, "{}", rng.pick(&["US", "DE", "FR", "GB", "JP", "CA"])),
        "channel" => write!(out, "{}", rng.pick(&["email", "sms", "push"])),
        "locale" => write!(out, "{}", rng.pick(&["en-US", "de-DE", "fr-FR", "ja-JP"])),
        "rating" => write!(out, "{}", rng.int(1, 5)),
        "bool" => write!(out, "{}", rng.chance(0.5)),
        "tracking" => write!(out, "1Z{}", rng.hex(6).to_ascii_uppercase()),
        "cmd" => write!(
            out,
            "{}",
            rng.pick(&["GET", "SET", "HGETALL", "MGET", "ZADD"])
        ),
        "pool" => write!(
            out,
            "{}",
            rng.pick(&["http-nio-8080-exec", "grpc-default-executor", "worker"])
        ),
        "model" => write!(
            out,
            "{}",
            rng.pick(&["CartItem", "Product", "Price", "Address"])
        ),
        "region" => write!(out, "{}", super::topology::REGION),
        "namespace" => write!(out, "{}", super::topology::NAMESPACE),
        // Unknown names stay visible, which the tests catch.
        other => write!(out, "{{{other}}}"),
    };
}

/// Renders template `id` with values from `fill` (and random ones for the rest).
pub(crate) fn render(id: usize, fill: &Fill<'_>, rng: &mut impl Rng) -> String {
    let pattern = TABLE.get(id).map_or("", |t| t.2);
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        push_placeholder(&mut out, &rest[open + 1..open + close], fill, rng);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The severity of template `id`.
pub(crate) fn severity(id: usize) -> &'static str {
    TABLE.get(id).map_or("INFO", |t| t.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::random::{Purpose, stream};

    /// A body matches its `<*>` template when the literal pieces appear in order.
    pub(crate) fn matches(template: &str, body: &str) -> bool {
        let parts: Vec<&str> = template.split("<*>").collect();
        let mut rest = body;
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                match rest.strip_prefix(part) {
                    Some(r) => rest = r,
                    None => return false,
                }
            } else if i == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                match rest.find(part) {
                    Some(p) => rest = &rest[p + part.len()..],
                    None => return false,
                }
            }
        }
        rest.is_empty()
    }

    #[test]
    fn every_template_renders_into_a_body_it_matches() {
        let mut rng = stream(3, 0, Purpose::Traffic);
        let t = log_templates();
        assert!(t.len() >= 150, "{}", t.len());
        for tpl in t {
            assert!(["DEBUG", "INFO", "WARN", "ERROR", "FATAL"].contains(&tpl.severity));
            assert!(
                !tpl.template.contains('{') && !tpl.template.contains('}'),
                "{}",
                tpl.pattern
            );
            for _ in 0..3 {
                let body = render(tpl.id, &Fill::default(), &mut rng);
                assert!(matches(&tpl.template, &body), "{} / {body}", tpl.template);
                assert!(
                    !body.contains('{'),
                    "unknown placeholder in {}",
                    tpl.pattern
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        assert!(
            t.iter().all(|x| seen.insert(x.template.clone())),
            "duplicate templates"
        );
        let fill = Fill {
            method: "GET",
            path: "/api/cart/8123",
            status: 200,
            ms: 12.2,
            ..Fill::default()
        };
        assert_eq!(
            render(0, &fill, &mut rng),
            "GET /api/cart/8123 200 in 12 ms"
        );
        assert_eq!(t[0].template, "<*> <*> <*> in <*> ms");
        assert!(!ids(Scope::App, "ERROR").is_empty());
        assert!(!scope_ids(Scope::BgJvm).is_empty());
    }
}
