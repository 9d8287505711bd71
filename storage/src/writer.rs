//! The Parquet writer of the lake layout.
//!
//! Rows are buffered per UTC hour and flushed as one file per hour partition and flush: zstd,
//! sorted by `ts`, page-level statistics (so time predicates prune row groups and pages), and the
//! sort order recorded in the footer. Each file goes through the object store's own atomic
//! write: a single PUT or a multipart upload that becomes visible only when completed (the local
//! store writes a staging file and renames it). A reader therefore never sees a partial file, and
//! a crash leaves at most a staging object that does not end in `.parquet` and is never listed.
//!
//! File names are `<stem>-<seq>.parquet`; the caller derives `stem` from the source content, and
//! flushes happen at the same points for the same input, so writing the same input again replaces
//! the same files instead of adding copies.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch, TimestampNanosecondArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;

use crate::lake::Lake;
use crate::layout::{NANOS_PER_HOUR, hour_of, hour_prefix};
use crate::schema::SignalKind;

/// The `ts` column of a batch of a canonical schema (checked against it by `write`).
fn ts_column(batch: &RecordBatch) -> Result<&TimestampNanosecondArray> {
    batch
        .column(0)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .ok_or_else(|| DataFusionError::Internal("ts is a nanosecond timestamp".into()))
}

/// Knobs of the writer; the defaults suit ingest.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Rows per Parquet row group.
    pub max_row_group_rows: usize,
    /// Buffered bytes (Arrow memory) after which every partition is flushed.
    pub flush_bytes: usize,
    pub zstd_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            max_row_group_rows: 128 * 1024,
            flush_bytes: 128 << 20,
            zstd_level: 3,
        }
    }
}

/// What a writer wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub rows: u64,
    /// Paths of the files written, relative to the lake root.
    pub files: Vec<String>,
}

/// Writes canonical batches of one table into the lake layout.
pub struct SignalWriter {
    lake: Lake,
    kind: SignalKind,
    stem: String,
    options: WriterOptions,
    pending: BTreeMap<i64, Vec<RecordBatch>>,
    pending_bytes: usize,
    next_seq: BTreeMap<i64, u32>,
    stats: WriteStats,
}

impl SignalWriter {
    /// `stem` names this writer's files; it must be unique per source content (see module doc).
    pub fn new(
        lake: &Lake,
        kind: SignalKind,
        stem: impl Into<String>,
        options: WriterOptions,
    ) -> Self {
        Self {
            lake: lake.clone(),
            kind,
            stem: stem.into(),
            options,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            next_seq: BTreeMap::new(),
            stats: WriteStats::default(),
        }
    }

    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Buffers a batch of the table's canonical schema, flushing when the buffer is full.
    pub async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.schema() != self.kind.schema() {
            return exec_err!(
                "{} writer: batch schema does not match the canonical schema: {:?}",
                self.kind,
                batch.schema()
            );
        }
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let ts = ts_column(&batch)?;
        if ts.null_count() > 0 {
            return exec_err!("{} writer: ts must not be NULL", self.kind);
        }
        let values = ts.values();
        let first = hour_of(values[0]);
        let mut by_hour: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        if values
            .iter()
            .all(|&t| (first..first + NANOS_PER_HOUR).contains(&t))
        {
            self.push(first, batch);
        } else {
            for (i, &t) in values.iter().enumerate() {
                by_hour.entry(hour_of(t)).or_default().push(i as u32);
            }
            for (hour, idx) in by_hour {
                let part = take_record_batch(&batch, &UInt32Array::from(idx))?;
                self.push(hour, part);
            }
        }
        if self.pending_bytes >= self.options.flush_bytes {
            self.flush().await?;
        }
        Ok(())
    }

    fn push(&mut self, hour: i64, batch: RecordBatch) {
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.entry(hour).or_default().push(batch);
    }

    /// Writes out every buffered partition.
    pub async fn flush(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        for (hour, batches) in pending {
            let batch = concat_batches(&self.kind.schema(), &batches)?;
            drop(batches);
            // Sources are usually in time order already: then the copy a sort needs is skipped.
            let in_order = ts_column(&batch)?.values().windows(2).all(|w| w[0] <= w[1]);
            let sorted = if in_order {
                batch
            } else {
                take_record_batch(&batch, &sort_to_indices(batch.column(0), None, None)?)?
            };
            let seq = self.next_seq.entry(hour).or_insert(0);
            let rel = format!(
                "{}{}-{:04}.parquet",
                hour_prefix(self.kind, hour),
                self.stem,
                seq
            );
            *seq += 1;
            self.write_file(&rel, &sorted).await?;
            self.stats.rows += sorted.num_rows() as u64;
            self.stats.files.push(rel);
        }
        Ok(())
    }

    async fn write_file(&self, rel: &str, batch: &RecordBatch) -> Result<()> {
        let mut props = WriterProperties::builder();
        // Near-unique text gains nothing from a dictionary, and trying one costs encoding time.
        for column in [
            "body",
            "message",
            "trace_id",
            "span_id",
            "parent_span_id",
            "attributes",
        ] {
            if batch.schema().index_of(column).is_ok() {
                props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
            }
        }
        let props = props
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(
                self.options.zstd_level,
            )?))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(self.options.max_row_group_rows))
            .set_sorting_columns(Some(vec![SortingColumn {
                column_idx: 0,
                descending: false,
                nulls_first: false,
            }]))
            .set_created_by(format!("sigfuse {}", env!("CARGO_PKG_VERSION")))
            .build();
        let object = BufWriter::new(Arc::clone(self.lake.store()), self.lake.path(rel));
        let mut writer = AsyncArrowWriter::try_new(object, batch.schema(), Some(props))?;
        // Write in row-group sized slices so the writer never copies the whole batch again.
        let step = self.options.max_row_group_rows.max(1);
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = step.min(batch.num_rows() - offset);
            writer.write(&batch.slice(offset, len)).await?;
            offset += len;
        }
        writer.close().await?;
        Ok(())
    }

    /// Flushes what is left, removes files of this stem that an earlier write of the same
    /// content left beyond this one's (a run with another buffer size, or one killed after more
    /// flushes), and returns what was written.
    pub async fn finish(mut self) -> Result<WriteStats> {
        self.flush().await?;
        for (&hour, &written) in &self.next_seq {
            let folder = self.lake.path(&hour_prefix(self.kind, hour));
            let existing: Vec<_> = self.lake.store().list(Some(&folder)).try_collect().await?;
            for meta in existing {
                let Some(name) = meta.location.filename() else {
                    continue;
                };
                let seq = name
                    .strip_prefix(self.stem.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .and_then(|rest| rest.strip_suffix(".parquet"))
                    .and_then(|n| n.parse::<u32>().ok());
                if seq.is_some_and(|s| s >= written) {
                    self.lake.store().delete(&meta.location).await?;
                }
            }
        }
        Ok(self.stats)
    }
}
