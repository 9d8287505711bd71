//! Result rows as `DataRow` messages, byte for byte what arrow-pg writes, faster for the column
//! types most results hold.
//!
//! arrow-pg encodes every value through pgwire's `ToSqlText`: a timestamp is formatted by a
//! chrono format string that is parsed again for every value (with the `DateStyle` setting),
//! and a time zone name is parsed for every value too. Streaming a table with a timestamp
//! column spent over half its time there. Here, text-format columns of booleans, integers,
//! floats, strings and timestamps (ISO `DateStyle`) are written directly; every other column,
//! and any value the direct path does not cover (a year outside 0–9999, an offset that is not
//! whole hours), goes through arrow-pg's own `encode_value`, so the bytes are the same. A test
//! compares both on the same batches.

use std::str::FromStr;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::datatypes::{
    DataType, Schema, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::execution::SendableRecordBatchStream;
use datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields;
use datafusion_postgres::arrow_pg::encoder::{Encoder, encode_value};
use datafusion_postgres::pgwire::api::Type;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::data::DataRow;
use datafusion_postgres::pgwire::types::ToSqlText;
use datafusion_postgres::pgwire::types::format::FormatOptions;
use datafusion_postgres::pgwire::types::format::date_style::DateStyle;
use datafusion_postgres::pgwire::types::format::float_digits::ExtraFloatDigits;
use futures::StreamExt;
use postgres_types::{IsNull, ToSql};
use sigfuse_udfs::json;

/// The ISO `DateStyle`'s timestamp format in pgwire; the direct path writes exactly this.
const ISO_TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// A query response whose rows are `batches` (of `schema`) encoded in `format`.
pub fn query_response(
    schema: &Schema,
    batches: SendableRecordBatchStream,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<QueryResponse> {
    // Decided once for the stream: which timestamptz columns are shown in another zone.
    let rezone = Rezone::new(schema, &options.time_zone);
    let fields = Arc::new(pg_fields(schema, format, options)?);
    let row_fields = Arc::clone(&fields);
    let rows = batches
        .map(move |batch| {
            let batch = match (batch, &rezone) {
                (Ok(batch), Some(rezone)) => rezone.apply(batch),
                (other, _) => other,
            };
            let rows: Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> = match batch {
                Ok(batch) => Box::new(BatchRows::new(Arc::clone(&row_fields), batch)),
                Err(e) => Box::new(std::iter::once(Err(PgWireError::ApiError(Box::new(e))))),
            };
            futures::stream::iter(rows)
        })
        .flatten();
    Ok(QueryResponse::new(fields, rows))
}

/// How a session's results are written: pgwire's options from the client's settings, and the
/// time zone `SET TIME ZONE` (or the start-up `TimeZone`) chose, in which timestamptz values are
/// shown.
pub fn format_options(metadata: &std::collections::HashMap<String, String>) -> FormatOptions {
    let mut options = FormatOptions::from_client_metadata(metadata);
    if let Some(zone) = metadata
        .get("timezone")
        .or_else(|| metadata.get("TimeZone"))
    {
        options.time_zone = zone.clone();
    }
    options
}

/// A stream's `timestamptz` columns shown in the session's `TimeZone`, as PostgreSQL shows
/// them: the instants are unchanged, only the columns' zone (a metadata-only cast).
struct Rezone {
    /// Per column, the type it is cast to, if any.
    targets: Vec<Option<DataType>>,
}

/// Zone names that are UTC at every instant.
const UTC_NAMES: [&str; 9] = [
    "utc",
    "etc/utc",
    "+00:00",
    "+00",
    "z",
    "gmt",
    "etc/gmt",
    "uct",
    "universal",
];

fn same_zone(a: &str, b: &str) -> bool {
    a == b
        || UTC_NAMES.contains(&a.to_ascii_lowercase().as_str())
            && UTC_NAMES.contains(&b.to_ascii_lowercase().as_str())
}

impl Rezone {
    /// `None` when no column of `schema` needs it (or `zone` is not one arrow knows).
    fn new(schema: &Schema, zone: &str) -> Option<Self> {
        Tz::from_str(zone).ok()?;
        let targets: Vec<Option<DataType>> = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Timestamp(unit, Some(z)) if !same_zone(z, zone) => {
                    Some(DataType::Timestamp(*unit, Some(zone.into())))
                }
                _ => None,
            })
            .collect();
        if targets.iter().all(Option::is_none) {
            return None;
        }
        Some(Self { targets })
    }

    fn apply(&self, batch: RecordBatch) -> datafusion::common::Result<RecordBatch> {
        let schema = batch.schema();
        let mut fields = Vec::with_capacity(self.targets.len());
        let mut columns = Vec::with_capacity(self.targets.len());
        for ((field, column), target) in schema
            .fields()
            .iter()
            .zip(batch.columns())
            .zip(&self.targets)
        {
            match target {
                Some(t) => {
                    columns.push(datafusion::arrow::compute::cast(column, t)?);
                    fields.push(field.as_ref().clone().with_data_type(t.clone()));
                }
                None => {
                    columns.push(Arc::clone(column));
                    fields.push(field.as_ref().clone());
                }
            }
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

/// The columns of `schema` as the client is told of them: arrow-pg's mapping, except that
/// JSON-marked text columns are `json` / `jsonb` (arrow-pg reports them as `text`).
pub fn pg_fields(
    schema: &Schema,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<Vec<FieldInfo>> {
    let mut fields = arrow_schema_to_pg_fields(schema, format, Some(options))?;
    describe_json_columns(schema, &mut fields);
    Ok(fields)
}

/// `fields` (of `schema`, as arrow-pg describes them) with JSON columns as `json` / `jsonb`.
pub fn describe_json_columns(schema: &Schema, fields: &mut [FieldInfo]) {
    if schema.fields().len() != fields.len() {
        return;
    }
    for (field, info) in schema.fields().iter().zip(fields.iter_mut()) {
        if let Some(kind) = json::Kind::of(field) {
            *info = with_type(info, json_type(kind));
        }
    }
}

fn json_type(kind: json::Kind) -> Type {
    match kind {
        json::Kind::Json => Type::JSON,
        json::Kind::Jsonb => Type::JSONB,
    }
}

/// `info` described as type `datatype`.
fn with_type(info: &FieldInfo, datatype: Type) -> FieldInfo {
    FieldInfo::new(
        info.name().to_string(),
        info.table_id(),
        info.column_id(),
        datatype,
        info.format(),
    )
    .with_format_options(Arc::clone(info.format_options()))
}

/// A response encoded by arrow-pg (the extended protocol's, several statements in one text)
/// told of `schema`'s JSON columns: their types, and the version byte `jsonb`'s binary form
/// starts with, which arrow-pg's text-column encoding lacks.
pub fn with_json_columns(response: QueryResponse, schema: &Schema) -> QueryResponse {
    if !schema.fields().iter().any(|f| json::Kind::of(f).is_some()) {
        return response;
    }
    let mut fields = response.row_schema.as_ref().clone();
    describe_json_columns(schema, &mut fields);
    let versioned: Vec<bool> = fields
        .iter()
        .map(|f| *f.datatype() == Type::JSONB && f.format() == FieldFormat::Binary)
        .collect();
    let QueryResponse {
        command_tag,
        data_rows,
        ..
    } = response;
    let mut out = if versioned.iter().any(|v| *v) {
        QueryResponse::new(
            Arc::new(fields),
            data_rows.map(move |row| row.map(|row| with_version_bytes(row, &versioned))),
        )
    } else {
        QueryResponse::new(Arc::new(fields), data_rows)
    };
    out.set_command_tag(&command_tag);
    out
}

/// `row` with the byte 1 (`jsonb`'s binary format version) before each value of the columns
/// marked in `versioned`.
fn with_version_bytes(row: DataRow, versioned: &[bool]) -> DataRow {
    let data = &row.data;
    let mut out = BytesMut::with_capacity(data.len() + versioned.len());
    let mut at = 0;
    for &version in versioned {
        let Some(len) = data.get(at..at + 4) else {
            break;
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            out.put_i32(-1);
            continue;
        }
        let value = &data[at..at + len as usize];
        at += len as usize;
        if version {
            out.put_i32(len + 1);
            out.put_u8(1);
        } else {
            out.put_i32(len);
        }
        out.put_slice(value);
    }
    DataRow::new(out, row.field_count)
}

/// How one column is written.
enum Column {
    Bool(BooleanArray),
    Int16(Int16Array),
    Int32(Int32Array),
    Int64(Int64Array),
    Float32(Float32Array, ExtraFloatDigits),
    Float64(Float64Array, ExtraFloatDigits),
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    /// Values as `unit`s since the epoch; with a zone, written in it with its hours.
    Timestamp {
        values: Int64Array,
        unit: TimeUnit,
        zone: Option<Tz>,
    },
    /// JSON text, in either format; `jsonb`'s binary form starts with a version byte.
    Json {
        array: ArrayRef,
        versioned: bool,
    },
    /// arrow-pg's encoder, value by value.
    Other,
}

impl Column {
    fn new(array: &ArrayRef, field: &FieldInfo) -> Self {
        let ty = field.datatype();
        if (*ty == Type::JSON || *ty == Type::JSONB)
            && matches!(
                array.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        {
            return Self::Json {
                array: Arc::clone(array),
                versioned: *ty == Type::JSONB && field.format() == FieldFormat::Binary,
            };
        }
        if field.format() != FieldFormat::Text {
            return Self::Other;
        }
        let options = field.format_options();
        let digits = || ExtraFloatDigits(options.extra_float_digits);
        match array.data_type() {
            DataType::Boolean if *ty == Type::BOOL => Self::Bool(array.as_boolean().clone()),
            DataType::Int16 if *ty == Type::INT2 => Self::Int16(array.as_primitive().clone()),
            DataType::Int32 if *ty == Type::INT4 => Self::Int32(array.as_primitive().clone()),
            DataType::Int64 if *ty == Type::INT8 => Self::Int64(array.as_primitive().clone()),
            DataType::Float32 if *ty == Type::FLOAT4 => {
                Self::Float32(array.as_primitive().clone(), digits())
            }
            DataType::Float64 if *ty == Type::FLOAT8 => {
                Self::Float64(array.as_primitive().clone(), digits())
            }
            DataType::Utf8 if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Self::Utf8(array.as_string().clone())
            }
            DataType::LargeUtf8 if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Self::LargeUtf8(array.as_string().clone())
            }
            DataType::Utf8View if *ty == Type::TEXT || *ty == Type::VARCHAR => {
                Self::Utf8View(array.as_string_view().clone())
            }
            DataType::Timestamp(unit, zone)
                if DateStyle::new(&options.date_style).full_format_str() == ISO_TIMESTAMP =>
            {
                let zone = match zone {
                    None if *ty == Type::TIMESTAMP => None,
                    Some(name) if *ty == Type::TIMESTAMPTZ => match Tz::from_str(name) {
                        Ok(tz) => Some(tz),
                        Err(_) => return Self::Other,
                    },
                    _ => return Self::Other,
                };
                let values = match unit {
                    TimeUnit::Second => array
                        .as_primitive::<TimestampSecondType>()
                        .reinterpret_cast(),
                    TimeUnit::Millisecond => array
                        .as_primitive::<TimestampMillisecondType>()
                        .reinterpret_cast(),
                    TimeUnit::Microsecond => array
                        .as_primitive::<TimestampMicrosecondType>()
                        .reinterpret_cast(),
                    TimeUnit::Nanosecond => array
                        .as_primitive::<TimestampNanosecondType>()
                        .reinterpret_cast(),
                };
                Self::Timestamp {
                    values,
                    unit: *unit,
                    zone,
                }
            }
            _ => Self::Other,
        }
    }
}

/// The rows of one batch.
struct BatchRows {
    batch: RecordBatch,
    fields: Arc<Vec<FieldInfo>>,
    columns: Vec<Column>,
    row: usize,
    out: Row,
}

impl BatchRows {
    fn new(fields: Arc<Vec<FieldInfo>>, batch: RecordBatch) -> Self {
        let columns = batch
            .columns()
            .iter()
            .zip(fields.iter())
            .map(|(array, field)| Column::new(array, field))
            .collect();
        // One allocation for the batch's rows, split off row by row.
        let out = Row {
            buf: BytesMut::with_capacity(batch.num_rows().clamp(1, 8192) * 64),
            fields: 0,
        };
        Self {
            batch,
            fields,
            columns,
            row: 0,
            out,
        }
    }

    fn encode_row(&mut self) -> PgWireResult<DataRow> {
        let row = self.row;
        for (i, column) in self.columns.iter().enumerate() {
            let array = self.batch.column(i);
            if !matches!(column, Column::Other) && array.is_null(row) {
                self.out.null();
                continue;
            }
            let written = match column {
                Column::Bool(a) => {
                    self.out.bytes(if a.value(row) { b"t" } else { b"f" });
                    true
                }
                Column::Int16(a) => self.out.int(i64::from(a.value(row))),
                Column::Int32(a) => self.out.int(i64::from(a.value(row))),
                Column::Int64(a) => self.out.int(a.value(row)),
                Column::Float32(a, digits) => {
                    self.out.bytes(digits.format_f32(a.value(row)).as_bytes());
                    true
                }
                Column::Float64(a, digits) => {
                    self.out.bytes(digits.format_f64(a.value(row)).as_bytes());
                    true
                }
                Column::Utf8(a) => {
                    self.out.bytes(a.value(row).as_bytes());
                    true
                }
                Column::LargeUtf8(a) => {
                    self.out.bytes(a.value(row).as_bytes());
                    true
                }
                Column::Utf8View(a) => {
                    self.out.bytes(a.value(row).as_bytes());
                    true
                }
                Column::Timestamp { values, unit, zone } => {
                    self.out.timestamp(values.value(row), *unit, zone.as_ref())
                }
                Column::Json { array, versioned } => {
                    let text = match array.data_type() {
                        DataType::Utf8 => array.as_string::<i32>().value(row),
                        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
                        _ => array.as_string_view().value(row),
                    };
                    self.out.json(text.as_bytes(), *versioned);
                    true
                }
                Column::Other => false,
            };
            if !written {
                let arrow_field = self.batch.schema_ref().field(i);
                encode_value(&mut self.out, array, row, arrow_field, &self.fields[i])?;
            }
        }
        self.row += 1;
        Ok(self.out.take_row())
    }
}

impl Iterator for BatchRows {
    type Item = PgWireResult<DataRow>;

    fn next(&mut self) -> Option<Self::Item> {
        (self.row < self.batch.num_rows()).then(|| self.encode_row())
    }
}

/// The row being written: each value is its length (`-1`: NULL) and its bytes.
struct Row {
    buf: BytesMut,
    fields: i16,
}

impl Row {
    fn null(&mut self) {
        self.buf.put_i32(-1);
        self.fields += 1;
    }

    fn bytes(&mut self, value: &[u8]) {
        self.buf.put_i32(value.len() as i32);
        self.buf.put_slice(value);
        self.fields += 1;
    }

    /// JSON text, after `jsonb`'s binary version byte when `versioned`.
    fn json(&mut self, text: &[u8], versioned: bool) {
        if versioned {
            self.buf.put_i32(text.len() as i32 + 1);
            self.buf.put_u8(1);
            self.buf.put_slice(text);
            self.fields += 1;
        } else {
            self.bytes(text);
        }
    }

    fn int(&mut self, value: i64) -> bool {
        self.bytes(itoa::Buffer::new().format(value).as_bytes());
        true
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff` and, with a zone, `+HH`: false (nothing written) when
    /// the value is out of chrono's range, its year has not four digits, or its offset has
    /// minutes, which arrow-pg then writes.
    fn timestamp(&mut self, value: i64, unit: TimeUnit, zone: Option<&Tz>) -> bool {
        let (secs, nanos) = match unit {
            TimeUnit::Second => (value, 0),
            TimeUnit::Millisecond => (value.div_euclid(1_000), value.rem_euclid(1_000) * 1_000_000),
            TimeUnit::Microsecond => (
                value.div_euclid(1_000_000),
                value.rem_euclid(1_000_000) * 1_000,
            ),
            TimeUnit::Nanosecond => (
                value.div_euclid(1_000_000_000),
                value.rem_euclid(1_000_000_000),
            ),
        };
        let Some(utc) = DateTime::from_timestamp(secs, nanos as u32) else {
            return false;
        };
        let utc = utc.naive_utc();
        let (local, offset_hours) = match zone {
            None => (utc, None),
            Some(tz) => {
                let offset = tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
                if offset % 3600 != 0 {
                    return false;
                }
                let Some(local) = utc.checked_add_signed(chrono::TimeDelta::seconds(offset.into()))
                else {
                    return false;
                };
                (local, Some(offset / 3600))
            }
        };
        let year = local.year();
        if !(0..=9999).contains(&year) {
            return false;
        }
        let mut text = [0u8; 29];
        let mut n = 0;
        write_digits(&mut text, &mut n, year as u32, 4);
        text[n] = b'-';
        n += 1;
        write_digits(&mut text, &mut n, local.month(), 2);
        text[n] = b'-';
        n += 1;
        write_digits(&mut text, &mut n, local.day(), 2);
        text[n] = b' ';
        n += 1;
        write_digits(&mut text, &mut n, local.hour(), 2);
        text[n] = b':';
        n += 1;
        write_digits(&mut text, &mut n, local.minute(), 2);
        text[n] = b':';
        n += 1;
        write_digits(&mut text, &mut n, local.second(), 2);
        text[n] = b'.';
        n += 1;
        // chrono's `%.6f`: the sub-second part in microseconds, truncated (a leap second's
        // nanoseconds are past 10^9; none come from an epoch count).
        write_digits(
            &mut text,
            &mut n,
            (local.nanosecond() % 1_000_000_000) / 1_000,
            6,
        );
        if let Some(hours) = offset_hours {
            text[n] = if hours < 0 { b'-' } else { b'+' };
            n += 1;
            write_digits(&mut text, &mut n, hours.unsigned_abs(), 2);
        }
        self.bytes(&text[..n]);
        true
    }
}

/// `value` as `width` decimal digits, zero-padded, at `text[*n..]`.
fn write_digits(text: &mut [u8], n: &mut usize, mut value: u32, width: usize) {
    for i in (0..width).rev() {
        text[*n + i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    *n += width;
}

impl Encoder for Row {
    type Item = DataRow;

    /// As pgwire's `DataRowEncoder` writes a value.
    fn encode_field<T>(&mut self, value: &T, field: &FieldInfo) -> PgWireResult<()>
    where
        T: ToSql + ToSqlText + Sized,
    {
        let at = self.buf.len();
        self.buf.put_i32(-1);
        let is_null = if field.format() == FieldFormat::Text {
            value.to_sql_text(field.datatype(), &mut self.buf, field.format_options())?
        } else {
            value.to_sql(field.datatype(), &mut self.buf)?
        };
        if let IsNull::No = is_null {
            let len = (self.buf.len() - at - 4) as i32;
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        self.fields += 1;
        Ok(())
    }

    fn take_row(&mut self) -> DataRow {
        let fields = std::mem::take(&mut self.fields);
        DataRow::new(self.buf.split(), fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Date32Array, Decimal128Array, ListArray, TimestampMicrosecondArray,
        TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
    };
    use datafusion::arrow::datatypes::Int32Type;
    use datafusion_postgres::arrow_pg::datatypes::encode_recordbatch;

    fn batch() -> RecordBatch {
        let micros = [
            Some(0),
            Some(-1),
            Some(1_704_067_200_123_456),
            Some(-62_135_596_800_000_000), // 0001-01-01
            Some(253_402_300_799_999_999), // 9999-12-31 23:59:59.999999
            Some(1_711_846_800_000_000),   // around a DST change in Europe
            None,
            Some(i64::MAX),
        ];
        let n = micros.len();
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "b",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                    Some(true),
                    None,
                    Some(false),
                ])),
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![
                    Some(i16::MIN),
                    Some(-1),
                    Some(0),
                    None,
                    Some(7),
                    Some(i16::MAX),
                    Some(10),
                    Some(-10),
                ])),
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    Some(-1),
                    Some(0),
                    None,
                    Some(7),
                    Some(i32::MAX),
                    Some(10),
                    Some(-10),
                ])),
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(-1),
                    Some(0),
                    None,
                    Some(7),
                    Some(i64::MAX),
                    Some(10),
                    Some(-10),
                ])),
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    Some(0.1),
                    Some(-0.0),
                    Some(f32::NAN),
                    Some(f32::INFINITY),
                    None,
                    Some(1e-40),
                    Some(3.0),
                    Some(f32::MAX),
                ])),
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    Some(0.1 + 0.2),
                    Some(-0.0),
                    Some(f64::NAN),
                    Some(f64::NEG_INFINITY),
                    None,
                    Some(5e-324),
                    Some(1.0),
                    Some(1e300),
                ])),
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    Some("a,b {\"c\"}"),
                    None,
                    Some("ünï"),
                    Some("x"),
                    Some("NULL"),
                    Some("\\"),
                    Some("line\nbreak"),
                ])),
            ),
            ("ls", Arc::new(LargeStringArray::from(vec![Some("a"); n]))),
            (
                "sv",
                Arc::new(StringViewArray::from(vec![
                    Some("a long string view value over 12 bytes"),
                    None,
                    Some("s"),
                    Some(""),
                    Some("x"),
                    Some("y"),
                    Some("z"),
                    Some("w"),
                ])),
            ),
            (
                "ts_s",
                Arc::new(TimestampSecondArray::from(
                    micros.map(|m| m.map(|m| m / 1_000_000)).to_vec(),
                )),
            ),
            (
                "ts_ms",
                Arc::new(TimestampMillisecondArray::from(
                    micros.map(|m| m.map(|m| m / 1_000)).to_vec(),
                )),
            ),
            (
                "ts_us",
                Arc::new(TimestampMicrosecondArray::from(micros.to_vec())),
            ),
            (
                "ts_ns",
                Arc::new(TimestampNanosecondArray::from(
                    micros
                        .map(|m| m.and_then(|m| m.checked_mul(1_000)))
                        .to_vec(),
                )),
            ),
            (
                "tz_utc",
                Arc::new(TimestampMicrosecondArray::from(micros.to_vec()).with_timezone("UTC")),
            ),
            (
                "tz_berlin",
                Arc::new(
                    TimestampMicrosecondArray::from(micros.to_vec()).with_timezone("Europe/Berlin"),
                ),
            ),
            (
                "tz_kolkata",
                Arc::new(
                    TimestampMillisecondArray::from(micros.map(|m| m.map(|m| m / 1_000)).to_vec())
                        .with_timezone("Asia/Kolkata"),
                ),
            ),
            (
                "tz_fixed",
                Arc::new(
                    TimestampNanosecondArray::from(
                        micros
                            .map(|m| m.and_then(|m| m.checked_mul(1_000)))
                            .to_vec(),
                    )
                    .with_timezone("-03:00"),
                ),
            ),
            (
                "date",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(-1),
                    None,
                    Some(19_000),
                    Some(1),
                    Some(2),
                    Some(3),
                    Some(4),
                ])),
            ),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(12_345),
                        None,
                        Some(-1),
                        Some(0),
                        Some(1),
                        Some(2),
                        Some(3),
                        Some(4),
                    ])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
                ),
            ),
            (
                "list",
                Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
                    (0..n).map(|i| (i % 3 != 0).then(|| vec![Some(i as i32), None])),
                )),
            ),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn both(batch: &RecordBatch, format: &Format, options: FormatOptions) {
        let fields = Arc::new(
            arrow_schema_to_pg_fields(batch.schema_ref(), format, Some(Arc::new(options))).unwrap(),
        );
        let ours: Vec<DataRow> = BatchRows::new(Arc::clone(&fields), batch.clone())
            .map(Result::unwrap)
            .collect();
        let theirs: Vec<DataRow> = encode_recordbatch(Arc::clone(&fields), batch.clone())
            .map(Result::unwrap)
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a.field_count, b.field_count, "row {row}");
            assert_eq!(a.data, b.data, "row {row}:\n{:?}\n{:?}", a.data, b.data);
        }
    }

    #[test]
    fn rows_are_byte_for_byte_arrow_pgs() {
        let batch = batch();
        both(&batch, &Format::UnifiedText, FormatOptions::default());
        both(&batch, &Format::UnifiedBinary, FormatOptions::default());
        for extra in [-15, 0, 1, 3] {
            let mut options = FormatOptions::default();
            options.extra_float_digits = extra;
            both(&batch, &Format::UnifiedText, options);
        }
        for style in ["ISO, MDY", "SQL, DMY", "German", "Postgres, MDY"] {
            let mut options = FormatOptions::default();
            options.date_style = style.into();
            both(&batch, &Format::UnifiedText, options);
        }
    }

    #[test]
    fn timestamps_take_the_direct_path() {
        let mut row = Row {
            buf: BytesMut::new(),
            fields: 0,
        };
        let berlin = Tz::from_str("Europe/Berlin").unwrap();
        assert!(row.timestamp(1_704_067_200_123_456, TimeUnit::Microsecond, Some(&berlin)));
        assert_eq!(&row.buf[4..], b"2024-01-01 01:00:00.123456+01");
        let kolkata = Tz::from_str("Asia/Kolkata").unwrap();
        assert!(!row.timestamp(0, TimeUnit::Second, Some(&kolkata)));
    }
}
