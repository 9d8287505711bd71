//! JSON lines: one JSON object per line, fields mapped by [`FieldMap`].

use std::io::{BufRead, BufReader, Read};

use datafusion::common::Result;
use serde_json::Value;

use super::mapping::FieldMap;
use super::out::RowOut;
use crate::rows::Row;

/// Calls `f(line_number, line)` for every non-empty line, replacing invalid UTF-8, and reports
/// progress every few MiB.
pub(crate) fn for_each_line(
    reader: impl Read,
    out: &mut RowOut,
    mut f: impl FnMut(&mut RowOut, u64, &str) -> Result<()>,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let mut buf = Vec::with_capacity(4096);
    let (mut line_no, mut unreported) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| {
            datafusion::common::DataFusionError::Execution(format!(
                "reading '{}': {e}",
                out.source()
            ))
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        unreported += n as u64;
        if unreported >= 8 << 20 {
            out.progress(unreported)?;
            unreported = 0;
        }
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        f(out, line_no, line)?;
    }
    out.progress(unreported)
}

pub(crate) fn read(reader: impl Read, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let mut row = Row::new(map.kind());
    for_each_line(reader, out, |out, line_no, line| {
        let obj = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => obj,
            Ok(other) => {
                let what = match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    _ => "a scalar",
                };
                return out.reject(line_no, format!("expected a JSON object, got {what}"), line);
            }
            Err(e) => return out.reject(line_no, format!("invalid JSON: {e}"), line),
        };
        match map.fill(&obj, &mut row) {
            Ok(()) => out.emit(line_no, &row, || line.to_string()),
            Err(reason) => out.reject(line_no, reason, line),
        }
    })
}
