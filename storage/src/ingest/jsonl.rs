//! JSON lines: one JSON object per line, parsed into borrowed fields ([`super::fields`]) and
//! mapped by [`FieldMap`] straight into the cells of a row.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use datafusion::common::{DataFusionError, Result};

use super::fields::{Field, Shape, parse_object};
use super::mapping::FieldMap;
use super::out::{Msg, RowOut};
use crate::rows::CellRef;

/// Bytes per chunk of a parallel parse; lines never straddle chunks.
const CHUNK: usize = 4 << 20;

struct Chunk {
    seq: usize,
    first_line: u64,
    bytes: Vec<u8>,
}

type ChunkResult = (usize, u64, Result<(Vec<Msg>, u64, u64)>);

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Calls `f(state, out, line_number, line)` for every non-empty line (invalid UTF-8 replaced), on
/// every core: a reader thread cuts the source into chunks at line ends, workers parse chunks into buffering `RowOut`s (each with its own `state`), and this
/// thread forwards finished chunks in source order, so the output (and the files written) is the
/// same as a sequential parse.
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
            let (mut carry, mut seq, mut line) = (Vec::new(), 0usize, 1u64);
            loop {
                let mut buf = std::mem::take(&mut carry);
                let start = buf.len();
                buf.resize(start + CHUNK, 0);
                let n = read_full(&mut reader, &mut buf[start..])
                    .map_err(|e| DataFusionError::Execution(format!("reading '{source}': {e}")))?;
                buf.truncate(start + n);
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
                let lines = buf.iter().filter(|b| **b == b'\n').count() as u64;
                if chunk_tx
                    .send(Chunk {
                        seq,
                        first_line: line,
                        bytes: buf,
                    })
                    .is_err()
                {
                    break; // The consumers stopped on an error; it is reported by them.
                }
                line += lines;
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
                    let mut each = |line_no, line: &str| {
                        let line = line.trim_end_matches('\r');
                        if line.trim().is_empty() {
                            return Ok(());
                        }
                        f(&mut state, &mut local, line_no, line)
                    };
                    let lines = (chunk.first_line..).zip(chunk.bytes.split(|b| *b == b'\n'));
                    // Checking the whole chunk at once is much cheaper than line by line; only
                    // a chunk with invalid UTF-8 somewhere pays for the lossy copy of each line.
                    let parsed = match std::str::from_utf8(&chunk.bytes) {
                        Ok(text) => (chunk.first_line..)
                            .zip(text.split('\n'))
                            .try_for_each(|(no, line)| each(no, line)),
                        Err(_) => lines
                            .into_iter()
                            .try_for_each(|(no, raw)| each(no, &String::from_utf8_lossy(raw))),
                    };
                    let result = parsed.and_then(|()| local.into_chunk());
                    if done_tx
                        .send((chunk.seq, chunk.bytes.len() as u64, result))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop((done_tx, chunk_rx));
        let mut pending = BTreeMap::new();
        let mut next = 0;
        let mut result = Ok(());
        'recv: for (seq, bytes, chunk) in done_rx.iter() {
            pending.insert(seq, (bytes, chunk));
            while let Some((bytes, chunk)) = pending.remove(&next) {
                next += 1;
                let step = chunk
                    .and_then(|(msgs, a, r)| out.forward(msgs, a, r))
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

pub(crate) fn read(reader: impl Read + Send, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let kind = map.kind();
    let columns = kind.schema().fields().len();
    let scratch = || (Vec::<Field<'static>>::new(), Vec::<CellRef<'static>>::new());
    par_for_each_line(
        reader,
        out,
        scratch,
        |(fields_buf, cells_buf), out, line_no, line| {
            let mut fields: Vec<Field<'_>> = recycle(std::mem::take(fields_buf));
            let mut cells: Vec<CellRef<'_>> = recycle(std::mem::take(cells_buf));
            let result = match parse_object(map, line, &mut fields) {
                Ok(Shape::Object) => {
                    cells.resize(columns, CellRef::Null);
                    match map.resolve(&fields, &mut cells) {
                        Ok(()) => out.emit_cells(line_no, kind, &cells, || line.to_string()),
                        Err(reason) => out.reject(line_no, reason, line),
                    }
                }
                Ok(Shape::Not(what)) => {
                    out.reject(line_no, format!("expected a JSON object, got {what}"), line)
                }
                Err(e) => out.reject(line_no, format!("invalid JSON: {e}"), line),
            };
            *cells_buf = recycle(cells);
            *fields_buf = recycle(fields);
            result
        },
    )
}
