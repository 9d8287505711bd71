//! Parquet files of any schema: each row is rendered as a JSON object (Arrow's JSON writer, so
//! every Arrow type has one well-defined text form) and mapped like JSON lines.

use std::io::Read;

use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::common::{DataFusionError, Result};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::mapping::FieldMap;
use super::out::RowOut;

pub(crate) fn read(mut reader: impl Read, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let source = out.source().to_string();
    let not_parquet = |e: &dyn std::fmt::Display| {
        DataFusionError::Execution(format!("'{source}' is not a readable Parquet file: {e}"))
    };
    // Parquet needs random access (the footer is at the end); sources are read once into memory
    // per file, which the 1 GiB row-group limit of the writers that produce them keeps bounded.
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| not_parquet(&e))?;
    let total = bytes.len() as u64;
    let batches = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| not_parquet(&e))?
        .with_batch_size(8192)
        .build()
        .map_err(|e| not_parquet(&e))?;
    let mut row = crate::rows::Row::new(map.kind());
    let mut line = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| not_parquet(&e))?;
        let mut buf = Vec::new();
        {
            let mut w = LineDelimitedWriter::new(&mut buf);
            w.write(&batch)?;
            w.finish()?;
        }
        for text in buf.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            line += 1;
            let text = String::from_utf8_lossy(text);
            let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| DataFusionError::Internal(format!("arrow json: {e}")))?;
            match map.fill(&obj, &mut row) {
                Ok(()) => out.emit(line, &row, || text.to_string())?,
                Err(reason) => out.reject(line, reason, &text)?,
            }
        }
    }
    out.progress(total)
}
