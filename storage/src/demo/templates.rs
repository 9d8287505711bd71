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

/// Who logs a template, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Scope {
    /// One per request served by the frontend / the gateway.
    AccessFrontend,
    AccessGateway,
    /// Any application service, per request.
    App,
    /// Only this service, per request.
    Domain(&'static str),
    /// A failed request, by runtime (stack traces).
    ErrJvm,
    ErrGo,
    ErrNode,
    ErrPython,
    /// Callers of redis / postgres.
    CacheClient,
    DbClient,
    /// The stores' own logs per request.
    Postgres,
    Redis,
    /// Pod logs outside any request.
    Bg,
    BgJvm,
    BgGo,
    BgNode,
    BgPython,
    BgPostgres,
    BgRedis,
    /// The root of a latency fault.
    FaultLatency,
    /// A bad release (error burst after a deploy), by runtime.
    FaultDeployJvm,
    FaultDeployGo,
    FaultDeployNode,
    FaultDeployPython,
    /// A pod with saturated CPU: per request, and in the background.
    FaultCpu,
    FaultCpuBg,
    /// Callers of a cache / database that is down.
    FaultOutageCache,
    FaultOutageDb,
    /// The failing store itself: crashing, and coming back.
    FaultStoreCrash,
    FaultStoreRecover,
}

use Scope::*;
use pattern::*;

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

/// Patterns the generator logs in specific situations (not picked at random).
pub(crate) mod pattern {
    pub(crate) const ACCESS_FRONTEND: &str = "{method} {path} {status} in {ms} ms";
    pub(crate) const ACCESS_GATEWAY: &str =
        "\"{method} {path} HTTP/1.1\" {status} - {bytes} {ms} ms upstream={svc} request_id={uuid}";
    pub(crate) const GATEWAY_SLOW: &str = "upstream {svc} slow: \"{method} {path}\" took {ms} ms";
    pub(crate) const GATEWAY_RESET: &str = "upstream connect error or disconnect/reset before headers. reset reason: connection failure, upstream={svc} path={path}";
    pub(crate) const GATEWAY_5XX: &str =
        "\"{method} {path} HTTP/1.1\" {status} UF {bytes} {ms} ms upstream={svc} request_id={uuid}";
    pub(crate) const SLOW_UPSTREAM: &str = "Slow upstream response from {svc}: {ms} ms";
    pub(crate) const FALLBACK: &str = "Upstream {svc} returned {status}, using fallback response";
    pub(crate) const REQUEST_FAILED: &str = "Request {uuid} failed: {status} {reason}";
    pub(crate) const CALL_FAILED: &str = "Call to {svc} failed with status {status}";
    pub(crate) const TIMEOUT_CALL: &str = "Timeout after {ms} ms calling {svc}";
    pub(crate) const CLIENT_ERROR: &str = "Client error {status} for {method} {path}: {creason}";
    pub(crate) const CACHE_HIT: &str = "Cache hit for key {key}:{id}";
    pub(crate) const CACHE_MISS: &str = "Cache miss for key {key}:{id}";
    pub(crate) const REDIS_SLOW: &str = "Redis command {cmd} took {ms} ms";
    pub(crate) const SLOW_QUERY: &str = "Slow query on {table}: {ms} ms";
    pub(crate) const CONN_REFUSED: &str = "Connection to {ip}:{port} refused, retrying in {ms} ms";
    pub(crate) const PG_DURATION: &str =
        "LOG:  duration: {ms} ms  statement: SELECT * FROM shop.{table} WHERE id = $1";
}

#[rustfmt::skip]
const TABLE: &[(Scope, &str, &str)] = &[
    // Access logs.
    (AccessFrontend, "INFO", ACCESS_FRONTEND),
    (AccessGateway, "INFO", ACCESS_GATEWAY),
    (AccessGateway, "WARN", GATEWAY_SLOW),
    (AccessGateway, "ERROR", GATEWAY_RESET),
    (AccessGateway, "ERROR", GATEWAY_5XX),
    (AccessGateway, "DEBUG", "route matched: {route} -> cluster {svc}"),
    (AccessGateway, "DEBUG", "JWT validated for subject user-{id}, scopes=read,write"),
    // Any application service, per request.
    (App, "INFO", "Handled {method} {route} in {ms} ms"),
    (App, "INFO", "Completed request {uuid} with status {status}"),
    (App, "DEBUG", "Request {uuid} received from {ip}"),
    (App, "DEBUG", "Request headers parsed in {int} us"),
    (App, "DEBUG", "Feature flag {flag} evaluated to {bool}"),
    (App, "DEBUG", "Propagating trace context to {svc}"),
    (App, "DEBUG", "Serialized response of {bytes} bytes"),
    (App, "DEBUG", "Authenticated principal user-{id} via bearer token"),
    (App, "WARN", "Request {uuid} took {ms} ms, above SLO of 300 ms"),
    (App, "WARN", "Deprecated API {route} called by {svc}"),
    (App, "WARN", "Retrying call to {svc} (attempt {n}/3) after {ms} ms"),
    (App, "WARN", "Circuit breaker for {svc} is HALF_OPEN"),
    (App, "WARN", FALLBACK),
    (App, "WARN", SLOW_UPSTREAM),
    (App, "ERROR", REQUEST_FAILED),
    (App, "ERROR", CALL_FAILED),
    (App, "ERROR", TIMEOUT_CALL),
    (App, "ERROR", "Unexpected error handling {method} {route}: {reason}"),
    (App, "INFO", CLIENT_ERROR),
    // Domain logs.
    (Domain("frontend"), "INFO", "Rendered page {route} for session {hex} in {ms} ms"),
    (Domain("frontend"), "DEBUG", "Fetching {n} recommendations for product {id}"),
    (Domain("frontend"), "INFO", "User {id} added product {id} to cart"),
    (Domain("frontend"), "WARN", "Slow render of {route}: {ms} ms"),
    (Domain("frontend"), "ERROR", "Failed to render {route}: upstream {svc} returned {status}"),
    (Domain("frontend"), "DEBUG", "Serving static asset /static/js/main.{hex}.js from cache"),
    (Domain("api-gateway"), "DEBUG", "Rate limiter bucket for {ip}: {n} tokens left"),
    (Domain("api-gateway"), "INFO", "Applied CORS policy for origin https://shop.example.com"),
    (Domain("api-gateway"), "WARN", "Rate limit exceeded for client {ip}: {big} requests in 60 s"),
    (Domain("auth"), "INFO", "Issued access token for user {id}, expires in {big} s"),
    (Domain("auth"), "DEBUG", "Validating JWT kid={hex} for user {id}"),
    (Domain("auth"), "INFO", "Token refresh for user {id} succeeded"),
    (Domain("auth"), "WARN", "Invalid password attempt {n} for user {id} from {ip}"),
    (Domain("auth"), "ERROR", "Token signature verification failed for kid={hex}"),
    (Domain("auth"), "DEBUG", "Loaded {n} signing keys from JWKS"),
    (Domain("search"), "INFO", "Search query '{word}' returned {n} results in {ms} ms"),
    (Domain("search"), "DEBUG", "Query rewritten: '{word}' -> '{word} {word}'"),
    (Domain("search"), "WARN", "Search index shard {n} slow: {ms} ms"),
    (Domain("search"), "ERROR", "Search backend error on shard {n}: {status}"),
    (Domain("search"), "INFO", "Suggestions for prefix '{word}': {n}"),
    (Domain("recommendation"), "INFO", "Generated {n} recommendations for user {id} (model v{ver})"),
    (Domain("recommendation"), "DEBUG", "Candidate pool size {big} for product {id}"),
    (Domain("recommendation"), "WARN", "Falling back to popular items for user {id}: {reason}"),
    (Domain("recommendation"), "DEBUG", "Feature vector for user {id} loaded in {ms} ms"),
    (Domain("recommendation"), "ERROR", "Model inference failed for user {id}: {reason}"),
    (Domain("ad"), "INFO", "Serving {n} ads for context '{word}'"),
    (Domain("ad"), "DEBUG", "Ad targeting keywords: {word}, {word}"),
    (Domain("ad"), "WARN", "No ads matched context '{word}'"),
    (Domain("ad"), "DEBUG", "Budget check for campaign {id}: remaining {amount} {cur}"),
    (Domain("review"), "INFO", "Loaded {n} reviews for product {id}"),
    (Domain("review"), "INFO", "Review {id} submitted by user {id} with rating {rating}"),
    (Domain("review"), "WARN", "Review {id} flagged for moderation"),
    (Domain("review"), "DEBUG", "Average rating for product {id} recomputed: {float}"),
    (Domain("checkout"), "INFO", "Placing order {uuid} for user {id} with {n} items"),
    (Domain("checkout"), "INFO", "Order {uuid} placed, total {amount} {cur}"),
    (Domain("checkout"), "DEBUG", "Checkout session {hex} step {step}"),
    (Domain("checkout"), "WARN", "Retrying payment for order {uuid} (attempt {n})"),
    (Domain("checkout"), "ERROR", "Checkout failed for order {uuid}: {reason}"),
    (Domain("checkout"), "DEBUG", "Tax for order {uuid} computed as {amount} {cur}"),
    (Domain("order"), "INFO", "Order {uuid} created with status PENDING"),
    (Domain("order"), "INFO", "Order {uuid} transitioned from {state} to {state}"),
    (Domain("order"), "DEBUG", "Loaded order {uuid} with {n} line items"),
    (Domain("order"), "ERROR", "Failed to persist order {uuid}: {reason}"),
    (Domain("order"), "WARN", "Order {uuid} has no shipping address, using billing address"),
    (Domain("cart"), "INFO", "GET cart for user {id}: {n} items"),
    (Domain("cart"), "INFO", "Added item {sku} x{n} to cart of user {id}"),
    (Domain("cart"), "INFO", "Removed item {sku} from cart of user {id}"),
    (Domain("cart"), "DEBUG", "Cart {id} cache lookup took {ms} ms"),
    (Domain("cart"), "WARN", "Cart {id} has {big} items, above soft limit 50"),
    (Domain("catalog"), "INFO", "Fetched product {sku} in {ms} ms"),
    (Domain("catalog"), "DEBUG", "Listing products page {n} size {n}"),
    (Domain("catalog"), "WARN", "Product {sku} not found"),
    (Domain("catalog"), "DEBUG", "Product {sku} served from local cache (age {n} s)"),
    (Domain("pricing"), "INFO", "Computed price for {sku}: {amount} {cur}"),
    (Domain("pricing"), "DEBUG", "Applied promotion {flag} to {sku}"),
    (Domain("pricing"), "WARN", "Price for {sku} missing in region {region}, using default"),
    (Domain("inventory"), "INFO", "Reserved {n} units of {sku} for order {uuid}"),
    (Domain("inventory"), "WARN", "Low stock for {sku}: {n} units left"),
    (Domain("inventory"), "ERROR", "Insufficient stock for {sku}: requested {n}, available {n}"),
    (Domain("inventory"), "DEBUG", "Stock level for {sku} in warehouse {n}: {big}"),
    (Domain("payment"), "INFO", "Charged card ending {card} for {amount} {cur}, transaction {hex}"),
    (Domain("payment"), "WARN", "Card declined for transaction {hex}: {reason}"),
    (Domain("payment"), "DEBUG", "Payment provider latency {ms} ms"),
    (Domain("payment"), "ERROR", "Payment provider returned {status} for transaction {hex}"),
    (Domain("payment"), "INFO", "3-D Secure challenge completed for transaction {hex}"),
    (Domain("shipping"), "INFO", "Quote for {n} items to {country}: {amount} {cur}"),
    (Domain("shipping"), "INFO", "Shipment {hex} created with tracking {tracking}"),
    (Domain("shipping"), "WARN", "Carrier API for {country} slow: {ms} ms"),
    (Domain("user"), "INFO", "Loaded profile for user {id}"),
    (Domain("user"), "DEBUG", "User {id} preferences cache miss"),
    (Domain("user"), "INFO", "Updated profile fields [email, locale] for user {id}"),
    (Domain("session"), "DEBUG", "Session {hex} refreshed, ttl {big} s"),
    (Domain("session"), "INFO", "Session {hex} created for user {id}"),
    (Domain("session"), "WARN", "Session {hex} expired {n} s ago"),
    (Domain("currency"), "INFO", "Converted {amount} {cur} to {cur}"),
    (Domain("currency"), "DEBUG", "Exchange rates cache age {big} s"),
    (Domain("currency"), "WARN", "Exchange rate for {cur} is stale ({big} s old)"),
    (Domain("notification"), "INFO", "Queued {channel} notification {uuid} for user {id}"),
    (Domain("notification"), "DEBUG", "Rendered template order_confirmation for locale {locale}"),
    (Domain("notification"), "WARN", "User {id} opted out of {channel} notifications"),
    (Domain("email"), "INFO", "Sent order confirmation to {email} (message id {hex})"),
    (Domain("email"), "WARN", "SMTP server responded 451: temporary failure, will retry in {n} s"),
    (Domain("email"), "DEBUG", "SMTP connection to mail-{n}.relay.example.net reused"),
    (Domain("frontend"), "DEBUG", "SSR cache hit for {route} (age {n} s)"),
    (Domain("frontend"), "INFO", "Session {hex} started from user agent Mozilla/5.0 ({os})"),
    (Domain("frontend"), "WARN", "Client-side error reported: ChunkLoadError: Loading chunk {n} failed"),
    (Domain("api-gateway"), "DEBUG", "Retry policy matched for route {route}: 2 attempts, per-try timeout 1s"),
    (Domain("api-gateway"), "INFO", "Added x-request-id {uuid} to upstream request"),
    (Domain("auth"), "INFO", "User {id} logged in via {provider}"),
    (Domain("auth"), "WARN", "Account of user {id} locked after {n} failed attempts"),
    (Domain("auth"), "DEBUG", "Password hash verified in {ms} ms (bcrypt cost 12)"),
    (Domain("search"), "DEBUG", "Executing search on index products-v{n} with {n} filters"),
    (Domain("search"), "INFO", "Zero results for query '{word}', suggesting '{word}'"),
    (Domain("recommendation"), "INFO", "Loaded embedding model v{ver} with {big} items"),
    (Domain("recommendation"), "DEBUG", "Re-ranked {n} candidates with diversity penalty {float}"),
    (Domain("ad"), "INFO", "Impression recorded for campaign {id} (cpm {amount} {cur})"),
    (Domain("ad"), "WARN", "Campaign {id} budget exhausted, pausing delivery"),
    (Domain("review"), "DEBUG", "Sanitized review text of {n} characters"),
    (Domain("review"), "INFO", "Helpful vote recorded for review {id}"),
    (Domain("checkout"), "INFO", "Applied coupon {flag} to order {uuid}: -{amount} {cur}"),
    (Domain("checkout"), "WARN", "Shipping quote expired for order {uuid}, requesting a new one"),
    (Domain("checkout"), "DEBUG", "Idempotency key {uuid} not seen before, processing"),
    (Domain("order"), "DEBUG", "Publishing event OrderCreated for order {uuid} to topic orders.v1"),
    (Domain("order"), "INFO", "Order {uuid} cancelled by user {id}"),
    (Domain("cart"), "DEBUG", "Merged anonymous cart {hex} into cart of user {id}"),
    (Domain("cart"), "INFO", "Cart of user {id} emptied after checkout"),
    (Domain("catalog"), "INFO", "Product {sku} updated: price {amount} {cur}, stock {n}"),
    (Domain("catalog"), "DEBUG", "Category {word} has {big} products"),
    (Domain("pricing"), "INFO", "Price list refreshed: {big} entries in {ms} ms"),
    (Domain("pricing"), "WARN", "Promotion {flag} expired, ignoring for {sku}"),
    (Domain("inventory"), "INFO", "Released reservation of {n} units of {sku} for order {uuid}"),
    (Domain("inventory"), "DEBUG", "Stock reconciliation for warehouse {n} took {ms} ms"),
    (Domain("payment"), "INFO", "Refund of {amount} {cur} issued for transaction {hex}"),
    (Domain("payment"), "WARN", "Fraud score {float} for transaction {hex} above review threshold"),
    (Domain("payment"), "DEBUG", "Tokenized card for customer {id} with provider {provider}"),
    (Domain("shipping"), "DEBUG", "Address for order {uuid} validated with carrier {carrier}"),
    (Domain("shipping"), "INFO", "Label printed for shipment {hex} via {carrier}"),
    (Domain("shipping"), "ERROR", "Carrier {carrier} rejected shipment {hex}: {reason}"),
    (Domain("user"), "WARN", "Email address for user {id} bounced, marking unverified"),
    (Domain("user"), "DEBUG", "Loaded {n} addresses for user {id}"),
    (Domain("session"), "DEBUG", "Session {hex} bound to device {hex}"),
    (Domain("session"), "INFO", "Session {hex} revoked for user {id}"),
    (Domain("currency"), "INFO", "Exchange rates refreshed from ECB: {n} currencies"),
    (Domain("currency"), "ERROR", "Unsupported currency code {flag}"),
    (Domain("notification"), "INFO", "Delivered push notification {uuid} to {n} devices"),
    (Domain("notification"), "ERROR", "Push provider rejected token for user {id}: {reason}"),
    (Domain("email"), "INFO", "Rendered email template {flag} in {ms} ms"),
    (Domain("email"), "ERROR", "SMTP authentication failed for relay mail-{n}.relay.example.net"),
    // Failed requests, by runtime.
    (ErrJvm, "ERROR", "java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:{line})\n\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:{line})\n\tat com.shop.common.http.RestClient.execute(RestClient.java:{line})"),
    (ErrJvm, "ERROR", "org.springframework.web.client.HttpServerErrorException$InternalServerError: {status} Internal Server Error: [no body]\n\tat org.springframework.web.client.HttpServerErrorException.create(HttpServerErrorException.java:{line})\n\tat org.springframework.web.client.DefaultResponseErrorHandler.handleError(DefaultResponseErrorHandler.java:{line})\n\tat com.shop.common.http.RestClient.execute(RestClient.java:{line})"),
    (ErrJvm, "ERROR", "Servlet.service() for servlet [dispatcherServlet] threw exception\njava.lang.IllegalArgumentException: Invalid {flag} value\n\tat com.shop.common.web.RequestValidator.validate(RequestValidator.java:{line})\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:{line})"),
    (ErrJvm, "ERROR", "Request processing failed: org.springframework.dao.DataAccessResourceFailureException: could not execute statement; SQL [n/a]"),
    (ErrGo, "ERROR", "level=error msg=\"request failed\" method={method} path={path} status={status} err=\"rpc error: code = Unavailable desc = {reason}\""),
    (ErrGo, "ERROR", "level=error msg=\"upstream call failed\" upstream={svc} err=\"context deadline exceeded\" elapsed={ms}ms"),
    (ErrGo, "ERROR", "level=error msg=\"handler error\" path={path} err=\"{reason}\""),
    (ErrNode, "ERROR", "Error: Request failed with status code {status}\n    at createError (/app/node_modules/axios/lib/core/createError.js:16:15)\n    at settle (/app/node_modules/axios/lib/core/settle.js:17:12)\n    at IncomingMessage.handleStreamEnd (/app/node_modules/axios/lib/adapters/http.js:{line}:11)"),
    (ErrNode, "ERROR", "Unhandled error in {route}: {reason}"),
    (ErrPython, "ERROR", "Traceback (most recent call last):\n  File \"/app/server.py\", line {line}, in handle\n    resp = client.call(req)\n  File \"/app/clients.py\", line {line}, in call\n    r.raise_for_status()\nrequests.exceptions.HTTPError: {status} Server Error for url: http://{svc}:8080{path}"),
    (ErrPython, "ERROR", "Exception on {route} [{method}]: {reason}"),
    (ErrJvm, "ERROR", "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception\n\tat io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:{line})\n\tat io.grpc.stub.ClientCalls.getUnchecked(ClientCalls.java:{line})\n\tat com.shop.common.grpc.Client.call(Client.java:{line})"),
    (ErrGo, "ERROR", "level=error msg=\"write response\" err=\"write tcp {ip}:8080->{ip}:{port}: write: broken pipe\""),
    (ErrNode, "ERROR", "Error: socket hang up\n    at connResetException (node:internal/errors:720:14)\n    at Socket.socketOnEnd (node:_http_client:519:23)"),
    (ErrPython, "ERROR", "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly"),
    // Cache and database clients.
    (CacheClient, "DEBUG", CACHE_HIT),
    (CacheClient, "DEBUG", CACHE_MISS),
    (CacheClient, "DEBUG", "Cache set {key}:{id} ttl={big}s"),
    (CacheClient, "WARN", REDIS_SLOW),
    (CacheClient, "DEBUG", "Redis pipeline of {n} commands executed"),
    (DbClient, "DEBUG", "Executing query on {table} (pool active={n}, idle={n})"),
    (DbClient, "WARN", SLOW_QUERY),
    (DbClient, "DEBUG", "Transaction committed in {ms} ms"),
    (DbClient, "DEBUG", "Fetched {n} rows from {table}"),
    (DbClient, "WARN", "Connection pool usage high: {n}/20 connections in use"),
    (DbClient, "DEBUG", "Prepared statement cache hit ratio {pct}%"),
    (DbClient, "DEBUG", "Acquired connection from pool in {ms} ms"),
    (CacheClient, "DEBUG", "Cache invalidated for key {key}:{id}"),
    (CacheClient, "DEBUG", "Loaded {n} keys with MGET in {ms} ms"),
    // The stores' own logs.
    (Postgres, "INFO", PG_DURATION),
    (Postgres, "INFO", "LOG:  duration: {ms} ms  execute <unnamed>: UPDATE shop.{table} SET updated_at = now() WHERE id = $1"),
    (Postgres, "ERROR", "ERROR:  duplicate key value violates unique constraint \"{table}_pkey\""),
    (Postgres, "ERROR", "ERROR:  canceling statement due to statement timeout"),
    (Postgres, "WARN", "LOG:  process {pid} still waiting for ShareLock on transaction {big} after 1000.0 ms"),
    (Redis, "WARN", "{pid}:M * Slow log entry: {cmd} took {int} us"),
    (Redis, "ERROR", "{pid}:M # Client id={big} addr={ip}:{port} closed for overcoming of output buffer limits."),
    (Postgres, "WARN", "LOG:  temporary file: path \"base/pgsql_tmp/pgsql_tmp{pid}.{n}\", size {bytes}"),
    (Postgres, "ERROR", "ERROR:  deadlock detected\nDETAIL:  Process {pid} waits for ShareLock on transaction {big}; blocked by process {pid}."),
    // Background logs.
    (Bg, "DEBUG", "Health check GET /healthz 200 in {int} ms"),
    (Bg, "DEBUG", "Readiness probe OK"),
    (Bg, "INFO", "Refreshed service discovery: {n} endpoints for {svc}"),
    (Bg, "DEBUG", "Metrics flushed: {big} series"),
    (Bg, "DEBUG", "Connection pool stats: active={n} idle={n} waiting=0"),
    (Bg, "INFO", "Config reloaded from /etc/{svc}/config.yaml (checksum {hex})"),
    (Bg, "INFO", "TLS certificate for {svc}.{namespace}.svc expires in {big} hours"),
    (Bg, "WARN", "DNS lookup for {svc}.{namespace}.svc.cluster.local took {ms} ms"),
    (Bg, "INFO", "Leader election: pod {pod} holds lease {svc}-leader"),
    (Bg, "DEBUG", "Liveness probe GET /livez 200 in {int} ms"),
    (Bg, "INFO", "Flushed {big} spans to otel-collector:4317 in {ms} ms"),
    (Bg, "WARN", "Exporter queue {pct}% full, dropping oldest spans"),
    (Bg, "INFO", "Secrets reloaded from /var/run/secrets/{svc}"),
    (Bg, "DEBUG", "Outbound connections: {n} open, {n} idle"),
    (BgJvm, "INFO", "[gc] GC({big}) Pause Remark {int}M->{int}M({big}M) {float}ms"),
    (BgJvm, "INFO", "[safepoint] Safepoint \"G1CollectForAllocation\", Time since last: {big} ns, Reaching safepoint: {big} ns, At safepoint: {big} ns"),
    (BgGo, "INFO", "level=info msg=\"connection pool resized\" size={n}"),
    (BgNode, "WARN", "MaxListenersExceededWarning: Possible EventEmitter memory leak detected. {n} close listeners added"),
    (BgPython, "WARN", "[gunicorn] Worker {pid} was sent SIGKILL after timeout, restarting"),
    (BgPostgres, "INFO", "LOG:  disconnection: session time: 0:{n}:{n}.{int} user=shop database=shop host={ip} port={port}"),
    (BgRedis, "INFO", "{pid}:M * Client id={big} addr={ip}:{port} connected"),
    (BgJvm, "INFO", "[gc] GC({big}) Pause Young (Normal) (G1 Evacuation Pause) {int}M->{int}M({big}M) {float}ms"),
    (BgJvm, "INFO", "[gc] GC({big}) Pause Young (Concurrent Start) (G1 Humongous Allocation) {int}M->{int}M({big}M) {float}ms"),
    (BgJvm, "INFO", "[gc] GC({big}) Concurrent Mark Cycle {float}ms"),
    (BgJvm, "WARN", "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta={n}s)."),
    (BgJvm, "DEBUG", "HikariPool-1 - Pool stats (total={n}, active={n}, idle={n}, waiting=0)"),
    (BgGo, "INFO", "level=info msg=\"runtime stats\" goroutines={big} heap_mb={int}"),
    (BgGo, "DEBUG", "level=debug msg=\"gc cycle\" pause_us={big} heap_before_mb={int} heap_after_mb={int}"),
    (BgNode, "INFO", "Event loop lag p99 {ms} ms, heap used {int} MB"),
    (BgNode, "DEBUG", "Keep-alive sockets in pool: {n}"),
    (BgPython, "INFO", "[gunicorn] Worker {pid} handled {big} requests, memory {int} MB"),
    (BgPython, "DEBUG", "[gunicorn] Heartbeat from worker {pid}"),
    (BgPostgres, "INFO", "LOG:  checkpoint starting: time"),
    (BgPostgres, "INFO", "LOG:  checkpoint complete: wrote {big} buffers ({pct}%); 0 WAL file(s) added, 0 removed, {n} recycled; write={float} s, sync={float} s, total={float} s"),
    (BgPostgres, "INFO", "LOG:  automatic vacuum of table \"shop.public.{table}\": index scans: {n}"),
    (BgPostgres, "INFO", "LOG:  automatic analyze of table \"shop.public.{table}\""),
    (BgPostgres, "INFO", "LOG:  connection received: host={ip} port={port}"),
    (BgPostgres, "INFO", "LOG:  connection authorized: user=shop database=shop application_name={svc}"),
    (BgRedis, "INFO", "{pid}:M * {big} changes in 60 seconds. Saving..."),
    (BgRedis, "INFO", "{pid}:M * Background saving started by pid {pid}"),
    (BgRedis, "INFO", "{pid}:C * DB saved on disk"),
    (BgRedis, "INFO", "{pid}:M * Background saving terminated with success"),
    // Faults: latency at the root.
    (FaultLatency, "WARN", "Lock wait on {table} exceeded {ms} ms, retrying transaction"),
    (FaultLatency, "WARN", "Handler {route} spent {ms} ms waiting for a worker thread"),
    (FaultLatency, "INFO", "Slow operation detected: {method} {route} {ms} ms (threshold 200 ms)"),
    // Faults: a bad release.
    (FaultDeployJvm, "ERROR", "Unhandled exception in {route}: java.lang.NullPointerException: Cannot invoke \"com.shop.model.{model}.getId()\" because \"item\" is null\n\tat com.shop.service.RequestHandler.process(RequestHandler.java:{line})\n\tat com.shop.web.ApiController.handle(ApiController.java:{line})\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:{line})"),
    (FaultDeployJvm, "ERROR", "Failed to bind request payload: com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException: Unrecognized field \"{flag}\" (class com.shop.api.v{ver}.Request), not marked as ignorable"),
    (FaultDeployGo, "ERROR", "panic recovered in handler {route}: runtime error: invalid memory address or nil pointer dereference\ngoroutine {big} [running]:\nmain.(*Server).handle(0xc000{hex})\n\t/src/server.go:{line} +0x{int}"),
    (FaultDeployGo, "ERROR", "level=error msg=\"decode request\" path={path} err=\"json: unknown field {flag}\" release={ver}"),
    (FaultDeployNode, "ERROR", "TypeError: Cannot read properties of undefined (reading '{flag}')\n    at buildResponse (/app/dist/handlers.js:{line}:22)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"),
    (FaultDeployPython, "ERROR", "Traceback (most recent call last):\n  File \"/app/handlers.py\", line {line}, in handle\n    price = payload[\"{flag}\"]\nKeyError: '{flag}'"),
    (FaultDeployPython, "ERROR", "Schema validation failed for request {uuid}: field {flag} is required since API version {ver}"),
    // Faults: CPU saturation of a pod.
    (FaultCpu, "WARN", "Request {uuid} queued for {ms} ms before processing"),
    (FaultCpu, "WARN", "Thread pool {pool} saturated: active={big} queued={big}"),
    (FaultCpuBg, "WARN", "CPU throttled for {pct}% of CFS periods in the last 60 s"),
    (FaultCpuBg, "WARN", "Event loop blocked for {ms} ms"),
    // Faults: a store is down, seen from its callers.
    (FaultOutageCache, "ERROR", CONN_REFUSED),
    (FaultOutageCache, "ERROR", "Error connecting to Redis at {ip}:{port}: Connection refused"),
    (FaultOutageCache, "WARN", "Cache unavailable, falling back to database for key {key}:{id}"),
    (FaultOutageDb, "ERROR", "org.postgresql.util.PSQLException: Connection to {ip}:{port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:{line})\n\tat com.zaxxer.hikari.pool.HikariPool.createPoolEntry(HikariPool.java:{line})"),
    (FaultOutageDb, "ERROR", "HikariPool-1 - Connection is not available, request timed out after {ms}ms."),
    (FaultOutageDb, "ERROR", "Database connection lost: I/O error while sending to the backend at {ip}:{port}"),
    // Faults: the store itself.
    (FaultStoreCrash, "FATAL", "{pid}:M # Out Of Memory allocating {bytes} bytes!"),
    (FaultStoreCrash, "FATAL", "PANIC:  could not write to file \"pg_wal/xlogtemp.{pid}\": No space left on device"),
    (FaultStoreCrash, "ERROR", "LOG:  server process (PID {pid}) was terminated by signal 9: Killed"),
    (FaultStoreRecover, "INFO", "LOG:  database system is ready to accept connections"),
    (FaultStoreRecover, "INFO", "{pid}:M * Ready to accept connections tcp"),
    (FaultStoreRecover, "INFO", "{pid}:M * DB loaded from disk: {float} seconds"),
];

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
