//! The kernel of the ASOF join: one pass over two inputs in match order — ascending ts for
//! `>=`/`>`, descending for `<=`/`<` — keeping, per key, the best right row seen so far.
//!
//! In match order, the right rows that can answer a left row are exactly those that come
//! before it (for `>=`: the rows at or before its ts), and among those of its key the last one
//! seen is the nearest. So before answering a left row the kernel passes every right row that
//! qualifies, noting it as its key's best, and then reads the best of the left row's key. Keys
//! get dense ids from DataFusion's vectorised group-by interning, shared by both sides. The
//! inputs need no order on the keys: the lake's files are written sorted by ts, so their
//! declared order (or a merge of sorted partitions) is enough, and elsewhere a sort on the ts
//! alone gives it.
//!
//! Ties (rows of one key with the same ts) go to the first in ascending order (NULLs first) of
//! the right's tie-breaker columns, which are converted to row format for a batch only when
//! one of its rows ties.
//!
//! Memory: the left streams, one output per left batch (or several slices when it reaches
//! across many right batches). The right keeps the batch under the cursor, the batches holding
//! some key's best row and those the output being built refers to, all reserved from the pool;
//! when more than [`MAX_RETAINED`] are kept after an output, the best rows are copied into one
//! batch and the others let go. So the kernel holds O(keys + a few batches).

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, new_null_array};
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, internal_datafusion_err, internal_err};
use datafusion::execution::memory_pool::MemoryReservation;

use super::encode::{Encoded, Encoder, Keys, LastTs, ROWS, cmp_ts, match_order};
use super::logical::AsofOp;

/// How many right batches may be kept before the output is cut and the best rows compacted.
const MAX_RETAINED: usize = 32;

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

/// What an output batch holds.
#[derive(Debug)]
pub struct Output {
    pub schema: SchemaRef,
    /// Per output column, its index among the left columns followed by the right columns.
    pub columns: Vec<usize>,
    /// How many left columns there are.
    pub left_width: usize,
}

/// A right row: the slot of its batch and its row.
type Pos = (usize, usize);

/// A right batch the merge keeps.
#[derive(Debug)]
struct Held {
    enc: Encoded,
    /// How many keys have their best row in this batch.
    refs: usize,
    /// The tie-breaker columns in row format, made at the first tie on one of its rows.
    ties: Option<Rows>,
}

impl Held {
    fn size(&self) -> usize {
        self.enc.size()
    }
}

/// The right side's tie-breaker columns and their row format.
#[derive(Debug)]
pub struct TieBreak {
    columns: Vec<usize>,
    rows: RowConverter,
}

impl TieBreak {
    /// `columns`: indices into the right schema and their types, in schema order.
    pub fn new(columns: Vec<(usize, DataType)>) -> Result<Option<Self>> {
        if columns.is_empty() {
            return Ok(None);
        }
        let (columns, types): (Vec<usize>, Vec<DataType>) = columns.into_iter().unzip();
        let fields = types
            .into_iter()
            .map(|t| SortField::new_with_options(t, ROWS))
            .collect();
        Ok(Some(Self {
            columns,
            rows: RowConverter::new(fields)?,
        }))
    }
}

/// The state of one partition's merge.
pub struct Merger {
    op: AsofOp,
    left_enc: Encoder,
    right_enc: Encoder,
    /// `None` without keys.
    keys: Option<Keys>,
    /// The bytes reserved for `keys` and `best`.
    keys_size: usize,
    ties: Option<TieBreak>,
    /// Kept right batches; `None` is a free slot.
    held: Vec<Option<Held>>,
    held_count: usize,
    /// The batch under the cursor and its next row not yet passed; `None` before the first.
    cursor: Option<Pos>,
    right_done: bool,
    /// Each key id's best right row passed so far.
    best: Vec<Option<Pos>>,
    left_last: LastTs,
    right_last: LastTs,
    reservation: MemoryReservation,
}

impl Merger {
    /// `key_types`: the keys' common type, one per `ON` equality.
    pub fn new(
        op: AsofOp,
        (left_enc, right_enc): (Encoder, Encoder),
        key_types: Vec<DataType>,
        ties: Option<TieBreak>,
        reservation: MemoryReservation,
    ) -> Result<Self> {
        Ok(Self {
            op,
            left_enc,
            right_enc,
            keys: Keys::new(key_types)?,
            keys_size: 0,
            ties,
            held: Vec::new(),
            held_count: 0,
            cursor: None,
            right_done: false,
            best: vec![None],
            left_last: LastTs::default(),
            right_last: LastTs::default(),
            reservation,
        })
    }

    fn descending(&self) -> bool {
        match_order(self.op).descending
    }

    /// Encodes a batch of either side, giving new keys their slot in `best` and reserving
    /// their memory.
    fn encode(&mut self, batch: RecordBatch, left: bool) -> Result<Encoded> {
        let enc = if left {
            &self.left_enc
        } else {
            &self.right_enc
        };
        let encoded = enc.encode(batch, self.keys.as_mut())?;
        if let Some(keys) = &self.keys {
            let n = keys.0.len();
            if n > self.best.len() {
                self.best.resize(n, None);
                let size = keys.0.size() + self.best.capacity() * size_of::<Option<Pos>>();
                self.reservation
                    .try_grow(size.saturating_sub(self.keys_size))?;
                self.keys_size = self.keys_size.max(size);
            }
        }
        Ok(encoded)
    }

    /// Encodes a left batch, checking that it continues the match order (see
    /// [`LastTs::check`]).
    pub fn encode_left(&mut self, batch: RecordBatch) -> Result<Encoded> {
        let left = self.encode(batch, true)?;
        let descending = self.descending();
        self.left_last.check(&left, descending, "left")?;
        Ok(left)
    }

    fn held(&self, slot: usize) -> Result<&Held> {
        self.held
            .get(slot)
            .and_then(Option::as_ref)
            .ok_or_else(|| internal_datafusion_err!("AsofJoinExec: right slot {slot} is empty"))
    }

    fn hold(&mut self, held: Held) -> Result<usize> {
        self.reservation.try_grow(held.size())?;
        self.held_count += 1;
        match self.held.iter().position(Option::is_none) {
            Some(s) => {
                self.held[s] = Some(held);
                Ok(s)
            }
            None => {
                self.held.push(Some(held));
                Ok(self.held.len() - 1)
            }
        }
    }

    /// Adds the next right batch, which the cursor moves to (reserving its memory; the error
    /// is resources-exhausted).
    pub fn push_right(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let enc = self.encode(batch, false)?;
        let descending = self.descending();
        self.right_last.check(&enc, descending, "right")?;
        let slot = self.hold(Held {
            enc,
            refs: 0,
            ties: None,
        })?;
        self.cursor = Some((slot, 0));
        Ok(())
    }

    pub fn finish_right(&mut self) {
        self.right_done = true;
    }

    /// Whether right row `r` ts-compared with left row `l` (`r` vs `l`) may answer it.
    fn qualifies(&self, o: Ordering) -> bool {
        match self.op {
            AsofOp::GtEq => o.is_le(),
            AsofOp::Gt => o.is_lt(),
            AsofOp::LtEq => o.is_ge(),
            AsofOp::Lt => o.is_gt(),
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
                if !self.pass_qualifying(left, i)? {
                    return Ok(Step::NeedRight);
                }
                picks.push(self.best[left.key(i)]);
            } else {
                picks.push(None);
            }
            *next += 1;
            if self.held_count > MAX_RETAINED && *next < left.num_rows() {
                return Ok(Step::Flush);
            }
        }
        Ok(Step::Done)
    }

    /// Passes every right row that may answer left row `i`, each becoming its key's best.
    /// `false`: the cursor ran out of right rows before the first that may not.
    fn pass_qualifying(&mut self, left: &Encoded, i: usize) -> Result<bool> {
        let Some((slot, mut j)) = self.cursor else {
            return Ok(self.right_done);
        };
        loop {
            let r = &self.held(slot)?.enc;
            if j >= r.num_rows() {
                break;
            }
            if r.valid(j) {
                if !self.qualifies(cmp_ts(r, j, left, i)) {
                    self.cursor = Some((slot, j));
                    return Ok(true);
                }
                self.offer(slot, j)?;
            }
            j += 1;
        }
        self.cursor = Some((slot, j));
        Ok(self.right_done)
    }

    /// Makes right row `j` of `slot` its key's best unless the best so far ties it and comes
    /// first by the tie-breakers. Rows arrive in match order, so a row that does not tie is
    /// nearer than the best so far.
    fn offer(&mut self, slot: usize, j: usize) -> Result<()> {
        let k = self.held(slot)?.enc.key(j);
        if let Some((bs, bj)) = self.best[k] {
            let tie = cmp_ts(&self.held(bs)?.enc, bj, &self.held(slot)?.enc, j).is_eq();
            if tie && !self.tie_breaks_before((slot, j), (bs, bj))? {
                return Ok(());
            }
            self.slot_mut(bs)?.refs -= 1;
        }
        self.slot_mut(slot)?.refs += 1;
        self.best[k] = Some((slot, j));
        Ok(())
    }

    fn slot_mut(&mut self, slot: usize) -> Result<&mut Held> {
        self.held
            .get_mut(slot)
            .and_then(Option::as_mut)
            .ok_or_else(|| internal_datafusion_err!("AsofJoinExec: right slot {slot} is empty"))
    }

    /// Whether row `a` comes strictly before row `b` by the tie-breaker columns.
    fn tie_breaks_before(&mut self, a: Pos, b: Pos) -> Result<bool> {
        let Some(ties) = &self.ties else {
            return Ok(false);
        };
        for s in [a.0, b.0] {
            let held = self
                .held
                .get_mut(s)
                .and_then(Option::as_mut)
                .ok_or_else(|| internal_datafusion_err!("AsofJoinExec: right slot {s} is empty"))?;
            if held.ties.is_none() {
                let columns: Vec<ArrayRef> = ties
                    .columns
                    .iter()
                    .map(|&c| Arc::clone(held.enc.batch.column(c)))
                    .collect();
                let rows = ties.rows.convert_columns(&columns)?;
                self.reservation.try_grow(rows.size())?;
                held.ties = Some(rows);
            }
        }
        let row = |(s, j): Pos| {
            self.held(s)?
                .ties
                .as_ref()
                .map(|t| t.row(j))
                .ok_or_else(|| internal_datafusion_err!("AsofJoinExec: tie rows missing"))
        };
        Ok(row(a)? < row(b)?)
    }

    /// The kept batches in slot order with, per slot, its position among them plus one (0 is
    /// the row of NULLs `build` puts first).
    fn sources(&self) -> (Vec<&Held>, Vec<usize>) {
        let mut at = vec![0; self.held.len()];
        let mut kept = Vec::with_capacity(self.held_count);
        for (s, h) in self.held.iter().enumerate() {
            if let Some(h) = h {
                kept.push(h);
                at[s] = kept.len();
            }
        }
        (kept, at)
    }

    /// Builds the output for left rows `start..start + picks.len()`: of the left columns and
    /// then the right columns, gathered from the picks (NULLs where there is none), those the
    /// output has.
    pub fn build(
        &self,
        out: &Output,
        left: &RecordBatch,
        start: usize,
        picks: &[Option<Pos>],
    ) -> Result<RecordBatch> {
        let (kept, at) = self.sources();
        let indices: Vec<(usize, usize)> = picks
            .iter()
            .map(|p| p.map_or((0, 0), |(s, row)| (at[s], row)))
            .collect();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(out.columns.len());
        for (&c, field) in out.columns.iter().zip(out.schema.fields()) {
            let Some(r) = c.checked_sub(out.left_width) else {
                columns.push(left.column(c).slice(start, picks.len()));
                continue;
            };
            let nulls = new_null_array(field.data_type(), 1);
            let mut sources: Vec<&dyn Array> = Vec::with_capacity(kept.len() + 1);
            sources.push(nulls.as_ref());
            for h in &kept {
                sources.push(h.enc.batch.column(r).as_ref());
            }
            columns.push(interleave(&sources, &indices)?);
        }
        if columns.len() != out.schema.fields().len() {
            return internal_err!(
                "AsofJoinExec: built {} columns for a schema of {}",
                columns.len(),
                out.schema.fields().len()
            );
        }
        let options = RecordBatchOptions::new().with_row_count(Some(picks.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(&out.schema),
            columns,
            &options,
        )?)
    }

    /// After an output was built: lets go of the right batches nothing refers to any more and,
    /// when still more than [`MAX_RETAINED`] are kept, copies the best rows into one batch.
    pub fn release(&mut self) -> Result<()> {
        self.free_unreferenced();
        if self.held_count > MAX_RETAINED {
            self.compact()?;
        }
        Ok(())
    }

    fn free_unreferenced(&mut self) {
        let cursor = self.cursor.map(|c| c.0);
        for (s, slot) in self.held.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|h| h.refs == 0) && Some(s) != cursor {
                if let Some(h) = slot.take() {
                    self.reservation
                        .shrink(h.size() + h.ties.as_ref().map_or(0, Rows::size));
                }
                self.held_count -= 1;
            }
        }
    }

    /// Copies every key's best row outside the cursor's batch into one new batch.
    fn compact(&mut self) -> Result<()> {
        let cursor = self.cursor.map(|c| c.0);
        let moved: Vec<usize> = (0..self.best.len())
            .filter(|&k| self.best[k].is_some_and(|(s, _)| Some(s) != cursor))
            .collect();
        if moved.is_empty() {
            return Ok(());
        }
        let (kept, at) = self.sources();
        let indices: Vec<(usize, usize)> = moved
            .iter()
            .filter_map(|&k| self.best[k].map(|(s, j)| (at[s] - 1, j)))
            .collect();
        let schema = kept[0].enc.batch.schema();
        let columns = (0..schema.fields().len())
            .map(|c| {
                let sources: Vec<&dyn Array> = kept
                    .iter()
                    .map(|h| h.enc.batch.column(c).as_ref())
                    .collect();
                Ok(interleave(&sources, &indices)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let enc = self.encode(RecordBatch::try_new(schema, columns)?, false)?;
        let slot = self.hold(Held {
            enc,
            refs: moved.len(),
            ties: None,
        })?;
        for (row, &k) in moved.iter().enumerate() {
            if let Some((s, _)) = self.best[k] {
                self.slot_mut(s)?.refs -= 1;
            }
            self.best[k] = Some((slot, row));
        }
        self.free_unreferenced();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryConsumer, MemoryPool};
    use datafusion::physical_expr::expressions::col;
    use std::cmp::Reverse;

    /// (key, ts, payload) rows; `None` is NULL.
    type Row = (Option<&'static str>, Option<i64>, Option<i64>);

    /// Per left row, its payload and its pick's payload (`Some(None)`: a NULL payload).
    type Answers = Vec<(Option<i64>, Option<Option<i64>>)>;

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
        Encoder::new(keys, col("ts", schema).unwrap(), DataType::Int64).unwrap()
    }

    fn out_schema() -> SchemaRef {
        let (ls, rs) = (schema("id"), schema("v"));
        Arc::new(Schema::new(
            ls.fields()
                .iter()
                .cloned()
                .chain(
                    rs.fields()
                        .iter()
                        .map(|f| Arc::new(f.as_ref().clone().with_nullable(true))),
                )
                .collect::<Vec<_>>(),
        ))
    }

    /// A merger whose ties go to the smallest payload, then (without keys) the smallest key:
    /// what the oracle says.
    fn merger(op: AsofOp, keyed: bool, pool: &Arc<dyn MemoryPool>) -> Merger {
        let ties = TieBreak::new(vec![(2, DataType::Int64), (0, DataType::Utf8)]).unwrap();
        let reservation = MemoryConsumer::new("t").register(pool);
        let encoders = (encoder(&schema("id"), keyed), encoder(&schema("v"), keyed));
        let key_types = if keyed { vec![DataType::Utf8] } else { vec![] };
        Merger::new(op, encoders, key_types, ties, reservation).unwrap()
    }

    /// Sorts rows into match order, stably: rows with equal ts keep their order, so ties
    /// arrive in whatever order the input had.
    fn in_match_order(op: AsofOp, rows: &[Row]) -> Vec<Row> {
        let mut rows = rows.to_vec();
        if match_order(op).descending {
            rows.sort_by_key(|r| Reverse((r.1.is_none(), r.1)));
        } else {
            rows.sort_by_key(|r| (r.1.is_none(), r.1));
        }
        rows
    }

    /// Runs the merge as the exec's stream does, with the inputs cut into `chunk`-row batches;
    /// returns each left row's payload and its pick's payload (`Some(None)`: a NULL payload),
    /// and the most right batches held after an output.
    fn run_counting(
        op: AsofOp,
        keyed: bool,
        left: &[Row],
        right: &[Row],
        chunk: usize,
    ) -> (Answers, usize) {
        let (left, right) = (in_match_order(op, left), in_match_order(op, right));
        let ls = schema("id");
        let output = Output {
            schema: out_schema(),
            columns: (0..6).collect(),
            left_width: 3,
        };
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let mut merger = merger(op, keyed, &pool);
        let rs = schema("v");
        let mut right_batches = right.chunks(chunk.max(1)).map(|c| batch(&rs, c));
        let (mut out, mut most_held) = (Vec::new(), 0);
        for lc in left.chunks(chunk.max(1)) {
            let l = merger.encode_left(batch(&ls, lc)).unwrap();
            let (mut start, mut next, mut picks) = (0, 0, Vec::new());
            loop {
                match merger.advance(&l, &mut next, &mut picks).unwrap() {
                    Step::NeedRight => match right_batches.next() {
                        Some(b) => merger.push_right(b).unwrap(),
                        None => merger.finish_right(),
                    },
                    step => {
                        let b = merger.build(&output, &l.batch, start, &picks).unwrap();
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
                        merger.release().unwrap();
                        most_held = most_held.max(merger.held_count);
                        if step == Step::Done {
                            break;
                        }
                    }
                }
            }
        }
        out.sort();
        (out, most_held)
    }

    fn run(op: AsofOp, keyed: bool, left: &[Row], right: &[Row], chunk: usize) -> Answers {
        run_counting(op, keyed, left, right, chunk).0
    }

    /// The definition, row by row: the best right ts per the operator among valid rows with
    /// the same key, ties to the smallest payload (NULL first), then the smallest key.
    fn oracle(op: AsofOp, keyed: bool, left: &[Row], right: &[Row]) -> Answers {
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
                            (if op.looks_back() { -t } else { t }, r.2, r.0)
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
    fn kept_right_batches_stay_few_as_best_rows_are_compacted() {
        // 300 keys, each with a row in every 300 right rows: with 7-row batches every batch
        // holds some key's best row until the best rows are copied together.
        let keys: Vec<&'static str> = (0..300)
            .map(|i| &*Box::leak(format!("k{i}").into_boxed_str()))
            .collect();
        let right: Vec<Row> = (0..6000)
            .map(|i| (Some(keys[(i * 7) % 300]), Some(i as i64), Some(i as i64)))
            .collect();
        let left: Vec<Row> = (0..900)
            .map(|i| (Some(keys[i % 300]), Some(i as i64 * 7), Some(i as i64)))
            .collect();
        for op in OPS {
            let (got, most_held) = run_counting(op, true, &left, &right, 7);
            assert_eq!(got, oracle(op, true, &left, &right), "{op}");
            assert!(most_held <= MAX_RETAINED, "{op}: {most_held} batches held");
        }
    }

    #[test]
    fn memory_is_reserved_and_returned() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let mut m = merger(AsofOp::GtEq, true, &pool);
        let rs = schema("v");
        let rows: Vec<Row> = (0..100).map(|i| (Some("a"), Some(i), Some(i))).collect();
        for c in rows.chunks(10) {
            m.push_right(batch(&rs, c)).unwrap();
            let l = m
                .encode_left(batch(&schema("id"), &[(Some("a"), Some(1000), Some(0))]))
                .unwrap();
            let (mut next, mut picks) = (0, Vec::new());
            assert_eq!(
                m.advance(&l, &mut next, &mut picks).unwrap(),
                Step::NeedRight
            );
            m.release().unwrap();
            // The batch under the cursor holds the best row; the passed ones are let go.
            assert_eq!(m.held_count, 1);
        }
        assert!(pool.reserved() > 0);
        drop(m);
        assert_eq!(pool.reserved(), 0);
    }

    #[test]
    fn inputs_out_of_ts_order_are_an_error_not_a_wrong_answer() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1 << 30));
        let rs = schema("v");
        let mut m = merger(AsofOp::GtEq, true, &pool);
        m.push_right(batch(&rs, &[(Some("a"), Some(5), None)]))
            .unwrap();
        let e = m
            .push_right(batch(&rs, &[(Some("a"), Some(4), None)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("right input is not in the ts order"), "{e}");
        let mut m = merger(AsofOp::LtEq, true, &pool);
        let e = m
            .encode_left(batch(
                &schema("id"),
                &[
                    (Some("a"), Some(1), None),
                    (None, Some(9), None),
                    (Some("a"), Some(2), None),
                ],
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("left input is not in the ts order"), "{e}");
    }

    #[test]
    fn a_full_pool_is_a_resources_exhausted_error() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(64));
        let mut m = merger(AsofOp::GtEq, true, &pool);
        let e = m
            .push_right(batch(&schema("v"), &[(Some("a"), Some(1), Some(1))]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Resources exhausted"), "{e}");
    }
}
