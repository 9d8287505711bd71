//! The model statements, recognized with sqlparser's tokenizer in front of DataFusion (whose
//! parser does not know them): `CREATE MODEL name [KIND kind] [OPTIONS (key = value, …)] AS
//! query`, `SHOW MODELS`, `DROP MODEL [IF EXISTS] name`, `ALTER MODEL name SET VERSION n`.

use std::collections::BTreeMap;

use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use sigfuse_models::{baseline, logparse};

/// The model kinds `CREATE MODEL … KIND` knows.
pub const KINDS: [&str; 2] = [logparse::KIND, baseline::KIND];

/// One statement of a script.
#[derive(Debug)]
pub enum Command {
    /// Anything DataFusion parses.
    Sql(Box<Statement>),
    /// `CREATE MODEL name [KIND kind] [OPTIONS (…)] AS query`.
    CreateModel(CreateModel),
    /// `SHOW MODELS`.
    ShowModels,
    /// `DROP MODEL [IF EXISTS] name`.
    DropModel { name: String, if_exists: bool },
    /// `ALTER MODEL name SET VERSION n`.
    AlterModelVersion { name: String, version: u64 },
}

/// A parsed `CREATE MODEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateModel {
    pub name: String,
    /// Lower case; `log_parser` when not given.
    pub kind: String,
    /// `OPTIONS (key = value, …)`, keys lower case, values as written (quotes removed).
    pub options: BTreeMap<String, String>,
    /// The training query, as written.
    pub query: String,
}

const USAGE: &str = "CREATE MODEL name [KIND log_parser|baseline] [OPTIONS (key = 'value', …)] AS <query>; SHOW MODELS; DROP MODEL [IF EXISTS] name; ALTER MODEL name SET VERSION n";

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn significant(tokens: &[Token]) -> impl Iterator<Item = (usize, &Token)> {
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| !matches!(t, Token::Whitespace(_) | Token::EOF))
}

fn shown(t: Option<&(usize, &Token)>) -> String {
    t.map_or("the end".to_string(), |(_, t)| t.to_string())
}

/// Splits a script at top-level `;` and parses each statement: model statements here, the
/// rest with DataFusion (PostgreSQL dialect), ASOF joins in the planner's shape. Each
/// statement is parsed from its own text as written (tokens printed back lose the doubled
/// quote of `'it''s'`).
pub fn split_commands(sql: &str) -> Result<Vec<Command>> {
    let dialect = PostgreSqlDialect {};
    let located = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| DataFusionError::SQL(Box::new(e.into()), None))?;
    let offsets = byte_offsets(sql, &located);
    let tokens: Vec<Token> = located.into_iter().map(|t| t.token).collect();
    let mut out = Vec::new();
    let mut start = 0;
    for end in (0..=tokens.len()).filter(|&i| i == tokens.len() || tokens[i] == Token::SemiColon) {
        let piece = Piece {
            tokens: &tokens[start..end],
            script: sql,
            offsets: &offsets[start..=end],
        };
        start = end + 1;
        if significant(piece.tokens).next().is_none() {
            continue;
        }
        if let Some(cmd) = parse_model_statement(&piece)? {
            out.push(cmd);
            continue;
        }
        for mut s in DFParser::parse_sql_with_dialect(piece.text_from(0), &dialect)? {
            crate::rewrite_statement(&mut s);
            out.push(Command::Sql(Box::new(s)));
        }
    }
    Ok(out)
}

/// One statement's tokens in the script they were read from.
struct Piece<'a> {
    tokens: &'a [Token],
    script: &'a str,
    /// Where each token starts in `script`, and where the last one ends.
    offsets: &'a [usize],
}

impl Piece<'_> {
    /// The statement's text from token `i` to its end, as written.
    fn text_from(&self, i: usize) -> &str {
        &self.script[self.offsets[i]..self.offsets[self.tokens.len()]]
    }
}

/// The byte offset in `sql` where each token starts, and `sql.len()` after the last: the
/// tokenizer reports lines and columns (in characters, from 1).
fn byte_offsets(sql: &str, tokens: &[TokenWithSpan]) -> Vec<usize> {
    let mut out = Vec::with_capacity(tokens.len() + 1);
    let mut chars = sql.char_indices().peekable();
    let (mut line, mut column) = (1, 1);
    for t in tokens {
        let at = (t.span.start.line, t.span.start.column);
        while (line, column) < at {
            match chars.next() {
                Some((_, '\n')) => (line, column) = (line + 1, 1),
                Some(_) => column += 1,
                None => break,
            }
        }
        out.push(chars.peek().map_or(sql.len(), |&(i, _)| i));
    }
    out.push(sql.len());
    out
}

/// A model statement, or `None` for anything else.
fn parse_model_statement(piece: &Piece) -> Result<Option<Command>> {
    let sig: Vec<(usize, &Token)> = significant(piece.tokens).collect();
    let (Some((_, a)), Some((_, b))) = (sig.first(), sig.get(1)) else {
        return Ok(None);
    };
    if is_word(a, "show") && is_word(b, "models") {
        if sig.len() > 2 {
            return plan_err!(
                "SHOW MODELS takes nothing after it, got {}",
                shown(sig.get(2))
            );
        }
        return Ok(Some(Command::ShowModels));
    }
    if !is_word(b, "model") {
        return Ok(None);
    }
    if is_word(a, "create") {
        return parse_create_model(piece, &sig[2..]).map(|c| Some(Command::CreateModel(c)));
    }
    if is_word(a, "drop") {
        let mut rest = &sig[2..];
        let if_exists = rest.len() >= 2 && is_word(rest[0].1, "if") && is_word(rest[1].1, "exists");
        if if_exists {
            rest = &rest[2..];
        }
        let name = model_name("DROP MODEL", rest.first())?;
        if rest.len() > 1 {
            return plan_err!("DROP MODEL {name}: unexpected {}", shown(rest.get(1)));
        }
        return Ok(Some(Command::DropModel { name, if_exists }));
    }
    if is_word(a, "alter") {
        let rest = &sig[2..];
        let name = model_name("ALTER MODEL", rest.first())?;
        let ok = rest.len() == 4 && is_word(rest[1].1, "set") && is_word(rest[2].1, "version");
        let version = match rest.get(3) {
            Some((_, Token::Number(n, _))) if ok => n.parse::<u64>().ok().filter(|v| *v > 0),
            _ => None,
        };
        let Some(version) = version else {
            return plan_err!(
                "ALTER MODEL {name}: expected SET VERSION <n> (a version number from 1, see SHOW MODELS)"
            );
        };
        return Ok(Some(Command::AlterModelVersion { name, version }));
    }
    Ok(None)
}

fn model_name(what: &str, t: Option<&(usize, &Token)>) -> Result<String> {
    let name = match t {
        // Any word, keywords too (`slow`, `events`), as PostgreSQL takes non-reserved ones;
        // only the words of the statement's own grammar must be quoted to be names.
        Some((_, Token::Word(w)))
            if w.quote_style.is_some()
                || !matches!(
                    w.keyword,
                    Keyword::AS
                        | Keyword::OPTIONS
                        | Keyword::SET
                        | Keyword::VERSION
                        | Keyword::IF
                        | Keyword::EXISTS
                ) =>
        {
            w.value.clone()
        }
        other => {
            return plan_err!(
                "{what}: expected a model name, got {}; usage: {USAGE}",
                shown(other)
            );
        }
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return plan_err!("{what}: a model name is letters, digits, '_' and '-', got {name:?}");
    }
    Ok(name)
}

/// `CREATE MODEL name [KIND kind] [OPTIONS (…)] AS query`; `sig` starts after `MODEL`.
fn parse_create_model(piece: &Piece, sig: &[(usize, &Token)]) -> Result<CreateModel> {
    let name = model_name("CREATE MODEL", sig.first())?;
    let mut rest = &sig[1..];
    let mut kind = logparse::KIND.to_string();
    if let Some((_, t)) = rest.first()
        && is_word(t, "kind")
    {
        match rest.get(1) {
            Some((_, Token::Word(w))) => kind = w.value.to_ascii_lowercase(),
            other => {
                return plan_err!(
                    "CREATE MODEL {name}: expected a kind after KIND, got {}",
                    shown(other)
                );
            }
        }
        rest = &rest[2..];
    }
    if !KINDS.contains(&kind.as_str()) {
        return plan_err!(
            "CREATE MODEL {name}: unknown model kind {kind:?}; this version knows {}",
            KINDS.join(", ")
        );
    }
    let mut options = BTreeMap::new();
    if let Some((_, t)) = rest.first()
        && is_word(t, "options")
    {
        if !matches!(rest.get(1), Some((_, Token::LParen))) {
            return plan_err!("CREATE MODEL {name}: expected ( after OPTIONS");
        }
        rest = &rest[2..];
        loop {
            let key = match rest.first() {
                Some((_, Token::Word(w))) => w.value.to_ascii_lowercase(),
                other => {
                    return plan_err!(
                        "CREATE MODEL {name}: expected an option name, got {}",
                        shown(other)
                    );
                }
            };
            if !matches!(rest.get(1), Some((_, Token::Eq))) {
                return plan_err!("CREATE MODEL {name}: expected = after option {key}");
            }
            let value = match rest.get(2) {
                Some((_, Token::SingleQuotedString(s))) => s.clone(),
                Some((_, Token::Number(n, _))) => n.clone(),
                Some((_, Token::Word(w))) => w.value.clone(),
                other => {
                    return plan_err!(
                        "CREATE MODEL {name}: option {key}: expected a value, got {}",
                        shown(other)
                    );
                }
            };
            if options.insert(key.clone(), value).is_some() {
                return plan_err!("CREATE MODEL {name}: option {key} given twice");
            }
            rest = &rest[3..];
            match rest.first() {
                Some((_, Token::Comma)) => rest = &rest[1..],
                Some((_, Token::RParen)) => {
                    rest = &rest[1..];
                    break;
                }
                other => {
                    return plan_err!(
                        "CREATE MODEL {name}: expected , or ) in OPTIONS, got {}",
                        shown(other)
                    );
                }
            }
        }
    }
    let Some(&(as_at, t)) = rest.first() else {
        return plan_err!("CREATE MODEL {name}: expected AS <query>; usage: {USAGE}");
    };
    if !is_word(t, "as") {
        return plan_err!("CREATE MODEL {name}: expected AS <query>, got {t}; usage: {USAGE}");
    }
    let query = piece.text_from(as_at + 1).trim().to_string();
    if query.is_empty() {
        return plan_err!("CREATE MODEL {name}: the query after AS is empty");
    }
    Ok(CreateModel {
        name,
        kind,
        options,
        query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Command {
        let mut cmds = split_commands(sql).unwrap();
        assert_eq!(cmds.len(), 1, "{cmds:?}");
        cmds.pop().unwrap()
    }

    #[test]
    fn statements_are_parsed_from_their_text_as_written() {
        // A doubled quote, non-ASCII text before it, a comment at the end of a line, and a
        // model's query over several lines: each kept exactly (tokens printed back would give
        // `'it's'`, which does not parse).
        let cmds = split_commands(
            "SELECT 'é''ü' AS a -- c; not a statement\n; SELECT 'it''s' AS b;\n\
             CREATE MODEL m AS SELECT body\n  FROM logs WHERE body <> 'don''t' -- tail",
        )
        .unwrap();
        let sql: Vec<String> = cmds[..2]
            .iter()
            .map(|c| match c {
                Command::Sql(s) => s.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sql, ["SELECT 'é''ü' AS a", "SELECT 'it''s' AS b"]);
        let Command::CreateModel(cm) = &cmds[2] else {
            panic!("{cmds:?}");
        };
        assert_eq!(
            cm.query,
            "SELECT body\n  FROM logs WHERE body <> 'don''t' -- tail"
        );
    }

    #[test]
    fn model_statements_are_recognized_and_the_rest_goes_to_datafusion() {
        let cmds = split_commands(
            "SELECT 1; create model ops_logs KIND log_parser AS SELECT body FROM logs WHERE service = 'a;b' ; SELECT 2",
        )
        .unwrap();
        assert_eq!(cmds.len(), 3);
        let Command::CreateModel(cm) = &cmds[1] else {
            panic!("{cmds:?}");
        };
        assert_eq!(cm.name, "ops_logs");
        assert_eq!(cm.kind, "log_parser");
        assert_eq!(cm.query, "SELECT body FROM logs WHERE service = 'a;b'");
        assert!(matches!(cmds[0], Command::Sql(_)) && matches!(cmds[2], Command::Sql(_)));
        let Command::CreateModel(cm) = one(
            "CREATE MODEL base KIND Baseline OPTIONS (window = '5 minutes', anomalous = 0.99) AS SELECT * FROM signal_windows('5 minutes')",
        ) else {
            panic!()
        };
        assert_eq!(cm.kind, "baseline");
        assert_eq!(cm.options["window"], "5 minutes");
        assert_eq!(cm.options["anomalous"], "0.99");
        assert!(matches!(one("show models"), Command::ShowModels));
        assert!(matches!(
            one("DROP MODEL IF EXISTS m"),
            Command::DropModel { name, if_exists: true } if name == "m"
        ));
        assert!(matches!(
            one("ALTER MODEL m SET VERSION 2"),
            Command::AlterModelVersion { name, version: 2 } if name == "m"
        ));
    }

    #[test]
    fn model_statement_errors_say_what_is_wrong() {
        let err = |sql: &str| split_commands(sql).unwrap_err().to_string();
        assert!(
            err("CREATE MODEL m KIND fusion AS SELECT 1").contains("unknown model kind \"fusion\"")
        );
        assert!(err("CREATE MODEL m SELECT 1").contains("expected AS"));
        assert!(err("CREATE MODEL AS SELECT 1").contains("expected a model name"));
        // Keywords outside the statement's grammar are names.
        for name in ["slow", "events", "select"] {
            let sql = format!("CREATE MODEL {name} KIND baseline AS SELECT 1");
            match one(&sql) {
                Command::CreateModel(cm) => assert_eq!(cm.name, name),
                other => panic!("{sql}: {other:?}"),
            }
        }
        assert!(err("CREATE MODEL m AS").contains("query after AS is empty"));
        assert!(err("CREATE MODEL m OPTIONS (a = 1 AS SELECT 1").contains("expected , or )"));
        assert!(err("CREATE MODEL m OPTIONS (a = 1, a = 2) AS SELECT 1").contains("given twice"));
        assert!(err("ALTER MODEL m SET VERSION 0").contains("expected SET VERSION <n>"));
        assert!(err("ALTER MODEL m SET VERSION").contains("expected SET VERSION <n>"));
        assert!(err("DROP MODEL").contains("expected a model name"));
        assert!(err("SHOW MODELS x").contains("takes nothing"));
    }
}
