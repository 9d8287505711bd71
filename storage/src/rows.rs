//! Canonical rows on their way into Arrow: every adapter fills a [`Row`] per source record and a
//! [`BatchBuilder`] validates it and appends it to typed column builders.
//!
//! Validation here is the one place that decides whether a row is rejected, so that every adapter
//! rejects for the same reasons with the same words.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::error::Result;

use crate::schema::SignalKind;

/// One value on its way to a column.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Null,
    /// Nanoseconds since the epoch, UTC.
    Ts(i64),
    Int(i64),
    Float(f64),
    Str(String),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Str(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Str(s)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// A canonical row of one signal table, one cell per schema column.
#[derive(Debug, Clone)]
pub struct Row {
    kind: SignalKind,
    schema: SchemaRef,
    cells: Vec<Cell>,
}

impl Row {
    pub fn new(kind: SignalKind) -> Self {
        let schema = kind.schema();
        let cells = vec![Cell::Null; schema.fields().len()];
        Self {
            kind,
            schema,
            cells,
        }
    }

    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Sets the cell of column `name`; an unknown name is a programming error in an adapter.
    pub fn set(&mut self, name: &str, cell: impl Into<Cell>) -> &mut Self {
        let idx = self
            .schema
            .index_of(name)
            .unwrap_or_else(|_| panic!("{} has no column {name}", self.kind));
        self.cells[idx] = cell.into();
        self
    }

    /// Sets the cell at column index `idx` (as in the table schema).
    pub fn set_at(&mut self, idx: usize, cell: Cell) {
        self.cells[idx] = cell;
    }

    pub fn get(&self, name: &str) -> Option<&Cell> {
        self.schema.index_of(name).ok().map(|i| &self.cells[i])
    }

    /// Empties the row for reuse.
    pub fn clear(&mut self) {
        self.cells.iter_mut().for_each(|c| *c = Cell::Null);
    }
}

enum ColumnBuilder {
    Ts(TimestampNanosecondBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Str(StringBuilder),
}

impl ColumnBuilder {
    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Ts(b) => Arc::new(b.finish().with_timezone("UTC")),
            Self::Int(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// Why a row was refused; the text goes to `_rejects/` and the end-of-ingest summary, so it names
/// the column and what was wrong with it.
pub type RejectReason = String;

/// Builds record batches of one signal table from validated rows.
pub struct BatchBuilder {
    kind: SignalKind,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    required: Vec<usize>,
    rows: usize,
    bytes: usize,
}

impl BatchBuilder {
    pub fn new(kind: SignalKind) -> Self {
        let schema = kind.schema();
        let columns = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Timestamp(_, _) => ColumnBuilder::Ts(TimestampNanosecondBuilder::new()),
                DataType::Int64 => ColumnBuilder::Int(Int64Builder::new()),
                DataType::Float64 => ColumnBuilder::Float(Float64Builder::new()),
                _ => ColumnBuilder::Str(StringBuilder::new()),
            })
            .collect();
        let required = kind
            .required_columns()
            .iter()
            .map(|c| schema.index_of(c).expect("required columns exist"))
            .collect();
        Self {
            kind,
            schema,
            columns,
            required,
            rows: 0,
            bytes: 0,
        }
    }

    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// A rough size of the buffered data, to bound memory.
    pub fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Checks a row against the schema without appending it.
    pub fn validate(&self, row: &Row) -> std::result::Result<(), RejectReason> {
        debug_assert_eq!(row.kind, self.kind);
        match row.cells[0] {
            Cell::Ts(_) => {}
            Cell::Null => return Err("missing timestamp (ts)".into()),
            ref other => return Err(format!("ts: expected a timestamp, got {other:?}")),
        }
        for &i in &self.required {
            let missing = match &row.cells[i] {
                Cell::Null => true,
                Cell::Str(s) => s.is_empty(),
                _ => false,
            };
            if missing {
                return Err(format!(
                    "missing required column {}",
                    self.schema.field(i).name()
                ));
            }
        }
        for (i, (cell, col)) in row.cells.iter().zip(&self.columns).enumerate() {
            let ok = matches!(
                (cell, col),
                (Cell::Null, _)
                    | (Cell::Ts(_), ColumnBuilder::Ts(_))
                    | (
                        Cell::Int(_) | Cell::Float(_),
                        ColumnBuilder::Int(_) | ColumnBuilder::Float(_)
                    )
                    | (Cell::Str(_), ColumnBuilder::Str(_))
            );
            if !ok {
                return Err(format!(
                    "{}: expected {}, got {cell:?}",
                    self.schema.field(i).name(),
                    self.schema.field(i).data_type()
                ));
            }
            if let (Cell::Float(f), ColumnBuilder::Int(_)) = (cell, col)
                && !f.is_finite()
            {
                return Err(format!(
                    "{}: not a finite number: {f}",
                    self.schema.field(i).name()
                ));
            }
        }
        Ok(())
    }

    /// Validates and appends a row; on error nothing is appended.
    pub fn append(&mut self, row: &Row) -> std::result::Result<(), RejectReason> {
        self.validate(row)?;
        for (cell, col) in row.cells.iter().zip(self.columns.iter_mut()) {
            match (cell, col) {
                (Cell::Null, ColumnBuilder::Ts(b)) => b.append_null(),
                (Cell::Null, ColumnBuilder::Int(b)) => b.append_null(),
                (Cell::Null, ColumnBuilder::Float(b)) => b.append_null(),
                (Cell::Null, ColumnBuilder::Str(b)) => b.append_null(),
                (Cell::Ts(v), ColumnBuilder::Ts(b)) => b.append_value(*v),
                (Cell::Int(v), ColumnBuilder::Int(b)) => b.append_value(*v),
                (Cell::Float(v), ColumnBuilder::Int(b)) => b.append_value(*v as i64),
                (Cell::Int(v), ColumnBuilder::Float(b)) => b.append_value(*v as f64),
                (Cell::Float(v), ColumnBuilder::Float(b)) => b.append_value(*v),
                (Cell::Str(s), ColumnBuilder::Str(b)) => {
                    self.bytes += s.len();
                    b.append_value(s)
                }
                _ => unreachable!("validate() checked every cell against its column"),
            }
        }
        self.bytes += 8 * row.cells.len();
        self.rows += 1;
        Ok(())
    }

    /// Takes the buffered rows as a batch (None when empty).
    pub fn flush(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.rows = 0;
        self.bytes = 0;
        Ok(Some(RecordBatch::try_new(
            Arc::clone(&self.schema),
            arrays,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_rows_build_a_batch_of_the_canonical_schema() {
        let mut b = BatchBuilder::new(SignalKind::Metrics);
        let mut row = Row::new(SignalKind::Metrics);
        row.set("ts", Cell::Ts(5))
            .set("name", "cpu")
            .set("value", Cell::Int(3));
        b.append(&row).unwrap();
        let batch = b.flush().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.schema(), SignalKind::Metrics.schema());
        assert!(b.flush().unwrap().is_none());
    }

    #[test]
    fn rows_missing_ts_or_required_columns_are_refused_with_the_column_named() {
        let b = BatchBuilder::new(SignalKind::Logs);
        let mut row = Row::new(SignalKind::Logs);
        row.set("body", "hello");
        assert_eq!(b.validate(&row).unwrap_err(), "missing timestamp (ts)");
        row.set("ts", Cell::Ts(1)).set("body", "");
        assert!(b.validate(&row).unwrap_err().contains("body"));
        row.set("body", "x").set("service", Cell::Int(3));
        assert!(b.validate(&row).unwrap_err().starts_with("service:"));
    }
}
