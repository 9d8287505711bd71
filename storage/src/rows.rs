//! Canonical rows on their way into Arrow: every adapter fills a [`Row`] per source record and a
//! [`BatchBuilder`] validates it and appends it to typed column builders.
//!
//! Validation here is the one place that decides whether a row is rejected, so that every adapter
//! rejects for the same reasons with the same words.

use std::borrow::Cow;
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

/// A cell that may borrow its text from the source record (the JSON-lines adapter's rows never
/// own their strings unless the source escaped them). Debug output matches [`Cell`]'s, so
/// reject reasons read the same whichever adapter found them.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CellRef<'a> {
    #[default]
    Null,
    Ts(i64),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
}

impl CellRef<'_> {
    pub fn into_owned(self) -> Cell {
        match self {
            CellRef::Null => Cell::Null,
            CellRef::Ts(v) => Cell::Ts(v),
            CellRef::Int(v) => Cell::Int(v),
            CellRef::Float(v) => Cell::Float(v),
            CellRef::Str(s) => Cell::Str(s.into_owned()),
        }
    }
}

/// Either kind of cell, seen by the one validation and append path of [`BatchBuilder`].
pub trait AsCell {
    fn as_cell(&self) -> CellRef<'_>;
}

impl AsCell for Cell {
    fn as_cell(&self) -> CellRef<'_> {
        match self {
            Cell::Null => CellRef::Null,
            Cell::Ts(v) => CellRef::Ts(*v),
            Cell::Int(v) => CellRef::Int(*v),
            Cell::Float(v) => CellRef::Float(*v),
            Cell::Str(s) => CellRef::Str(Cow::Borrowed(s)),
        }
    }
}

impl AsCell for CellRef<'_> {
    fn as_cell(&self) -> CellRef<'_> {
        match self {
            CellRef::Str(s) => CellRef::Str(Cow::Borrowed(s)),
            CellRef::Null => CellRef::Null,
            CellRef::Ts(v) => CellRef::Ts(*v),
            CellRef::Int(v) => CellRef::Int(*v),
            CellRef::Float(v) => CellRef::Float(*v),
        }
    }
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

    /// The cells, one per schema column.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
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
        self.validate_cells(&row.cells)
    }

    /// Checks the cells of one row (one per schema column) without appending them.
    pub fn validate_cells<C: AsCell>(&self, cells: &[C]) -> std::result::Result<(), RejectReason> {
        debug_assert_eq!(cells.len(), self.columns.len());
        match cells[0].as_cell() {
            CellRef::Ts(_) => {}
            CellRef::Null => return Err("missing timestamp (ts)".into()),
            other => return Err(format!("ts: expected a timestamp, got {other:?}")),
        }
        for &i in &self.required {
            let missing = match cells[i].as_cell() {
                CellRef::Null => true,
                CellRef::Str(s) => s.is_empty(),
                _ => false,
            };
            if missing {
                return Err(format!(
                    "missing required column {}",
                    self.schema.field(i).name()
                ));
            }
        }
        for (i, (cell, col)) in cells.iter().zip(&self.columns).enumerate() {
            let cell = cell.as_cell();
            let ok = matches!(
                (&cell, col),
                (CellRef::Null, _)
                    | (CellRef::Ts(_), ColumnBuilder::Ts(_))
                    | (
                        CellRef::Int(_) | CellRef::Float(_),
                        ColumnBuilder::Int(_) | ColumnBuilder::Float(_)
                    )
                    | (CellRef::Str(_), ColumnBuilder::Str(_))
            );
            if !ok {
                return Err(format!(
                    "{}: expected {}, got {cell:?}",
                    self.schema.field(i).name(),
                    self.schema.field(i).data_type()
                ));
            }
            if let (CellRef::Float(f), ColumnBuilder::Int(_)) = (&cell, col)
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
        debug_assert_eq!(row.kind, self.kind);
        self.append_cells(&row.cells)
    }

    /// Validates and appends the cells of one row; on error nothing is appended.
    pub fn append_cells<C: AsCell>(
        &mut self,
        cells: &[C],
    ) -> std::result::Result<(), RejectReason> {
        self.validate_cells(cells)?;
        for (cell, col) in cells.iter().zip(self.columns.iter_mut()) {
            match (cell.as_cell(), col) {
                (CellRef::Null, ColumnBuilder::Ts(b)) => b.append_null(),
                (CellRef::Null, ColumnBuilder::Int(b)) => b.append_null(),
                (CellRef::Null, ColumnBuilder::Float(b)) => b.append_null(),
                (CellRef::Null, ColumnBuilder::Str(b)) => b.append_null(),
                (CellRef::Ts(v), ColumnBuilder::Ts(b)) => b.append_value(v),
                (CellRef::Int(v), ColumnBuilder::Int(b)) => b.append_value(v),
                (CellRef::Float(v), ColumnBuilder::Int(b)) => b.append_value(v as i64),
                (CellRef::Int(v), ColumnBuilder::Float(b)) => b.append_value(v as f64),
                (CellRef::Float(v), ColumnBuilder::Float(b)) => b.append_value(v),
                (CellRef::Str(s), ColumnBuilder::Str(b)) => {
                    self.bytes += s.len();
                    b.append_value(s)
                }
                _ => unreachable!("validate() checked every cell against its column"),
            }
        }
        self.bytes += 8 * cells.len();
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
