//! `sigfuse user`: the users file of `sigfuse serve` (roles and salted SCRAM secrets).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use sigfuse_sql::{Role, Users};

use crate::serve::DEFAULT_USERS;

#[derive(clap::Args)]
pub struct UserArgs {
    /// The users file.
    #[arg(long, env = "SIGFUSE_USERS", default_value = DEFAULT_USERS, global = true)]
    users: PathBuf,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Add a user or replace its password and role; the password is read from stdin.
    Add {
        name: String,
        #[arg(long)]
        role: Role,
        /// Schemas the user may read (repeat); all when none is given.
        #[arg(long = "schema")]
        schemas: Vec<String>,
    },
    /// Remove a user.
    Remove { name: String },
    /// List users and their roles.
    List,
}

fn read_password() -> Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("password: ");
        std::io::stderr().flush()?;
        // Hide the typed password where the terminal allows it.
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if tty {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("empty password: give the password on standard input");
    }
    Ok(password)
}

pub fn run(args: UserArgs) -> Result<ExitCode> {
    let mut users = Users::load_or_empty(&args.users).map_err(|e| anyhow!(e))?;
    match args.action {
        Action::Add {
            name,
            role,
            schemas,
        } => {
            if name.is_empty() || name.chars().any(|c| c.is_control()) {
                bail!("user name must be non-empty printable text");
            }
            let password = read_password()?;
            users.set(&name, &password, role, schemas);
            users.save(&args.users).map_err(|e| anyhow!(e))?;
            eprintln!("user \"{name}\" ({role}) saved in {}", args.users.display());
        }
        Action::Remove { name } => {
            if !users.remove(&name) {
                bail!("no user \"{name}\" in {}", args.users.display());
            }
            users.save(&args.users).map_err(|e| anyhow!(e))?;
            eprintln!("user \"{name}\" removed from {}", args.users.display());
        }
        Action::List => {
            let mut out = std::io::stdout().lock();
            for (name, grant) in users.grants_sorted() {
                let schemas = if grant.schemas.is_empty() {
                    "all schemas".to_string()
                } else {
                    grant.schemas.join(", ")
                };
                writeln!(out, "{name}\t{}\t{schemas}", grant.role)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
