//! Who may connect: the users file, SCRAM-SHA-256 logins, trust on loopback, TLS-only mode.
//!
//! The users file (TOML, written by `sigfuse user add`) keeps for each user a role, optional
//! schemas, and only the SCRAM `SaltedPassword` (PBKDF2-HMAC-SHA-256 of the password with a
//! random 16-byte salt, 4096 rounds) — never the password. Like PostgreSQL's `pg_authid`, the
//! file is a secret: it is written with mode 0600.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::sasl::SASLAuthStartupHandler;
use datafusion_postgres::pgwire::api::auth::sasl::scram::{
    SCRAM_ITERATIONS, ScramAuth, gen_salted_password,
};
use datafusion_postgres::pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
};
use datafusion_postgres::pgwire::api::{ClientInfo, PidSecretKeyGenerator};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::startup::SecretKey;
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use futures::Sink;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::roles::{Grant, Role};
use crate::sqlstate::code;

/// One user as stored in the users file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub role: Role,
    /// Schemas the user may read; empty means all.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Hex of the random salt.
    pub salt: String,
    /// PBKDF2 rounds; must be the server's SCRAM iteration count.
    pub iterations: usize,
    /// Hex of SCRAM's SaltedPassword.
    pub salted_password: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersToml {
    #[serde(default)]
    users: BTreeMap<String, UserEntry>,
}

/// The users file's content.
#[derive(Debug, Default, Clone)]
pub struct Users {
    users: BTreeMap<String, UserEntry>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Users {
    /// Reads a users file; a missing file is an error naming it.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read users file {}: {e}", path.display()))?;
        let file: UsersToml =
            toml::from_str(&text).map_err(|e| format!("users file {}: {e}", path.display()))?;
        for (name, entry) in &file.users {
            if entry.iterations != SCRAM_ITERATIONS
                || unhex(&entry.salt).is_none()
                || unhex(&entry.salted_password).is_none_or(|p| p.len() != 32)
            {
                return Err(format!(
                    "users file {}: entry for \"{name}\" is damaged; re-create it with `sigfuse user add`",
                    path.display()
                ));
            }
        }
        Ok(Self { users: file.users })
    }

    /// Reads the file if it exists, else starts an empty set.
    pub fn load_or_empty(path: &Path) -> Result<Self, String> {
        if path.exists() {
            Self::load(path)
        } else {
            Ok(Self::default())
        }
    }

    /// Writes the file atomically with owner-only permissions.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = toml::to_string(&UsersToml {
            users: self.users.clone(),
        })
        .map_err(|e| format!("cannot encode users file: {e}"))?;
        let text = format!(
            "# sigfuse users: roles and SCRAM-SHA-256 salted passwords (never the passwords).\n\
             # Keep this file private; edit it with `sigfuse user add`.\n{text}"
        );
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let tmp = path.with_extension("toml.tmp");
        write_private(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("cannot write users file {}: {e}", path.display()))
    }

    /// Adds or replaces a user, storing only a salted hash of the password.
    pub fn set(&mut self, name: &str, password: &str, role: Role, schemas: Vec<String>) {
        let salt: [u8; 16] = rand::random();
        let salted = gen_salted_password(password, &salt, SCRAM_ITERATIONS);
        self.users.insert(
            name.to_string(),
            UserEntry {
                role,
                schemas,
                salt: hex(&salt),
                iterations: SCRAM_ITERATIONS,
                salted_password: hex(&salted),
            },
        );
    }

    /// Removes a user; false when there was none of that name.
    pub fn remove(&mut self, name: &str) -> bool {
        self.users.remove(name).is_some()
    }

    /// Users and their rights, by name.
    pub fn grants_sorted(&self) -> Vec<(String, Grant)> {
        self.each_grant().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }

    /// Every user's rights.
    pub fn grants(&self) -> HashMap<String, Grant> {
        self.each_grant().collect()
    }

    /// Users' rights in name order (the file's map is sorted).
    fn each_grant(&self) -> impl Iterator<Item = (String, Grant)> + '_ {
        self.users.iter().map(|(name, e)| {
            (
                name.clone(),
                Grant {
                    role: e.role,
                    schemas: e.schemas.clone(),
                },
            )
        })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // A stale file (a write that died before its rename) may have wider permissions or be a
    // link: it is removed, and the new one created afresh with mode 0600.
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// The key unknown users' mock salts are derived from; new in every process.
static MOCK_KEY: std::sync::LazyLock<[u8; 32]> = std::sync::LazyLock::new(rand::random);

/// SCRAM's source of salted passwords.
#[derive(Debug)]
pub struct UsersAuthSource {
    users: Arc<Users>,
}

impl UsersAuthSource {
    pub fn new(users: Arc<Users>) -> Self {
        Self { users }
    }
}

#[async_trait]
impl AuthSource for UsersAuthSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let name = login.user().unwrap_or_default();
        let stored = self.users.users.get(name).and_then(|e| {
            Some(Password::new(
                Some(unhex(&e.salt)?),
                unhex(&e.salted_password)?,
            ))
        });
        Ok(stored.unwrap_or_else(|| {
            // An unknown user goes through the same exchange and fails at the proof. Its salt
            // and secret are derived from the name with a key of this process, so they stay the
            // same from one attempt to the next, as a real user's do: names cannot be probed.
            log::warn!("failed login: unknown user {name:?} from {}", login.host());
            let derive = |what: &[u8]| {
                let mut h = Sha256::new();
                h.update(*MOCK_KEY);
                h.update(what);
                h.update(name.as_bytes());
                h.finalize()
            };
            Password::new(
                Some(derive(b"salt")[..16].to_vec()),
                derive(b"secret").to_vec(),
            )
        }))
    }
}

/// The pid and secret key of one connection, fixed before start-up so that the session's
/// `pg_backend_pid()` and the cancel registry agree with what the client is told.
#[derive(Debug, Clone)]
pub struct BackendKey {
    pub pid: i32,
    pub secret: i32,
}

impl PidSecretKeyGenerator for BackendKey {
    fn generate(&self, _client: &dyn ClientInfo) -> (i32, SecretKey) {
        (self.pid, SecretKey::I32(self.secret))
    }
}

/// How a connection authenticates.
pub enum Login {
    /// No password: allowed only on loopback addresses (checked when the server starts).
    Trust {
        params: Arc<DefaultServerParameterProvider>,
        key: BackendKey,
    },
    /// SCRAM-SHA-256 against the users file.
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
}

/// Start-up: refuses plain connections in TLS-only mode and connections over the limit, then
/// runs the login.
pub struct Startup {
    pub login: Login,
    pub tls_only: bool,
    /// Set when the connection limit is reached: the client gets this FATAL error.
    pub refuse: Option<(&'static str, String)>,
}

impl Startup {
    pub fn new(
        users: Option<Arc<Users>>,
        params: Arc<DefaultServerParameterProvider>,
        key: BackendKey,
        tls_only: bool,
    ) -> Self {
        let login = match users {
            None => Login::Trust { params, key },
            Some(users) => Login::Scram(
                SASLAuthStartupHandler::new(params)
                    .with_scram(ScramAuth::new(Arc::new(UsersAuthSource::new(users))))
                    .with_pid_secret_key_generator(Arc::new(key)),
            ),
        };
        Self {
            login,
            tls_only,
            refuse: None,
        }
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message,
    )))
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Checked on every start-up message, not only on `Startup`: pgwire's SASL handler would
        // take a password message that arrives first.
        if let Some((code, message)) = &self.refuse {
            return Err(fatal(code, message.clone()));
        }
        if self.tls_only && !client.is_secure() {
            return Err(fatal(
                code::INVALID_AUTHORIZATION,
                "this server accepts only TLS connections: connect with sslmode=require".into(),
            ));
        }
        match &self.login {
            Login::Scram(sasl) => sasl.on_startup(client, message).await,
            Login::Trust { params, key } => {
                if let PgWireFrontendMessage::Startup(ref startup) = message {
                    protocol_negotiation(client, startup).await?;
                    save_startup_parameters_to_metadata(client, startup);
                    client.set_pid_and_secret_key(key.pid, SecretKey::I32(key.secret));
                    finish_authentication(client, params.as_ref()).await?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_file_keeps_only_salted_hashes_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        let mut users = Users::default();
        users.set("ana", "correct horse", Role::Analyst, vec!["public".into()]);
        users.set("root", "battery staple", Role::Admin, vec![]);
        users.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("correct horse") && !text.contains("battery"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            // A stale temporary file readable by others does not make the next save readable.
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, "stale").unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
            users.save(&path).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = Users::load(&path).unwrap();
        assert_eq!(back.names().collect::<Vec<_>>(), ["ana", "root"]);
        let grants = back.grants();
        assert_eq!(grants["ana"].role, Role::Analyst);
        assert_eq!(grants["ana"].schemas, ["public"]);
        // The stored secret is SCRAM's SaltedPassword for that salt.
        let e = &back.users["ana"];
        let salt = unhex(&e.salt).unwrap();
        assert_eq!(
            hex(&gen_salted_password(
                "correct horse",
                &salt,
                SCRAM_ITERATIONS
            )),
            e.salted_password
        );
        // Two users with the same password get different salts and hashes.
        let mut twins = Users::default();
        twins.set("a", "same", Role::Analyst, vec![]);
        twins.set("b", "same", Role::Analyst, vec![]);
        assert_ne!(
            twins.users["a"].salted_password,
            twins.users["b"].salted_password
        );
    }

    #[tokio::test]
    async fn unknown_users_get_a_stable_mock_salt() {
        let mut users = Users::default();
        users.set("ana", "pw", Role::Analyst, vec![]);
        let source = UsersAuthSource::new(Arc::new(users));
        let ask = |name: &'static str| {
            let source = &source;
            async move {
                let login = LoginInfo::new(Some(name), None, "127.0.0.1".into());
                source.get_password(&login).await.unwrap()
            }
        };
        let (a, b, c) = (ask("ghost").await, ask("ghost").await, ask("other").await);
        assert_eq!(a.salt(), b.salt());
        assert_eq!(a.password(), b.password());
        assert_ne!(a.salt(), c.salt());
        assert_eq!(a.salt().map(<[u8]>::len), Some(16));
        let real = ask("ana").await;
        assert_eq!(real.salt().map(<[u8]>::len), Some(16));
    }

    #[test]
    fn a_damaged_users_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(
            &path,
            "[users.x]\nrole = \"admin\"\nsalt = \"zz\"\niterations = 4096\nsalted_password = \"00\"\n",
        )
        .unwrap();
        let e = Users::load(&path).unwrap_err();
        assert!(e.contains("users.toml") && e.contains("\"x\""), "{e}");
        std::fs::write(&path, "[users.x]\nrole = \"boss\"\n").unwrap();
        assert!(Users::load(&path).is_err());
    }
}
