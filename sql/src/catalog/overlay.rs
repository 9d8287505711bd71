//! `pg_catalog` as tools query it. datafusion-pg-catalog's tables come from a PostgreSQL export
//! in which array columns are text; BI tools and JDBC drivers index, unnest and search them
//! (`conkey[i]`, `unnest(indkey)`, `attnum = ANY(conkey)`), so this schema serves those
//! columns as arrays. It also adds what tools read that the export lacks: the `xmin` system
//! column (DataGrip tracks changes by it), `pg_class.reloptions` and `relhasoids`, and the
//! tables `pg_locks` and `pg_stat_ssl` (empty: sigfuse takes no locks a client could see, and
//! does not report connections' TLS state there), `pg_timezone_names` and
//! `pg_timezone_abbrevs` (every IANA zone, as of now). Every other table is the inner
//! schema's own.
//!
//! It also holds, under names no listing shows, the `information_schema` tables PostgreSQL
//! clients read with PostgreSQL's columns and type names (`udt_name`, `data_type` as
//! `timestamp with time zone`): `crate::compat` points `information_schema.columns`,
//! `table_constraints` and `key_column_usage` at them, since DataFusion answers
//! `information_schema` itself before any catalog is asked.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, IntervalMonthDayNanoArray, ListArray, RecordBatch,
    StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNano, Schema, SchemaRef};
use datafusion::catalog::{CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::common::{Column, Result, ScalarValue, TableReference};
use datafusion::datasource::{MemTable, ViewTable, provider_as_source};
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlanBuilder, ScalarUDF, Volatility, create_udf, lit,
};
use datafusion_postgres::arrow_pg::datatypes::into_pg_type;

/// `information_schema` tables that [`crate::compat`] sends here, by their hidden name.
pub const INFORMATION_SCHEMA: [(&str, &str); 3] = [
    ("columns", "_information_schema_columns"),
    ("table_constraints", "_information_schema_table_constraints"),
    ("key_column_usage", "_information_schema_key_column_usage"),
];

/// Tables this schema adds to the export's; `crate::compat` qualifies them with `pg_catalog.`
/// where a tool leaves them unqualified.
pub const ADDED_TABLES: [&str; 4] = [
    "pg_locks",
    "pg_stat_ssl",
    "pg_timezone_names",
    "pg_timezone_abbrevs",
];

/// How a table of the inner schema is served.
enum Edit {
    /// A text column holding an `int2vector`/`oidvector`/array literal, served as a list of
    /// this integer type.
    Vector(&'static str, DataType),
    /// A column the export lacks, with the value it has for every row.
    Add(&'static str, ScalarValue),
    /// A column whose every value is NULL, served with the type PostgreSQL's other tables use
    /// for the same kind of column (so a `UNION` of them plans).
    Null(&'static str, DataType),
}

/// sigfuse has no transactions: every catalog row is as old as the first one.
fn xmin() -> Edit {
    Edit::Add("xmin", ScalarValue::Int32(Some(1)))
}

fn edits(table: &str) -> Option<Vec<Edit>> {
    use DataType::{Int16, Int32};
    Some(match table {
        "pg_index" => vec![
            Edit::Vector("indkey", Int16),
            Edit::Vector("indoption", Int16),
            Edit::Vector("indclass", Int32),
            Edit::Vector("indcollation", Int32),
        ],
        "pg_constraint" => vec![
            Edit::Vector("conkey", Int16),
            Edit::Vector("confkey", Int16),
            Edit::Vector("conpfeqop", Int32),
            Edit::Vector("conppeqop", Int32),
            Edit::Vector("conffeqop", Int32),
            Edit::Vector("conexclop", Int32),
            xmin(),
        ],
        "pg_class" => vec![
            xmin(),
            Edit::Add(
                "reloptions",
                ScalarValue::new_null_list(DataType::Utf8, true, 1),
            ),
            // Dropped in PostgreSQL 12; Tableau still reads it.
            Edit::Add("relhasoids", ScalarValue::Boolean(Some(false))),
        ],
        "pg_tablespace" => vec![
            xmin(),
            // aclitem[], as `pg_database.datacl` is served.
            Edit::Null(
                "spcacl",
                DataType::List(Arc::new(Field::new_list_field(Int32, true))),
            ),
        ],
        "pg_namespace" | "pg_type" | "pg_proc" | "pg_database" | "pg_attribute" => vec![xmin()],
        _ => return None,
    })
}

/// `pg_catalog` over datafusion-pg-catalog's schema.
#[derive(Debug)]
pub struct Overlay {
    inner: Arc<dyn SchemaProvider>,
    catalogs: Arc<dyn CatalogProviderList>,
    vectors: HashMap<DataType, Arc<ScalarUDF>>,
}

impl Overlay {
    pub fn new(inner: Arc<dyn SchemaProvider>, catalogs: Arc<dyn CatalogProviderList>) -> Self {
        let vectors = [DataType::Int16, DataType::Int32]
            .into_iter()
            .map(|t| (t.clone(), Arc::new(vector_udf(t))))
            .collect();
        Self {
            inner,
            catalogs,
            vectors,
        }
    }

    fn edited(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<Arc<dyn TableProvider>> {
        let Some(edits) = edits(name) else {
            return Ok(table);
        };
        let reference = TableReference::partial("pg_catalog", name);
        let schema = table.schema();
        let mut exprs = Vec::with_capacity(schema.fields().len() + edits.len());
        for field in schema.fields() {
            let column = Expr::Column(Column::new(Some(reference.clone()), field.name()));
            let edit = edits.iter().find(|e| match e {
                Edit::Vector(c, _) | Edit::Null(c, _) => c == field.name(),
                Edit::Add(..) => false,
            });
            exprs.push(match edit {
                Some(Edit::Vector(_, t)) => self.vectors[t].call(vec![column]).alias(field.name()),
                Some(Edit::Null(_, t)) => lit(ScalarValue::try_from(t)?).alias(field.name()),
                _ => column,
            });
        }
        for edit in &edits {
            if let Edit::Add(column, value) = edit
                && schema.field_with_name(column).is_err()
            {
                exprs.push(lit(value.clone()).alias(*column));
            }
        }
        let plan = LogicalPlanBuilder::scan(reference, provider_as_source(table), None)?
            .project(exprs)?
            .build()?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }
}

#[async_trait]
impl SchemaProvider for Overlay {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.extend(ADDED_TABLES.iter().map(|t| t.to_string()));
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self.inner.table(name).await? {
            return self.edited(name, table).map(Some);
        }
        let batch = match name {
            "pg_locks" => RecordBatch::new_empty(pg_locks_schema()),
            "pg_stat_ssl" => RecordBatch::new_empty(pg_stat_ssl_schema()),
            "pg_timezone_names" => timezone_names()?,
            "pg_timezone_abbrevs" => timezone_abbrevs()?,
            "_information_schema_columns" => columns(&self.catalogs).await?,
            "_information_schema_table_constraints" => {
                RecordBatch::new_empty(table_constraints_schema())
            }
            "_information_schema_key_column_usage" => {
                RecordBatch::new_empty(key_column_usage_schema())
            }
            _ => return Ok(None),
        };
        Ok(Some(Arc::new(MemTable::try_new(
            batch.schema(),
            vec![vec![batch]],
        )?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
            || ADDED_TABLES.contains(&name)
            || INFORMATION_SCHEMA.iter().any(|(_, hidden)| *hidden == name)
    }
}

/// Parses `"1 2"`, `"{1,2}"` or `"[1, 2]"` into a list of `element` integers (an empty text is
/// an empty list).
fn vector_udf(element: DataType) -> ScalarUDF {
    let item = Arc::new(Field::new_list_field(element.clone(), true));
    let out = DataType::List(Arc::clone(&item));
    create_udf(
        &format!("pg_vector_{element}").to_lowercase(),
        vec![DataType::Utf8],
        out,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts = arrays[0].as_string::<i32>();
            let mut offsets = vec![0i32];
            let mut values = Vec::new();
            for text in texts.iter() {
                for number in text
                    .unwrap_or("")
                    .split(|c: char| !(c.is_ascii_digit() || c == '-'))
                    .filter(|s| !s.is_empty())
                {
                    values.push(number.parse::<i64>().ok());
                }
                offsets.push(values.len() as i32);
            }
            let values: ArrayRef = Arc::new(
                values
                    .into_iter()
                    .collect::<datafusion::arrow::array::Int64Array>(),
            );
            let values = datafusion::arrow::compute::cast(&values, &element)?;
            let list = ListArray::try_new(
                Arc::clone(&item),
                datafusion::arrow::buffer::OffsetBuffer::new(offsets.into()),
                values,
                texts.nulls().cloned(),
            )?;
            Ok(ColumnarValue::Array(Arc::new(list)))
        }),
    )
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int32, true)
}

fn pg_locks_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        text("locktype"),
        int("database"),
        int("relation"),
        int("page"),
        Field::new("tuple", DataType::Int16, true),
        text("virtualxid"),
        int("transactionid"),
        int("classid"),
        int("objid"),
        Field::new("objsubid", DataType::Int16, true),
        text("virtualtransaction"),
        int("pid"),
        text("mode"),
        Field::new("granted", DataType::Boolean, true),
        Field::new("fastpath", DataType::Boolean, true),
        Field::new(
            "waitstart",
            DataType::Timestamp(
                datafusion::arrow::datatypes::TimeUnit::Microsecond,
                Some("+00:00".into()),
            ),
            true,
        ),
    ]))
}

fn pg_stat_ssl_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        int("pid"),
        Field::new("ssl", DataType::Boolean, true),
        text("version"),
        text("cipher"),
        int("bits"),
        text("client_dn"),
        text("client_serial"),
        text("issuer_dn"),
    ]))
}

/// Every IANA zone with its offset and abbreviation now, as PostgreSQL lists them.
fn timezone_names() -> Result<RecordBatch> {
    use chrono::Offset;
    use chrono::TimeZone;
    use chrono_tz::{OffsetComponents, OffsetName};
    let now = chrono::Utc::now().naive_utc();
    let (mut names, mut abbrevs, mut offsets, mut dst) = (vec![], vec![], vec![], vec![]);
    for zone in chrono_tz::TZ_VARIANTS {
        let offset = zone.offset_from_utc_datetime(&now);
        names.push(zone.name());
        abbrevs.push(offset.abbreviation().unwrap_or("").to_string());
        let seconds = offset.fix().local_minus_utc() as i64;
        offsets.push(IntervalMonthDayNano::new(0, 0, seconds * 1_000_000_000));
        dst.push(!offset.dst_offset().is_zero());
    }
    let schema = Arc::new(Schema::new(vec![
        text("name"),
        text("abbrev"),
        Field::new(
            "utc_offset",
            DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
            true,
        ),
        Field::new("is_dst", DataType::Boolean, true),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(abbrevs)),
            Arc::new(IntervalMonthDayNanoArray::from(offsets)),
            Arc::new(BooleanArray::from(dst)),
        ],
    )?)
}

/// The abbreviations in use now, each with its offset, as `pg_timezone_abbrevs` lists them.
fn timezone_abbrevs() -> Result<RecordBatch> {
    let names = timezone_names()?;
    let abbrevs = names.column(1).as_string::<i32>();
    let mut keep = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, abbrev) in abbrevs.iter().enumerate() {
        // Zones without a letter abbreviation print their offset ("+03"): not an abbreviation.
        if let Some(a) = abbrev.filter(|a| a.starts_with(|c: char| c.is_ascii_alphabetic()))
            && seen.insert(a.to_string())
        {
            keep.push(i as u32);
        }
    }
    let keep = datafusion::arrow::array::UInt32Array::from(keep);
    let batch = datafusion::arrow::compute::take_record_batch(&names, &keep)?;
    Ok(batch.project(&[1, 2, 3])?)
}

const COLUMNS: [&str; 19] = [
    "table_catalog",
    "table_schema",
    "table_name",
    "column_name",
    "ordinal_position",
    "column_default",
    "is_nullable",
    "data_type",
    "character_maximum_length",
    "numeric_precision",
    "numeric_precision_radix",
    "numeric_scale",
    "datetime_precision",
    "udt_catalog",
    "udt_schema",
    "udt_name",
    "is_identity",
    "is_generated",
    "is_updatable",
];

/// `information_schema.columns` in PostgreSQL's form: type names as PostgreSQL writes them,
/// positions from 1.
async fn columns(catalogs: &Arc<dyn CatalogProviderList>) -> Result<RecordBatch> {
    let mut rows: Vec<[Option<String>; 19]> = Vec::new();
    for catalog_name in catalogs.catalog_names() {
        let Some(catalog) = catalogs.catalog(&catalog_name) else {
            continue;
        };
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            for table_name in schema.table_names() {
                let Some(table) = schema.table(&table_name).await? else {
                    continue;
                };
                for (i, field) in table.schema().fields().iter().enumerate() {
                    let t = PgColumnType::of(field.data_type());
                    rows.push([
                        Some(catalog_name.clone()),
                        Some(schema_name.clone()),
                        Some(table_name.clone()),
                        Some(field.name().clone()),
                        Some((i + 1).to_string()),
                        None,
                        Some(if field.is_nullable() { "YES" } else { "NO" }.into()),
                        Some(t.data_type),
                        None,
                        t.precision.map(|p| p.to_string()),
                        t.precision.map(|_| t.radix.to_string()),
                        t.scale.map(|s| s.to_string()),
                        t.datetime_precision.map(|p| p.to_string()),
                        Some(catalog_name.clone()),
                        Some("pg_catalog".into()),
                        Some(t.udt_name),
                        Some("NO".into()),
                        Some("NEVER".into()),
                        Some("NO".into()),
                    ]);
                }
            }
        }
    }
    let numeric = [4, 8, 9, 10, 11, 12];
    let fields: Vec<Field> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if numeric.contains(&i) {
                int(name)
            } else {
                text(name)
            }
        })
        .collect();
    let arrays = (0..COLUMNS.len())
        .map(|i| -> Result<ArrayRef> {
            let texts: ArrayRef = Arc::new(
                rows.iter()
                    .map(|r| r[i].as_deref())
                    .collect::<StringArray>(),
            );
            Ok(if numeric.contains(&i) {
                datafusion::arrow::compute::cast(&texts, &DataType::Int32)?
            } else {
                texts
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// A column's type as `information_schema` describes it.
struct PgColumnType {
    data_type: String,
    udt_name: String,
    precision: Option<i32>,
    radix: i32,
    scale: Option<i32>,
    datetime_precision: Option<i32>,
}

impl PgColumnType {
    fn of(t: &DataType) -> Self {
        let udt_name = into_pg_type(t)
            .map(|t| t.name().to_string())
            .unwrap_or_else(|_| "text".into());
        let data_type = match udt_name.as_str() {
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float4" => "real",
            "float8" => "double precision",
            "bool" => "boolean",
            "varchar" => "character varying",
            "bpchar" => "character",
            "timestamptz" => "timestamp with time zone",
            "timestamp" => "timestamp without time zone",
            "timetz" => "time with time zone",
            "time" => "time without time zone",
            name if name.starts_with('_') => "ARRAY",
            name => name,
        }
        .to_string();
        let (precision, radix, scale) = match t {
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => (Some(16), 2, Some(0)),
            DataType::Int32 | DataType::UInt16 => (Some(32), 2, Some(0)),
            DataType::Int64 | DataType::UInt32 => (Some(64), 2, Some(0)),
            DataType::Float16 | DataType::Float32 => (Some(24), 2, None),
            DataType::Float64 => (Some(53), 2, None),
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                (Some(*p as i32), 10, Some(*s as i32))
            }
            _ => (None, 10, None),
        };
        let datetime_precision = match t {
            DataType::Timestamp(..) | DataType::Time32(_) | DataType::Time64(_) => Some(6),
            DataType::Date32 | DataType::Date64 => Some(0),
            _ => None,
        };
        Self {
            data_type,
            udt_name,
            precision,
            radix,
            scale,
            datetime_precision,
        }
    }
}

fn table_constraints_schema() -> SchemaRef {
    Arc::new(Schema::new(
        [
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
            "nulls_distinct",
        ]
        .map(text)
        .to_vec(),
    ))
}

fn key_column_usage_schema() -> SchemaRef {
    let mut fields = [
        "constraint_catalog",
        "constraint_schema",
        "constraint_name",
        "table_catalog",
        "table_schema",
        "table_name",
        "column_name",
    ]
    .map(text)
    .to_vec();
    fields.push(int("ordinal_position"));
    fields.push(int("position_in_unique_constraint"));
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_parse_every_spelling_postgres_exports() {
        let udf = vector_udf(DataType::Int16);
        let texts: ArrayRef = Arc::new(StringArray::from(vec![
            Some("1 2"),
            Some("{3,-4}"),
            Some("[5]"),
            Some(""),
            None,
        ]));
        let out = udf
            .invoke_with_args(datafusion::logical_expr::ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(texts)],
                arg_fields: vec![Arc::new(text("t"))],
                number_rows: 5,
                return_field: Arc::new(Field::new(
                    "out",
                    DataType::List(Arc::new(Field::new_list_field(DataType::Int16, true))),
                    true,
                )),
                config_options: Default::default(),
            })
            .unwrap();
        let ColumnarValue::Array(out) = out else {
            panic!("an array")
        };
        let list = out.as_list::<i32>();
        let at = |i: usize| {
            list.value(i)
                .as_primitive::<datafusion::arrow::datatypes::Int16Type>()
                .values()
                .to_vec()
        };
        assert_eq!(at(0), vec![1, 2]);
        assert_eq!(at(1), vec![3, -4]);
        assert_eq!(at(2), vec![5]);
        assert!(at(3).is_empty());
        assert!(list.is_null(4));
    }

    #[test]
    fn column_types_are_named_like_postgres() {
        let tz = DataType::Timestamp(
            datafusion::arrow::datatypes::TimeUnit::Nanosecond,
            Some("UTC".into()),
        );
        let t = PgColumnType::of(&tz);
        assert_eq!(
            (t.data_type.as_str(), t.udt_name.as_str()),
            ("timestamp with time zone", "timestamptz")
        );
        let t = PgColumnType::of(&DataType::Int64);
        assert_eq!((t.data_type.as_str(), t.precision), ("bigint", Some(64)));
        let list = DataType::List(Arc::new(Field::new_list_field(DataType::Float32, true)));
        let t = PgColumnType::of(&list);
        assert_eq!(
            (t.data_type.as_str(), t.udt_name.as_str()),
            ("ARRAY", "_float4")
        );
    }
}
