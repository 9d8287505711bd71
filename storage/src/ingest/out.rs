//! The parse side of the ingest pipeline: adapters hand canonical rows and rejects to a
//! [`RowOut`], which batches valid rows per table and sends batches, rejects and labels over a
//! bounded channel to the async writer task (so parsing and writing overlap, and a slow store
//! slows parsing down instead of filling memory).

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::{DataFusionError, Result};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::rows::{AsCell, BatchBuilder, Row};
use crate::schema::SignalKind;

/// Rows per batch sent to the writer.
const BATCH_ROWS: usize = 32 * 1024;
/// Longest raw record kept in a reject entry.
const MAX_RAW: usize = 4096;

/// One refused record, as written to `_rejects/`.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    pub source: String,
    /// 1-based line (or record) number in the source.
    pub line: u64,
    pub reason: String,
    pub record: String,
}

pub(crate) enum Msg {
    Batch(SignalKind, RecordBatch),
    Reject(Reject),
    /// A labels file: name under `_labels/` and its content.
    Labels(String, Vec<u8>),
    Progress(u64),
}

/// Where a [`RowOut`] sends: the writer task, or a buffer that a parallel parser forwards in
/// source order once its chunk is done.
enum Sink {
    Channel(mpsc::Sender<Msg>),
    Buffer(Vec<Msg>),
}

/// Collects the rows of one ingest on the parsing thread.
pub struct RowOut {
    sink: Sink,
    builders: BTreeMap<SignalKind, BatchBuilder>,
    source: String,
    /// Tables rows may go to; rows for others are an adapter bug.
    allowed: Option<SignalKind>,
    pub(crate) accepted: u64,
    pub(crate) rejected: u64,
}

fn closed() -> DataFusionError {
    DataFusionError::Execution("ingest writer stopped (see the error above)".into())
}

fn truncate(raw: &str) -> String {
    if raw.len() <= MAX_RAW {
        return raw.to_string();
    }
    let mut end = MAX_RAW;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &raw[..end])
}

impl RowOut {
    pub(crate) fn new(tx: mpsc::Sender<Msg>, source: &str, allowed: Option<SignalKind>) -> Self {
        Self {
            sink: Sink::Channel(tx),
            builders: BTreeMap::new(),
            source: source.to_string(),
            allowed,
            accepted: 0,
            rejected: 0,
        }
    }

    /// Names the file that following line numbers refer to (for adapters reading folders).
    pub fn set_source(&mut self, name: &str) {
        self.source = name.to_string();
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn send(&mut self, msg: Msg) -> Result<()> {
        match &mut self.sink {
            Sink::Channel(tx) => tx.blocking_send(msg).map_err(|_| closed()),
            Sink::Buffer(buf) => {
                buf.push(msg);
                Ok(())
            }
        }
    }

    /// A buffering `RowOut` for one chunk of a parallel parse, with this one's source and table.
    pub(crate) fn chunk(&self) -> Self {
        Self {
            sink: Sink::Buffer(Vec::new()),
            builders: BTreeMap::new(),
            source: self.source.clone(),
            allowed: self.allowed,
            accepted: 0,
            rejected: 0,
        }
    }

    /// Ends a chunk `RowOut`: its messages (batches last) and counts.
    pub(crate) fn into_chunk(mut self) -> Result<(Vec<Msg>, u64, u64)> {
        let builders = std::mem::take(&mut self.builders);
        for (kind, mut b) in builders {
            if let Some(batch) = b.flush()? {
                self.send(Msg::Batch(kind, batch))?;
            }
        }
        match self.sink {
            Sink::Buffer(buf) => Ok((buf, self.accepted, self.rejected)),
            Sink::Channel(_) => Err(DataFusionError::Internal(
                "into_chunk on a channel RowOut".into(),
            )),
        }
    }

    /// Forwards a finished chunk's messages and counts, in order; `lines_before` is added to
    /// the line numbers of its rejects, which the chunk counted from its own start.
    pub(crate) fn forward(
        &mut self,
        msgs: Vec<Msg>,
        accepted: u64,
        rejected: u64,
        lines_before: u64,
    ) -> Result<()> {
        self.accepted += accepted;
        self.rejected += rejected;
        msgs.into_iter().try_for_each(|mut m| {
            if let Msg::Reject(r) = &mut m {
                r.line += lines_before;
            }
            self.send(m)
        })
    }

    /// Appends a valid row, or records why it is not valid. `raw` renders the source record
    /// and is called only for rejects.
    pub fn emit(&mut self, line: u64, row: &Row, raw: impl FnOnce() -> String) -> Result<()> {
        self.emit_cells(line, row.kind(), row.cells(), raw)
    }

    /// [`RowOut::emit`] for the cells of one row of `kind` (one per schema column).
    pub fn emit_cells<C: AsCell>(
        &mut self,
        line: u64,
        kind: SignalKind,
        cells: &[C],
        raw: impl FnOnce() -> String,
    ) -> Result<()> {
        if let Some(allowed) = self.allowed
            && allowed != kind
        {
            return self.reject(
                line,
                format!("record is for table {kind}, ingest is into {allowed}"),
                &raw(),
            );
        }
        let builder = self
            .builders
            .entry(kind)
            .or_insert_with(|| BatchBuilder::new(kind));
        match builder.append_cells(cells) {
            Ok(()) => {
                self.accepted += 1;
                if (builder.len() >= BATCH_ROWS || builder.buffered_bytes() >= 16 << 20)
                    && let Some(batch) = builder.flush()?
                {
                    self.send(Msg::Batch(kind, batch))?;
                }
                Ok(())
            }
            Err(reason) => self.reject(line, reason, &raw()),
        }
    }

    /// Records a refused record.
    pub fn reject(&mut self, line: u64, reason: impl Into<String>, raw: &str) -> Result<()> {
        self.rejected += 1;
        self.send(Msg::Reject(Reject {
            source: self.source.clone(),
            line,
            reason: reason.into(),
            record: truncate(raw),
        }))
    }

    /// Stores ground-truth labels beside the data, under `_labels/<name>` (never in a table).
    pub fn labels(&mut self, name: &str, content: Vec<u8>) -> Result<()> {
        self.send(Msg::Labels(name.to_string(), content))
    }

    /// Reports source bytes consumed since the last call.
    pub fn progress(&mut self, bytes: u64) -> Result<()> {
        self.send(Msg::Progress(bytes))
    }

    /// Sends what is still batched.
    pub(crate) fn finish(mut self) -> Result<(u64, u64)> {
        let builders = std::mem::take(&mut self.builders);
        for (kind, mut b) in builders {
            if let Some(batch) = b.flush()? {
                self.send(Msg::Batch(kind, batch))?;
            }
        }
        Ok((self.accepted, self.rejected))
    }
}
