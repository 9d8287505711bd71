//! Renders the SQL function reference (`docs/sql-functions.md`) from each function's
//! `#[user_doc]`, so the page cannot drift from the code: a unit test compares the file with
//! what this renders and says how to regenerate it.

use std::fmt::Write;

use datafusion::logical_expr::Documentation;

/// The reference page for `functions` (name, documentation), in the order given.
pub fn markdown<'a>(functions: impl IntoIterator<Item = (&'a str, &'a Documentation)>) -> String {
    let mut out = String::from(
        "# SQL function reference\n\n\
         Generated from the functions' `#[user_doc]` by `udfs/src/docs.rs`; do not edit by hand.\n\
         Regenerate with `SIGFUSE_UPDATE_DOCS=1 cargo test -p sigfuse-udfs docs`.\n",
    );
    let mut section = String::new();
    for (name, doc) in functions {
        if doc.doc_section.label != section {
            section = doc.doc_section.label.to_string();
            let _ = write!(out, "\n## {section}\n");
        }
        let _ = write!(
            out,
            "\n### `{name}`\n\n{}\n\n```sql\n{}\n```\n",
            doc.description.trim(),
            doc.syntax_example
        );
        if let Some(args) = &doc.arguments {
            out.push_str("\n| argument | meaning |\n|---|---|\n");
            for (arg, meaning) in args {
                let _ = writeln!(
                    out,
                    "| `{arg}` | {} |",
                    meaning.replace('\n', " ").replace('|', "\\|")
                );
            }
        }
        if let Some(example) = &doc.sql_example {
            let _ = write!(out, "\n{}\n", example.trim());
        }
        if let Some(related) = &doc.related_udfs {
            let names: Vec<String> = related.iter().map(|r| format!("`{r}`")).collect();
            let _ = write!(out, "\nSee also: {}.\n", names.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_page_is_current() {
        let functions = crate::scalar_functions(&crate::ModelHandles::default());
        let tables = crate::table_functions(&crate::ModelHandles::default(), &Default::default());
        let mut docs = Vec::new();
        for f in &functions {
            let doc = f.documentation();
            assert!(doc.is_some(), "{} has no #[user_doc]", f.name());
            // Twins sharing one page (`json_…` / `jsonb_…`) are listed once.
            if let Some(doc) = doc
                && !docs
                    .iter()
                    .any(|(_, d): &(&str, &Documentation)| std::ptr::eq(*d, doc))
            {
                docs.push((f.name(), doc));
            }
        }
        let aggregates = crate::aggregate_functions(&crate::ModelHandles::default());
        for f in &aggregates {
            let doc = f.documentation();
            assert!(doc.is_some(), "{} has no #[user_doc]", f.name());
            if let Some(doc) = doc {
                docs.push((f.name(), doc));
            }
        }
        for (name, _, doc) in &tables {
            docs.push((name, doc));
        }
        // One heading per section, in section order.
        docs.sort_by_key(|(_, d)| d.doc_section.label);
        let rendered = markdown(docs);
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sql-functions.md");
        if std::env::var_os("SIGFUSE_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &rendered).expect("write docs/sql-functions.md");
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == rendered,
            "docs/sql-functions.md is stale: run SIGFUSE_UPDATE_DOCS=1 cargo test -p sigfuse-udfs docs"
        );
    }
}
