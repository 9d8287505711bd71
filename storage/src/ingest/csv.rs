//! CSV with a header row; column names mapped by [`FieldMap`]. Empty fields are NULL.

use std::io::Read;

use datafusion::common::{DataFusionError, Result};
use serde_json::{Map, Value};

use super::mapping::FieldMap;
use super::out::RowOut;
use crate::rows::Row;

pub(crate) fn read(reader: impl Read, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| {
            DataFusionError::Execution(format!(
                "'{}' has no readable CSV header: {e}",
                out.source()
            ))
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut row = Row::new(map.kind());
    let mut record = csv::ByteRecord::new();
    let mut last_pos = 0u64;
    loop {
        let line = csv.position().line() + 1;
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.reject(line, format!("invalid CSV: {e}"), "")?;
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        let pos = csv.position().byte();
        if pos - last_pos >= 8 << 20 {
            out.progress(pos - last_pos)?;
            last_pos = pos;
        }
        let raw = || {
            record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
                .join(",")
        };
        if record.len() != headers.len() {
            let reason = format!("expected {} fields, got {}", headers.len(), record.len());
            out.reject(line, reason, &raw())?;
            continue;
        }
        let obj: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, f)| !f.is_empty())
            .map(|(h, f)| {
                (
                    h.clone(),
                    Value::String(String::from_utf8_lossy(f).into_owned()),
                )
            })
            .collect();
        match map.fill(&obj, &mut row) {
            Ok(()) => out.emit(line, &row, raw)?,
            Err(reason) => out.reject(line, reason, &raw())?,
        }
    }
    out.progress(csv.position().byte() - last_pos)
}
