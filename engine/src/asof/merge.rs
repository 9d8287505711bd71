//! The merge kernel of the ASOF join: one pass over two inputs sorted by (keys, ts), both
//! ascending with NULLs first, in the same order as the row format compares them.
//!
//! The left side streams: each left batch becomes one output batch (or several slices when it
//! reaches across many right batches). The right side advances by a cursor that never moves
//! back; besides the batch under the cursor, only batches still referenced by the output being
//! built, or holding the current candidate, are kept, and their memory is reserved from the
//! pool, so a key with millions of right rows costs no more memory than one with a few.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};
use datafusion::arrow::compute::{SortOptions, cast, interleave};
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, internal_err};
use datafusion::execution::memory_pool::MemoryReservation;
use datafusion::physical_plan::PhysicalExpr;

use super::logical::AsofOp;

/// The order both inputs must arrive in, for keys and ts alike.
pub const SORT: SortOptions = SortOptions {
    descending: false,
    nulls_first: true,
};

/// How many right batches the output of one left batch may reference before that output is
/// emitted in a slice, which lets the earlier right batches go.
const MAX_RETAINED: usize = 32;

/// Encodes the comparison columns of a batch for byte-wise comparison.
#[derive(Debug)]
pub struct Encoder {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    ts: Arc<dyn PhysicalExpr>,
    key_rows: Option<RowConverter>,
    /// `None`: the ts compares as `i64`.
    ts_rows: Option<RowConverter>,
}

impl Encoder {
    pub fn new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        ts: Arc<dyn PhysicalExpr>,
        key_types: Vec<DataType>,
        ts_type: DataType,
    ) -> Result<Self> {
        let key_rows = if keys.is_empty() {
            None
        } else {
            Some(RowConverter::new(
                key_types
                    .into_iter()
                    .map(|t| SortField::new_with_options(t, SORT))
                    .collect(),
            )?)
        };
        let ts_rows = if ts_as_i64(&ts_type) {
            None
        } else {
            Some(RowConverter::new(vec![SortField::new_with_options(
                ts_type, SORT,
            )])?)
        };
        Ok(Self {
            keys,
            ts,
            key_rows,
            ts_rows,
        })
    }

    pub fn encode(&self, batch: RecordBatch) -> Result<Encoded> {
        let n = batch.num_rows();
        let keys = self
            .keys
            .iter()
            .map(|e| e.evaluate(&batch)?.into_array(n))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let ts = self.ts.evaluate(&batch)?.into_array(n)?;
        let mut nulls = ts.logical_nulls();
        for k in &keys {
            nulls = NullBuffer::union(nulls.as_ref(), k.logical_nulls().as_ref());
        }
        let key_rows = match &self.key_rows {
            Some(c) => Some(c.convert_columns(&keys)?),
            None => None,
        };
        let ts = match &self.ts_rows {
            Some(c) => Ts::Rows(c.convert_columns(&[ts])?),
            None => {
                let ints = cast(&ts, &DataType::Int64)?;
                Ts::I64(ints.as_primitive::<Int64Type>().values().clone())
            }
        };
        Ok(Encoded {
            batch,
            keys: key_rows,
            ts,
            nulls,
        })
    }
}

/// A batch with its keys and ts in row format.
#[derive(Debug)]
pub struct Encoded {
    pub batch: RecordBatch,
    keys: Option<Rows>,
    ts: Ts,
    /// NULL where a key or the ts is NULL: such rows never match.
    nulls: Option<NullBuffer>,
}

impl Encoded {
    fn valid(&self, i: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(i))
    }

    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn size(&self) -> usize {
        self.batch.get_array_memory_size()
            + self.keys.as_ref().map_or(0, Rows::size)
            + self.ts.size()
    }
}

fn cmp_keys(a: &Encoded, i: usize, b: &Encoded, j: usize) -> Ordering {
    match (&a.keys, &b.keys) {
        (Some(x), Some(y)) => x.row(i).cmp(&y.row(j)),
        _ => Ordering::Equal,
    }
}

fn cmp_ts(a: &Encoded, i: usize, b: &Encoded, j: usize) -> Ordering {
    match (&a.ts, &b.ts) {
        (Ts::I64(x), Ts::I64(y)) => x[i].cmp(&y[j]),
        (Ts::Rows(x), Ts::Rows(y)) => x.row(i).cmp(&y.row(j)),
        // Both sides' ts have one type (the exec checks), so they encode alike.
        (Ts::I64(_), Ts::Rows(_)) => Ordering::Less,
        (Ts::Rows(_), Ts::I64(_)) => Ordering::Greater,
    }
}

/// The ts column for comparison: integers and timestamps as plain `i64`s (the common case, a
/// plain integer compare), anything else in row format.
#[derive(Debug)]
enum Ts {
    I64(ScalarBuffer<i64>),
    Rows(Rows),
}

impl Ts {
    fn size(&self) -> usize {
        match self {
            Ts::I64(v) => v.len() * 8,
            Ts::Rows(r) => r.size(),
        }
    }
}

/// Types whose values keep their order as `i64`.
fn ts_as_i64(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Timestamp(_, _)
            | DataType::Date64
            | DataType::Duration(_)
            | DataType::Time64(_)
    )
}

/// What [`Merger::advance`] needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The cursor ran past the last right batch: push one more, or say the right side ended.
    NeedRight,
    /// The output so far references many right batches: emit it before going on.
    Flush,
    /// Every row of the left batch has its pick.
    Done,
}

/// A right row: the id of its batch (ids count up from 0 over the whole input) and its row.
type Pos = (usize, usize);

/// The state of one partition's merge.
#[derive(Debug)]
pub struct Merger {
    op: AsofOp,
    /// Retained right batches; `right[0]` has id `base`.
    right: VecDeque<Arc<Encoded>>,
    base: usize,
    right_done: bool,
    /// The next right row not yet passed.
    cursor: Pos,
    /// For `>=`/`>`: the best right row passed so far (its key may be an earlier one).
    candidate: Option<Pos>,
    reservation: MemoryReservation,
}

impl Merger {
    pub fn new(op: AsofOp, reservation: MemoryReservation) -> Self {
        Self {
            op,
            right: VecDeque::new(),
            base: 0,
            right_done: false,
            cursor: (0, 0),
            candidate: None,
            reservation,
        }
    }

    /// Adds the next right batch (reserving its memory; the error is resources-exhausted).
    pub fn push_right(&mut self, batch: Encoded) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.reservation.try_grow(batch.size())?;
        self.right.push_back(Arc::new(batch));
        Ok(())
    }

    pub fn finish_right(&mut self) {
        self.right_done = true;
    }

    fn batch(&self, id: usize) -> Option<&Arc<Encoded>> {
        id.checked_sub(self.base).and_then(|i| self.right.get(i))
    }

    /// Moves the cursor to a row that exists; `None` when the retained batches are used up.
    fn at_cursor(&mut self) -> Option<Arc<Encoded>> {
        loop {
            let batch = Arc::clone(self.batch(self.cursor.0)?);
            if self.cursor.1 < batch.num_rows() {
                return Some(batch);
            }
            self.cursor = (self.cursor.0 + 1, 0);
        }
    }

    /// Picks the right row of each left row from `*next` on, appending to `picks`, until the
    /// batch is done or more right input is needed (then `*next` is where to resume).
    pub fn advance(
        &mut self,
        left: &Encoded,
        next: &mut usize,
        picks: &mut Vec<Option<Pos>>,
    ) -> Result<Step> {
        while *next < left.num_rows() {
            let i = *next;
            if left.valid(i) {
                let found = if self.op.looks_back() {
                    self.look_back(left, i)
                } else {
                    self.look_forward(left, i)
                };
                match found {
                    Some(pick) => picks.push(pick),
                    None => return Ok(Step::NeedRight),
                }
            } else {
                picks.push(None);
            }
            *next += 1;
            if self.right.len() > MAX_RETAINED && *next < left.num_rows() {
                return Ok(Step::Flush);
            }
        }
        Ok(Step::Done)
    }

    /// `>=`/`>`: passes every right row at or before the left row; the best is the last
    /// passed with the left's key (the first of its equal-ts run). `None`: needs input.
    fn look_back(&mut self, left: &Encoded, i: usize) -> Option<Option<Pos>> {
        let inclusive = self.op.inclusive();
        loop {
            let Some(r) = self.at_cursor() else {
                if !self.right_done {
                    return None;
                }
                break;
            };
            let (id, mut j) = self.cursor;
            let mut stop = false;
            while j < r.num_rows() {
                if r.valid(j) {
                    match cmp_keys(&r, j, left, i) {
                        Ordering::Less => {}
                        Ordering::Greater => {
                            stop = true;
                            break;
                        }
                        Ordering::Equal => {
                            let t = cmp_ts(&r, j, left, i);
                            if !(t.is_lt() || (inclusive && t.is_eq())) {
                                stop = true;
                                break;
                            }
                            if !self.ties_candidate(&r, j) {
                                self.candidate = Some((id, j));
                            }
                        }
                    }
                }
                j += 1;
            }
            self.cursor = (id, j);
            if stop {
                break;
            }
        }
        // A candidate of an earlier key can serve no later left row (their keys only grow):
        // forgetting it lets its batch go.
        let same_key = self.candidate.is_some_and(|(cid, ci)| {
            self.batch(cid)
                .is_some_and(|b| cmp_keys(b, ci, left, i).is_eq())
        });
        if !same_key {
            self.candidate = None;
        }
        Some(self.candidate)
    }

    /// Whether right row `j` of `r` has the candidate's keys and ts (then the candidate, which
    /// came first, stays).
    fn ties_candidate(&self, r: &Encoded, j: usize) -> bool {
        let Some((cid, ci)) = self.candidate else {
            return false;
        };
        self.batch(cid)
            .is_some_and(|c| cmp_ts(c, ci, r, j).is_eq() && cmp_keys(c, ci, r, j).is_eq())
    }

    /// `<=`/`<`: skips every right row before the left row; the best is the row under the
    /// cursor when it has the left's key. `None`: needs input.
    fn look_forward(&mut self, left: &Encoded, i: usize) -> Option<Option<Pos>> {
        let inclusive = self.op.inclusive();
        loop {
            let Some(r) = self.at_cursor() else {
                return if self.right_done { Some(None) } else { None };
            };
            let (id, mut j) = self.cursor;
            while j < r.num_rows() {
                if r.valid(j) {
                    match cmp_keys(&r, j, left, i) {
                        Ordering::Less => {}
                        Ordering::Greater => {
                            self.cursor = (id, j);
                            return Some(None);
                        }
                        Ordering::Equal => {
                            let t = cmp_ts(&r, j, left, i);
                            if !(t.is_lt() || (!inclusive && t.is_eq())) {
                                self.cursor = (id, j);
                                return Some(Some((id, j)));
                            }
                        }
                    }
                }
                j += 1;
            }
            self.cursor = (id, j);
        }
    }

    /// Builds the output for left rows `start..start + picks.len()`: the left columns, then the
    /// right columns gathered from the picks (NULLs where there is none).
    pub fn build(
        &self,
        schema: &SchemaRef,
        left: &RecordBatch,
        start: usize,
        picks: &[Option<Pos>],
    ) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = left
            .columns()
            .iter()
            .map(|c| c.slice(start, picks.len()))
            .collect();
        let left_width = columns.len();
        let indices: Vec<(usize, usize)> = picks
            .iter()
            .map(|p| p.map_or((0, 0), |(id, row)| (id - self.base + 1, row)))
            .collect();
        for (c, field) in schema.fields().iter().enumerate().skip(left_width) {
            let nulls = new_null_array(field.data_type(), 1);
            let mut sources: Vec<&dyn Array> = Vec::with_capacity(self.right.len() + 1);
            sources.push(nulls.as_ref());
            for b in &self.right {
                sources.push(b.batch.column(c - left_width).as_ref());
            }
            columns.push(interleave(&sources, &indices)?);
        }
        if columns.len() != schema.fields().len() {
            return internal_err!(
                "AsofJoinExec: built {} columns for a schema of {}",
                columns.len(),
                schema.fields().len()
            );
        }
        Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
    }

    /// After an output was built: lets go of the right batches nothing refers to any more.
    pub fn release(&mut self) {
        let keep_from = self
            .candidate
            .map_or(self.cursor.0, |c| c.0.min(self.cursor.0));
        while self.base < keep_from {
            match self.right.pop_front() {
                Some(b) => self.reservation.shrink(b.size()),
                None => break,
            }
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryConsumer, MemoryPool};
    use datafusion::physical_expr::expressions::col;

    /// (key, ts, payload) rows; `None` is NULL.
    type Row = (Option<&'static str>, Option<i64>, Option<i64>);

    fn schema(payload: &str) -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("ts", DataType::Int64, true),
            Field::new(payload, DataType::Int64, true),
        ]))
    }

    fn batch(schema: &SchemaRef, rows: &[Row]) -> RecordBatch {
        RecordBatch::try_new(
            Arc::clone(schema),
            vec![
                Arc::new(rows.iter().map(|r| r.0).collect::<StringArray>()),
                Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>()),
                Arc::new(rows.iter().map(|r| r.2).collect::<Int64Array>()),
            ],
        )
        .unwrap()
    }

    fn encoder(schema: &SchemaRef, keyed: bool) -> Encoder {
        let keys = if keyed {
            vec![col("k", schema).unwrap()]
        } else {
            vec![]
        };
        let types = if keyed { vec![DataType::Utf8] } else { vec![] };
        Encoder::new(keys, col("ts", schema).unwrap(), types, DataType::Int64).unwrap()
    }

    /// Runs the merge as the exec's stream does, with the inputs cut into `chunk`-row batches;
    /// returns each left row's payload and its pick's payload (`Some(None)`: a NULL payload).
    fn run(
        op: AsofOp,
        keyed: bool,
        left: &[Row],
        right: &[Row],
        chunk: usize,
    ) -> Vec<(Option<i64>, Option<Option<i64>>)> {
        // The order the exec asks for: (keys, ts, other columns), NULLs first; without keys
        // the key column is just another tie-breaker, after the payload here.
        let order = |r: &Row| {
            if keyed {
                (r.0, r.1, r.2, None)
            } else {
                (None, r.1, r.2, r.0)
            }
        };
        let mut left = left.to_vec();
        let mut right = right.to_vec();
        left.sort_by_key(order);
        right.sort_by_key(order);
        let (ls, rs) = (schema("id"), schema("v"));
        let out_schema = Arc::new(Schema::new(
            ls.fields()
                .iter()
                .cloned()
                .chain(
                    rs.fields()
                        .iter()
                        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true))),
                )
                .collect::<Vec<_>>(),
        ));
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let mut merger = Merger::new(op, MemoryConsumer::new("t").register(&pool));
        let (le, re) = (encoder(&ls, keyed), encoder(&rs, keyed));
        let mut right_batches = right.chunks(chunk.max(1)).map(|c| batch(&rs, c));
        let mut out = Vec::new();
        for lc in left.chunks(chunk.max(1)) {
            let l = le.encode(batch(&ls, lc)).unwrap();
            let (mut start, mut next, mut picks) = (0, 0, Vec::new());
            loop {
                match merger.advance(&l, &mut next, &mut picks).unwrap() {
                    Step::NeedRight => match right_batches.next() {
                        Some(b) => merger.push_right(re.encode(b).unwrap()).unwrap(),
                        None => merger.finish_right(),
                    },
                    step => {
                        let b = merger.build(&out_schema, &l.batch, start, &picks).unwrap();
                        let ids = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
                        let rts = b.column(4).as_any().downcast_ref::<Int64Array>().unwrap();
                        let vs = b.column(5).as_any().downcast_ref::<Int64Array>().unwrap();
                        for (r, pick) in picks.iter().enumerate() {
                            let id = ids.is_valid(r).then(|| ids.value(r));
                            assert_eq!(pick.is_none(), rts.is_null(r), "matched rows have a ts");
                            out.push((id, pick.map(|_| vs.is_valid(r).then(|| vs.value(r)))));
                        }
                        start = next;
                        picks.clear();
                        merger.release();
                        if step == Step::Done {
                            break;
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The definition, row by row: the best right ts per the operator among valid rows with
    /// the same key, ties to the smallest payload (NULL first).
    fn oracle(
        op: AsofOp,
        keyed: bool,
        left: &[Row],
        right: &[Row],
    ) -> Vec<(Option<i64>, Option<Option<i64>>)> {
        let mut out: Vec<_> = left
            .iter()
            .map(|&(lk, lts, id)| {
                let pick = (|| {
                    let (lts, lk) = (lts?, if keyed { Some(lk?) } else { None });
                    right
                        .iter()
                        .filter(|r| r.1.is_some() && (!keyed || (r.0.is_some() && r.0 == lk)))
                        .filter(|r| {
                            let t = r.1.unwrap_or_default();
                            match op {
                                AsofOp::GtEq => t <= lts,
                                AsofOp::Gt => t < lts,
                                AsofOp::LtEq => t >= lts,
                                AsofOp::Lt => t > lts,
                            }
                        })
                        .min_by_key(|r| {
                            let t = r.1.unwrap_or_default();
                            (if op.looks_back() { -t } else { t }, r.2)
                        })
                        .map(|r| r.2)
                })();
                (id, pick)
            })
            .collect();
        out.sort();
        out
    }

    const OPS: [AsofOp; 4] = [AsofOp::GtEq, AsofOp::Gt, AsofOp::LtEq, AsofOp::Lt];

    #[test]
    fn the_four_directions_pick_the_nearest_row_on_their_side() {
        let left = [
            (Some("a"), Some(10), Some(1)),
            (Some("a"), Some(20), Some(2)),
        ];
        let right = [
            (Some("a"), Some(5), Some(50)),
            (Some("a"), Some(10), Some(100)),
            (Some("a"), Some(15), Some(150)),
            (Some("a"), Some(25), Some(250)),
        ];
        let got = |op| run(op, true, &left, &right, 2);
        assert_eq!(
            got(AsofOp::GtEq),
            vec![(Some(1), Some(Some(100))), (Some(2), Some(Some(150)))]
        );
        assert_eq!(
            got(AsofOp::Gt),
            vec![(Some(1), Some(Some(50))), (Some(2), Some(Some(150)))]
        );
        assert_eq!(
            got(AsofOp::LtEq),
            vec![(Some(1), Some(Some(100))), (Some(2), Some(Some(250)))]
        );
        assert_eq!(
            got(AsofOp::Lt),
            vec![(Some(1), Some(Some(150))), (Some(2), Some(Some(250)))]
        );
    }

    #[test]
    fn ties_take_the_smallest_payload_and_null_keys_or_ts_never_match() {
        let left = [
            (Some("a"), Some(10), Some(1)),
            (None, Some(10), Some(2)),
            (Some("a"), None, Some(3)),
            (Some("b"), Some(10), Some(4)),
        ];
        let right = [
            (Some("a"), Some(10), Some(7)),
            (Some("a"), Some(10), None),
            (Some("a"), Some(10), Some(3)),
            (None, Some(10), Some(9)),
            (Some("b"), None, Some(9)),
        ];
        for op in [AsofOp::GtEq, AsofOp::LtEq] {
            for chunk in 1..=5 {
                assert_eq!(
                    run(op, true, &left, &right, chunk),
                    vec![
                        (Some(1), Some(None)),
                        (Some(2), None),
                        (Some(3), None),
                        (Some(4), None)
                    ],
                    "{op} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn empty_sides_and_keys_without_right_rows_give_nulls() {
        let left = [(Some("a"), Some(1), Some(1)), (Some("c"), Some(1), Some(2))];
        let right = [(Some("b"), Some(0), Some(5))];
        for op in OPS {
            assert_eq!(
                run(op, true, &left, &[], 1),
                vec![(Some(1), None), (Some(2), None)]
            );
            assert_eq!(
                run(op, true, &left, &right, 1),
                vec![(Some(1), None), (Some(2), None)]
            );
            assert!(run(op, true, &[], &right, 1).is_empty());
        }
    }

    #[test]
    fn without_keys_every_right_row_is_a_candidate() {
        let left = [(Some("x"), Some(10), Some(1))];
        let right = [(Some("y"), Some(9), Some(9)), (None, Some(11), Some(11))];
        assert_eq!(
            run(AsofOp::GtEq, false, &left, &right, 1),
            vec![(Some(1), Some(Some(9)))]
        );
        assert_eq!(
            run(AsofOp::Lt, false, &left, &right, 1),
            vec![(Some(1), Some(Some(11)))]
        );
    }

    /// Deterministic pseudo-random rows with few keys and timestamps, so duplicates, ties and
    /// NULLs are common.
    fn random_rows(seed: u64, n: usize) -> Vec<Row> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        const KEYS: [Option<&str>; 4] = [Some("a"), Some("b"), Some("c"), None];
        (0..n)
            .map(|_| {
                let k = KEYS[next(4) as usize];
                let ts = (next(10) > 0).then(|| next(30) as i64);
                let v = (next(10) > 0).then(|| next(5) as i64);
                (k, ts, v)
            })
            .collect()
    }

    #[test]
    fn random_inputs_in_any_batch_size_agree_with_the_definition() {
        for seed in 1..40 {
            let left: Vec<Row> = random_rows(seed, 40)
                .into_iter()
                .enumerate()
                .map(|(i, (k, t, _))| (k, t, Some(i as i64)))
                .collect();
            let right = random_rows(seed + 1000, (seed as usize * 7) % 60);
            for op in OPS {
                for keyed in [true, false] {
                    let want = oracle(op, keyed, &left, &right);
                    for chunk in [1, 3, 64] {
                        assert_eq!(
                            run(op, keyed, &left, &right, chunk),
                            want,
                            "seed {seed} {op} keyed {keyed} chunk {chunk}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn right_batches_are_let_go_and_memory_is_returned() {
        let left: Vec<Row> = vec![(Some("z"), Some(0), Some(0))];
        let right: Vec<Row> = (0..500).map(|i| (Some("a"), Some(i), Some(i))).collect();
        let (ls, rs) = (schema("id"), schema("v"));
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let mut merger = Merger::new(AsofOp::GtEq, MemoryConsumer::new("t").register(&pool));
        let (le, re) = (encoder(&ls, true), encoder(&rs, true));
        let l = le.encode(batch(&ls, &left)).unwrap();
        let (mut next, mut picks) = (0, Vec::new());
        let mut batches = right.chunks(10);
        while merger.advance(&l, &mut next, &mut picks).unwrap() == Step::NeedRight {
            match batches.next() {
                Some(c) => merger
                    .push_right(re.encode(batch(&rs, c)).unwrap())
                    .unwrap(),
                None => merger.finish_right(),
            }
            // Passed batches of another key hold nothing the output needs.
            merger.release();
            assert!(merger.right.len() <= 1, "{}", merger.right.len());
        }
        assert_eq!(picks, vec![None]);
        merger.release();
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn a_full_pool_is_a_resources_exhausted_error() {
        let rs = schema("v");
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(64));
        let mut merger = Merger::new(AsofOp::GtEq, MemoryConsumer::new("t").register(&pool));
        let b = encoder(&rs, true)
            .encode(batch(&rs, &[(Some("a"), Some(1), Some(1))]))
            .unwrap();
        let e = merger.push_right(b).unwrap_err().to_string();
        assert!(e.contains("Resources exhausted"), "{e}");
    }
}
