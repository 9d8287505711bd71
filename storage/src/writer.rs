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
//!
//! Encoding (sort, Parquet encoding, zstd) is most of the work, so it runs off the async task:
//! a full buffer is handed to a blocking thread that encodes each hour's file in memory, the
//! column chunks of all its row groups in parallel, while the next buffer fills. At most one
//! flush is in flight, which bounds memory to about twice `flush_bytes` of Arrow data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, RecordBatch, TimestampNanosecondArray, UInt32Array};
use datafusion::arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, compute_leaves,
};
use datafusion::parquet::basic::{Compression, Encoding, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

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
            // Measured on the ingest benchmark (docs/benchmarks.md): level 1 compresses 3 M log
            // lines into 5 % smaller files than level 3 (page-sized inputs, with `ts` delta
            // encoded), for a third less compression work.
            zstd_level: 1,
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

/// One file, encoded: its path relative to the lake root, its rows and its bytes.
type Encoded = (String, u64, Vec<u8>);

/// Writes canonical batches of one table into the lake layout.
pub struct SignalWriter {
    lake: Lake,
    kind: SignalKind,
    stem: String,
    options: WriterOptions,
    pending: BTreeMap<i64, Vec<RecordBatch>>,
    pending_bytes: usize,
    next_seq: BTreeMap<i64, u32>,
    /// The flush being encoded on a blocking thread, its files in order.
    in_flight: Option<JoinHandle<Result<Vec<Encoded>>>>,
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
            in_flight: None,
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
            self.start_flush().await?;
        }
        Ok(())
    }

    fn push(&mut self, hour: i64, batch: RecordBatch) {
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.entry(hour).or_default().push(batch);
    }

    /// Writes out every buffered partition; the files exist when this returns.
    pub async fn flush(&mut self) -> Result<()> {
        self.start_flush().await?;
        self.land().await
    }

    /// Hands the buffered partitions to a blocking thread for encoding, after landing the
    /// previous flush. File names are given here, in hour order, so they do not depend on
    /// which thread finishes first.
    async fn start_flush(&mut self) -> Result<()> {
        self.land().await?;
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        if pending.is_empty() {
            return Ok(());
        }
        let files: Vec<(String, Vec<RecordBatch>)> = pending
            .into_iter()
            .map(|(hour, batches)| {
                let seq = self.next_seq.entry(hour).or_insert(0);
                let rel = format!(
                    "{}{}-{:04}.parquet",
                    hour_prefix(self.kind, hour),
                    self.stem,
                    seq
                );
                *seq += 1;
                (rel, batches)
            })
            .collect();
        let schema = self.kind.schema();
        let props = self.properties()?;
        let row_group_rows = self.options.max_row_group_rows.max(1);
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            files
                .into_iter()
                .map(|(rel, batches)| {
                    let batches = sorted_by_ts(&schema, batches)?;
                    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
                    let bytes = encode(&schema, &batches, props.clone(), row_group_rows)?;
                    Ok((rel, rows, bytes))
                })
                .collect()
        }));
        Ok(())
    }

    /// Waits for the flush in flight and stores its files, in order.
    async fn land(&mut self) -> Result<()> {
        let Some(job) = self.in_flight.take() else {
            return Ok(());
        };
        let files = job
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
        for (rel, rows, bytes) in files {
            // The store's own atomic write: one PUT, or a multipart upload completed at the end.
            let mut object = BufWriter::new(Arc::clone(self.lake.store()), self.lake.path(&rel));
            object.write_all(&bytes).await?;
            object.shutdown().await?;
            self.stats.rows += rows;
            self.stats.files.push(rel);
        }
        Ok(())
    }

    fn properties(&self) -> Result<WriterProperties> {
        let schema = self.kind.schema();
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
            if schema.index_of(column).is_ok() {
                props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
            }
        }
        // `ts` is sorted and nearly unique: deltas store it in a few bits a row, and a dictionary
        // would be tried on every page only to be given up.
        let ts = ColumnPath::from("ts");
        Ok(props
            .set_column_dictionary_enabled(ts.clone(), false)
            .set_column_encoding(ts, Encoding::DELTA_BINARY_PACKED)
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
            .build())
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

/// The batches of one file in `ts` order. Sources are usually in time order already: then they
/// are kept as they are, with neither the concatenation nor the copy a sort needs.
fn sorted_by_ts(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    let mut last = i64::MIN;
    let mut in_order = true;
    for b in &batches {
        let ts = ts_column(b)?.values();
        in_order = in_order
            && ts.first().is_none_or(|&t| t >= last)
            && ts.windows(2).all(|w| w[0] <= w[1]);
        if !in_order {
            break;
        }
        last = ts.last().copied().unwrap_or(last);
    }
    if in_order {
        return Ok(batches);
    }
    let batch = concat_batches(schema, &batches)?;
    drop(batches);
    let indices = sort_to_indices(batch.column(0), None, None)?;
    Ok(vec![take_record_batch(&batch, &indices)?])
}

/// Encodes one Parquet file in memory: row groups of `row_group_rows`, and every column chunk of
/// every row group encoded (and compressed) on its own, as many at once as there are cores.
fn encode(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    props: WriterProperties,
    row_group_rows: usize,
) -> Result<Vec<u8>> {
    let writer = ArrowWriter::try_new(Vec::new(), Arc::clone(schema), Some(props))?;
    let (mut file, factory) = writer.into_serialized_writer()?;
    // Each row group as slices of the batches.
    let mut groups: Vec<Vec<RecordBatch>> = vec![];
    let mut room = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if room == 0 {
                groups.push(vec![]);
                room = row_group_rows;
            }
            let len = room.min(batch.num_rows() - offset);
            if let Some(group) = groups.last_mut() {
                group.push(batch.slice(offset, len));
            }
            offset += len;
            room -= len;
        }
    }
    let mut tasks: Vec<(usize, usize, ArrowColumnWriter)> = vec![];
    for g in 0..groups.len() {
        for (c, w) in factory.create_column_writers(g)?.into_iter().enumerate() {
            tasks.push((g, c, w));
        }
    }
    // Popped from the end: the first row group's columns last, so a small last group is not
    // what a lone thread finishes with.
    let tasks = Mutex::new(tasks);
    let run = || -> Result<Vec<(usize, usize, ArrowColumnChunk)>> {
        let mut done = vec![];
        loop {
            let next = tasks
                .lock()
                .map_err(|_| DataFusionError::Internal("encoder task list poisoned".into()))?
                .pop();
            let Some((g, c, mut w)) = next else {
                return Ok(done);
            };
            let field = schema.field(c);
            for slice in &groups[g] {
                for leaf in compute_leaves(field, slice.column(c))? {
                    w.write(&leaf)?;
                }
            }
            done.push((g, c, w.close()?));
        }
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut chunks: Vec<Vec<Option<ArrowColumnChunk>>> = groups
        .iter()
        .map(|_| (0..schema.fields().len()).map(|_| None).collect())
        .collect();
    let results: Vec<Result<Vec<_>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let mut results = vec![run()];
        for h in handles {
            results.push(h.join().unwrap_or_else(|_| {
                Err(DataFusionError::Internal("encoder thread panicked".into()))
            }));
        }
        results
    });
    for result in results {
        for (g, c, chunk) in result? {
            chunks[g][c] = Some(chunk);
        }
    }
    for group in chunks {
        let mut row_group = file.next_row_group()?;
        for chunk in group {
            let chunk = chunk.ok_or_else(|| {
                DataFusionError::Internal("a column chunk was not encoded".into())
            })?;
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
    }
    Ok(file.into_inner()?)
}
