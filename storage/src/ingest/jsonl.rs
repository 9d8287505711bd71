//! JSON lines: one JSON object per line, fields mapped by [`FieldMap`].

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

use datafusion::common::{DataFusionError, Result};
use serde_json::Value;

use super::mapping::FieldMap;
use super::out::{Msg, RowOut};
use crate::rows::Row;

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
                    let mut parse = || {
                        let lines = chunk.bytes.split(|b| *b == b'\n');
                        for (line_no, raw) in (chunk.first_line..).zip(lines) {
                            let text = String::from_utf8_lossy(raw);
                            let line = text.trim_end_matches('\r');
                            if !line.trim().is_empty() {
                                f(&mut state, &mut local, line_no, line)?;
                            }
                        }
                        Ok(())
                    };
                    let parsed = parse();
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

pub(crate) fn read(reader: impl Read + Send, map: &FieldMap, out: &mut RowOut) -> Result<()> {
    let new_row = || Row::new(map.kind());
    par_for_each_line(reader, out, new_row, |row, out, line_no, line| {
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
        match map.fill(&obj, row) {
            Ok(()) => out.emit(line_no, row, || line.to_string()),
            Err(reason) => out.reject(line_no, reason, line),
        }
    })
}
