//! JSON lines: one JSON object per line, parsed into borrowed fields ([`super::fields`]) and
//! mapped by [`FieldMap`] straight into the cells of a row.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use datafusion::common::{DataFusionError, Result};

use super::fields::{Field, LastKeys, Shape, parse_object};
use super::mapping::FieldMap;
use super::out::{Msg, RowOut};
use crate::rows::CellRef;

/// Bytes per chunk of a parallel parse; lines never straddle chunks.
const CHUNK: usize = 4 << 20;

struct Chunk {
    seq: usize,
    bytes: Vec<u8>,
}

/// A parsed chunk: its sequence number, size in bytes, line ends, and its messages (reject line
/// numbers counted from the chunk's start) with accepted and rejected counts.
type ChunkResult = (usize, u64, u64, Result<(Vec<Msg>, u64, u64)>);

/// Calls `f(state, out, line_number, line)` for every non-empty line (invalid UTF-8 replaced), on
/// every core: a reader thread cuts the source into chunks at line ends, workers parse chunks
/// into buffering `RowOut`s (each with its own `state`), and this thread forwards finished chunks
/// in source order, so the output (and the files written) is the same as a sequential parse.
///
/// `line_number` is meant for `out` (rejects): it counts from the start of the line's chunk, and
/// forwarding makes the reject line numbers absolute, so nobody has to count lines up front.
pub(crate) fn par_for_each_line<S, I, F>(
    reader: impl Read + Send,
    out: &mut RowOut,
    init: I,
    f: F,
) -> Result<()>
where
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &mut RowOut, u64, &str) -> Result<()> + Sync,
{
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let source = out.source().to_string();
    std::thread::scope(|scope| {
        let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<Chunk>(workers);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<ChunkResult>(workers * 2);
        let reader_thread = scope.spawn(move || -> Result<()> {
            let mut reader = reader;
            let (mut carry, mut seq) = (Vec::new(), 0usize);
            loop {
                let mut buf: Vec<u8> = std::mem::take(&mut carry);
                buf.reserve(CHUNK);
                let n = (&mut reader)
                    .take(CHUNK as u64)
                    .read_to_end(&mut buf)
                    .map_err(|e| DataFusionError::Execution(format!("reading '{source}': {e}")))?;
                let eof = n < CHUNK;
                if !eof {
                    match buf.iter().rposition(|b| *b == b'\n') {
                        Some(i) => carry = buf.split_off(i + 1),
                        // One line longer than a chunk: read on until it ends.
                        None => {
                            carry = buf;
                            continue;
                        }
                    }
                }
                if buf.is_empty() {
                    break;
                }
                if chunk_tx.send(Chunk { seq, bytes: buf }).is_err() {
                    break; // The consumers stopped on an error; it is reported by them.
                }
                seq += 1;
                if eof {
                    break;
                }
            }
            Ok(())
        });
        for _ in 0..workers {
            let (done_tx, chunk_rx, f, init) = (done_tx.clone(), Arc::clone(&chunk_rx), &f, &init);
            let template = out.chunk();
            scope.spawn(move || {
                let mut state = init();
                loop {
                    let next = match chunk_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(chunk) = next else { break };
                    let mut local = template.chunk();
                    // Line numbers count from the chunk's start here; the forwarder, which sees
                    // chunks in order, makes them absolute.
                    let mut line_ends = 0;
                    let mut each = |index: u64, line: &str| {
                        line_ends = index;
                        let line = line.trim_end_matches('\r');
                        if line.trim().is_empty() {
                            return Ok(());
                        }
                        f(&mut state, &mut local, index + 1, line)
                    };
                    // Checking the whole chunk at once is much cheaper than line by line; only
                    // a chunk with invalid UTF-8 somewhere pays for the lossy copy of each line.
                    let parsed = match std::str::from_utf8(&chunk.bytes) {
                        Ok(text) => (0..)
                            .zip(text.split('\n'))
                            .try_for_each(|(i, line)| each(i, line)),
                        Err(_) => (0..)
                            .zip(chunk.bytes.split(|b| *b == b'\n'))
                            .try_for_each(|(i, raw)| each(i, &String::from_utf8_lossy(raw))),
                    };
                    let result = parsed.and_then(|()| local.into_chunk());
                    if done_tx
                        .send((chunk.seq, chunk.bytes.len() as u64, line_ends, result))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop((done_tx, chunk_rx));
        let mut pending = BTreeMap::new();
        let (mut next, mut lines_before) = (0, 0);
        let mut result = Ok(());
        'recv: for (seq, bytes, line_ends, chunk) in done_rx.iter() {
            pending.insert(seq, (bytes, line_ends, chunk));
            while let Some((bytes, line_ends, chunk)) = pending.remove(&next) {
                next += 1;
                let first = lines_before;
                lines_before += line_ends;
                let step = chunk
                    .and_then(|(msgs, a, r)| out.forward(msgs, a, r, first))
                    .and_then(|()| out.progress(bytes));
                if let Err(e) = step {
                    result = Err(e);
                    break 'recv;
                }
            }
        }
        // Stops the workers (their sends fail), which stops the reader (its sends fail).
        drop(done_rx);
        let read = reader_thread.join().unwrap_or_else(|_| {
            Err(DataFusionError::Internal(
                "ingest reader thread panicked".into(),
            ))
        });
        result.and(read)
    })
}

/// Reuses a vector's allocation for values of another lifetime: collecting an emptied
/// `IntoIter` into a vector of a type with the same layout keeps the allocation (std's in-place
/// collect), so per-line scratch space that borrows each line is allocated once per worker, with
/// no `unsafe`.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// Per-worker scratch space: the field list of a line, reused for every line, and the names of
/// the last line.
#[derive(Default)]
struct Scratch {
    fields: Vec<Field<'static>>,
    last: LastKeys,
}

/// More than any canonical table has.
const MAX_COLUMNS: usize = 16;

pub(crate) fn read(reader: impl Read + Send, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let kind = map.kind();
    let columns = kind.schema().fields().len();
    if columns > MAX_COLUMNS {
        return Err(DataFusionError::Internal(format!(
            "{kind} has {columns} columns, jsonl handles {MAX_COLUMNS}"
        )));
    }
    par_for_each_line(
        reader,
        out,
        Scratch::default,
        |scratch, out, line_no, line| {
            let mut fields: Vec<Field<'_>> = recycle(std::mem::take(&mut scratch.fields));
            let result = match parse_object(map, line, &mut fields, &mut scratch.last) {
                Ok(Shape::Object) => {
                    let mut cells: [CellRef<'_>; MAX_COLUMNS] = Default::default();
                    let cells = &mut cells[..columns];
                    match map.resolve(&fields, cells) {
                        Ok(()) => out.emit_cells(line_no, kind, cells, || line.to_string()),
                        Err(reason) => out.reject(line_no, reason, line),
                    }
                }
                Ok(Shape::Not(what)) => {
                    out.reject(line_no, format!("expected a JSON object, got {what}"), line)
                }
                Err(e) => out.reject(line_no, format!("invalid JSON: {e}"), line),
            };
            scratch.fields = recycle(fields);
            result
        },
    )
}
