//! The listener: TLS, the connection limit, and one set of handlers per connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::prelude::SessionContext;
use datafusion_postgres::QueryHook;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::PgWireServerHandlers;
use datafusion_postgres::pgwire::api::auth::DefaultServerParameterProvider;
use datafusion_postgres::pgwire::api::cancel::CancelHandler;
use datafusion_postgres::pgwire::messages::cancel::CancelRequest;
use datafusion_postgres::pgwire::messages::startup::SecretKey;
use datafusion_postgres::pgwire::tokio::process_socket;
use datafusion_postgres::pgwire::tokio::tokio_rustls::TlsAcceptor;
use datafusion_postgres::pgwire::tokio::tokio_rustls::rustls;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::auth::{BackendKey, Startup, Users};
use crate::catalog;
use crate::roles::{Grant, Grants, PermissionHook, Role};
use crate::session::{QueryControl, Session, SetHook, UserHook};
use crate::show::ShowSettingsHook;
use crate::sqlstate::{SqlStateErrors, code};

/// How `sigfuse serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `host:port`; port 0 picks a free one.
    pub listen: String,
    /// The users file's content; `None` runs without passwords (loopback only).
    pub users: Option<Users>,
    /// The role of every session when there is no users file.
    pub trust_role: Role,
    /// PEM certificate chain and private key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Refuse clients that do not switch to TLS.
    pub tls_only: bool,
    /// Most simultaneous connections; more get SQLSTATE 53300.
    pub max_connections: usize,
    /// Default `statement_timeout` of a session.
    pub statement_timeout: Option<Duration>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5433".into(),
            users: None,
            trust_role: Role::Analyst,
            tls: None,
            tls_only: false,
            max_connections: 100,
            statement_timeout: None,
        }
    }
}

/// Running statements by backend pid, for cancel requests (which arrive on a new connection).
#[derive(Debug, Default)]
struct Running {
    by_pid: Mutex<HashMap<i32, (i32, Arc<QueryControl>)>>,
}

#[async_trait]
impl CancelHandler for Running {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let found = self
            .by_pid
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&request.pid)
            .filter(|(secret, _)| {
                request.secret_key.to_bytes() == SecretKey::I32(*secret).to_bytes()
            })
            .map(|(_, control)| Arc::clone(control));
        match found {
            Some(control) => {
                log::info!("cancel request for backend {}", request.pid);
                control.cancel();
            }
            None => log::warn!("cancel request with an unknown key for pid {}", request.pid),
        }
    }
}

struct Shared {
    base: SessionContext,
    grants: Arc<Grants>,
    users: Option<Arc<Users>>,
    params: Arc<DefaultServerParameterProvider>,
    tls: Option<TlsAcceptor>,
    tls_only: bool,
    limit: Arc<Semaphore>,
    max_connections: usize,
    statement_timeout: Option<Duration>,
    running: Arc<Running>,
    next_pid: AtomicI32,
    /// Runs model statements (`CREATE/DROP/ALTER MODEL`) for admins.
    models: Option<sigfuse_engine::Engine>,
}

/// The handlers of one connection.
struct Connection {
    session: Arc<Session>,
    startup: Arc<Startup>,
    running: Arc<Running>,
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(
        &self,
    ) -> Arc<impl datafusion_postgres::pgwire::api::query::SimpleQueryHandler> {
        Arc::clone(&self.session)
    }

    fn extended_query_handler(
        &self,
    ) -> Arc<impl datafusion_postgres::pgwire::api::query::ExtendedQueryHandler> {
        Arc::clone(&self.session)
    }

    fn startup_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::auth::StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn error_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::ErrorHandler> {
        Arc::new(SqlStateErrors)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.running)
    }
}

/// A bound server, ready to accept.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("TLS certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "TLS certificate {}: no certificate in the file",
            cert.display()
        ));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("TLS key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| format!("TLS certificate and key do not fit together: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl Server {
    /// Checks the options, prepares the shared context and binds the address.
    ///
    /// Refuses to listen beyond loopback without authentication.
    pub async fn bind(base: SessionContext, options: ServeOptions) -> Result<Self, String> {
        let users = match options.users {
            Some(u) if u.is_empty() => {
                return Err("the users file has no users: add one with `sigfuse user add`".into());
            }
            other => other.map(Arc::new),
        };
        let tls = match &options.tls {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None if options.tls_only => {
                return Err(
                    "TLS-only mode needs a certificate and key (--tls-cert, --tls-key)".into(),
                );
            }
            None => None,
        };
        let listener = TcpListener::bind(&options.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
        if users.is_none() && !addr.ip().is_loopback() {
            return Err(format!(
                "refusing to listen on {addr} without authentication: add users with \
                 `sigfuse user add NAME --role analyst|admin` (and pass --users FILE), or listen \
                 on 127.0.0.1"
            ));
        }
        let base =
            catalog::install(&base).map_err(|e| format!("cannot prepare pg_catalog: {e}"))?;
        let grants = match &users {
            Some(u) => Grants::new(u.grants(), None),
            None => Grants::new(
                HashMap::new(),
                Some(Grant {
                    role: options.trust_role,
                    schemas: vec![],
                }),
            ),
        };
        let mut params = DefaultServerParameterProvider::default();
        params.server_version = catalog::server_version();
        params.is_superuser = false;
        let max = options.max_connections.max(1);
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                base,
                grants: Arc::new(grants),
                users,
                params: Arc::new(params),
                tls,
                tls_only: options.tls_only,
                limit: Arc::new(Semaphore::new(max)),
                max_connections: max,
                statement_timeout: options.statement_timeout,
                running: Arc::new(Running::default()),
                next_pid: AtomicI32::new(std::process::id() as i32 % 1_000_000 * 100 + 1),
                models: None,
            }),
        })
    }

    /// Binds as [`Server::bind`] over `engine`'s context, and lets admins run model statements
    /// (`CREATE/DROP/ALTER MODEL`) in its lake.
    pub async fn bind_engine(
        engine: &sigfuse_engine::Engine,
        options: ServeOptions,
    ) -> Result<Self, String> {
        let mut server = Self::bind(engine.ctx().clone(), options).await?;
        match Arc::get_mut(&mut server.shared) {
            Some(shared) => shared.models = Some(engine.clone()),
            None => return Err("internal: the server was shared before it started".into()),
        }
        Ok(server)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn run(self) -> std::io::Result<()> {
        loop {
            let (socket, peer) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let shared = Arc::clone(&self.shared);
            tokio::spawn(async move {
                let permit = Arc::clone(&shared.limit).try_acquire_owned().ok();
                let pid = shared.next_pid.fetch_add(1, Ordering::Relaxed);
                let key = BackendKey {
                    pid,
                    secret: rand::random(),
                };
                let connection = connection(&shared, key.clone(), permit.is_none());
                let tls = shared.tls.clone();
                if let Err(e) = process_socket(socket, tls, Arc::new(connection)).await {
                    log::info!("connection from {peer} ended: {e}");
                }
                shared
                    .running
                    .by_pid
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&pid);
                drop(permit);
            });
        }
    }
}

fn connection(shared: &Shared, key: BackendKey, over_limit: bool) -> Connection {
    let user = Arc::new(std::sync::OnceLock::new());
    let ctx = catalog::for_connection(&shared.base, key.pid, Arc::clone(&user));
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(UserHook::new(user)),
        Arc::new(PermissionHook::new(Arc::clone(&shared.grants))),
        Arc::new(CursorStatementHook),
        Arc::new(ShowSettingsHook),
        Arc::new(SetHook::new(&ctx)),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    let control = Arc::new(QueryControl::default());
    shared
        .running
        .by_pid
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key.pid, (key.secret, Arc::clone(&control)));
    let session = Session::new(
        Arc::new(ctx),
        hooks,
        Arc::clone(&shared.grants),
        control,
        shared.statement_timeout,
        shared.models.clone(),
    );
    let mut startup = Startup::new(
        shared.users.clone(),
        Arc::clone(&shared.params),
        key,
        shared.tls_only,
    );
    if over_limit {
        startup.refuse = Some((
            code::TOO_MANY_CONNECTIONS,
            format!(
                "sorry, too many clients already (the limit is {})",
                shared.max_connections
            ),
        ));
    }
    Connection {
        session: Arc::new(session),
        startup: Arc::new(startup),
        running: Arc::clone(&shared.running),
    }
}
