//! Encoding for the ASOF kernel: each batch's keys as dense ids shared by both sides, its ts
//! as `i64` (or in row format), the rows that can match, and the check that an input keeps the
//! ts order its plan declares.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};
use datafusion::arrow::compute::{SortOptions, cast};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::arrow::row::{OwnedRow, RowConverter, Rows, SortField};
use datafusion::common::{Result, exec_err};
use datafusion::physical_plan::PhysicalExpr;
use datafusion::physical_plan::aggregates::group_values::{GroupValues, new_group_values};
use datafusion::physical_plan::aggregates::order::GroupOrdering;

use super::logical::AsofOp;

/// The order of the row format for keys, ts and tie-breakers.
pub(super) const ROWS: SortOptions = SortOptions {
    descending: false,
    nulls_first: true,
};

/// The ts order both inputs must arrive in for `op`.
pub fn match_order(op: AsofOp) -> SortOptions {
    if op.looks_back() {
        // What the lake's files declare (`ts ASC NULLS LAST`).
        SortOptions {
            descending: false,
            nulls_first: false,
        }
    } else {
        // What `ORDER BY ts DESC` gives.
        SortOptions {
            descending: true,
            nulls_first: true,
        }
    }
}

/// Encodes the comparison columns of a batch: the keys as ids, the ts as `i64` or in row
/// format.
pub struct Encoder {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    ts: Arc<dyn PhysicalExpr>,
    /// `None`: the ts compares as `i64`.
    ts_rows: Option<RowConverter>,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("keys", &self.keys)
            .field("ts", &self.ts)
            .finish()
    }
}

/// Gives each distinct key (all key columns together) a dense id, the same for both sides:
/// DataFusion's vectorised group-by interning (NULL keys get ids too; such rows never match).
pub(super) struct Keys(pub(super) Box<dyn GroupValues>);

impl Keys {
    pub(super) fn new(types: Vec<DataType>) -> Result<Option<Self>> {
        if types.is_empty() {
            return Ok(None);
        }
        let fields: Vec<Field> = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| Field::new(format!("k{i}"), t, true))
            .collect();
        let values = new_group_values(Arc::new(Schema::new(fields)), &GroupOrdering::None)?;
        Ok(Some(Self(values)))
    }
}

impl Encoder {
    pub fn new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        ts: Arc<dyn PhysicalExpr>,
        ts_type: DataType,
    ) -> Result<Self> {
        let ts_rows = if ts_as_i64(&ts_type) {
            None
        } else {
            Some(RowConverter::new(vec![SortField::new_with_options(
                ts_type, ROWS,
            )])?)
        };
        Ok(Self { keys, ts, ts_rows })
    }

    /// Evaluates and encodes; `keys` interns the key columns (there is none without keys).
    pub(super) fn encode(
        &self,
        batch: RecordBatch,
        interner: Option<&mut Keys>,
    ) -> Result<Encoded> {
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
        let key_ids = match interner {
            Some(k) => {
                let mut ids = Vec::with_capacity(n);
                k.0.intern(&keys, &mut ids)?;
                Some(ids)
            }
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
            keys: key_ids,
            ts,
            nulls,
        })
    }
}

/// A batch with its keys and ts encoded for comparison.
#[derive(Debug)]
pub struct Encoded {
    pub batch: RecordBatch,
    /// Each row's key id; `None` without keys (every row is key 0).
    keys: Option<Vec<usize>>,
    ts: Ts,
    /// NULL where a key or the ts is NULL: such rows never match.
    nulls: Option<NullBuffer>,
}

impl Encoded {
    pub(super) fn valid(&self, i: usize) -> bool {
        self.nulls.as_ref().is_none_or(|n| n.is_valid(i))
    }

    pub(super) fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    pub(super) fn key(&self, i: usize) -> usize {
        self.keys.as_ref().map_or(0, |k| k[i])
    }

    pub(super) fn size(&self) -> usize {
        self.batch.get_array_memory_size()
            + self
                .keys
                .as_ref()
                .map_or(0, |k| k.len() * size_of::<usize>())
            + self.ts.size()
    }
}

/// Compares row `i` of `a` with row `j` of `b` by ts, ascending.
pub(super) fn cmp_ts(a: &Encoded, i: usize, b: &Encoded, j: usize) -> Ordering {
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

/// The last ts of an input seen so far, to check that the next batch goes on in order.
#[derive(Debug, Default)]
pub(super) struct LastTs(Option<Bound>);

#[derive(Debug)]
enum Bound {
    I64(i64),
    Row(OwnedRow),
}

impl LastTs {
    /// Fails when the valid rows of `e` do not continue the ts order `descending` says: the
    /// plan promised that order (a table declared `WITH ORDER` over unsorted data breaks it),
    /// and the kernel's answers depend on it.
    pub(super) fn check(&mut self, e: &Encoded, descending: bool, side: &str) -> Result<()> {
        let in_order = |o: Ordering| if descending { o.is_ge() } else { o.is_le() };
        let mut prev: Option<usize> = None;
        for i in (0..e.num_rows()).filter(|&i| e.valid(i)) {
            let ok = match (prev, &self.0, &e.ts) {
                (Some(p), _, _) => in_order(cmp_ts(e, p, e, i)),
                (None, Some(Bound::I64(b)), Ts::I64(v)) => in_order(b.cmp(&v[i])),
                (None, Some(Bound::Row(b)), Ts::Rows(r)) => in_order(b.row().cmp(&r.row(i))),
                _ => true,
            };
            if !ok {
                return exec_err!(
                    "AsofJoinExec: the {side} input is not in the ts order its plan declares \
                     (a table declared WITH ORDER over unsorted data?)"
                );
            }
            prev = Some(i);
        }
        if let Some(p) = prev {
            self.0 = Some(match &e.ts {
                Ts::I64(v) => Bound::I64(v[p]),
                Ts::Rows(r) => Bound::Row(r.row(p).owned()),
            });
        }
        Ok(())
    }
}
