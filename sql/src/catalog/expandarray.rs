//! `_pg_expandarray(array)`: PostgreSQL's `information_schema._pg_expandarray`, which JDBC
//! drivers and Tableau call to turn an index's `indkey` into rows `(x, n)`: each element with
//! its position from 1. PostgreSQL's is set-returning; this one returns the rows as a list of
//! `{x, n}` structs, and [`crate::compat`] wraps calls in `unnest(…)`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ExpandArray {
    signature: Signature,
}

impl Default for ExpandArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ExpandArray {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

fn row_fields(element: &DataType) -> Fields {
    Fields::from(vec![
        Field::new("x", element.clone(), true),
        Field::new("n", DataType::Int32, false),
    ])
}

fn element(arg: &DataType) -> Result<&DataType> {
    match arg {
        DataType::List(f) => Ok(f.data_type()),
        other => plan_err!("_pg_expandarray expects an array, not {other}"),
    }
}

impl ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        "_pg_expandarray"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let element = element(&args[0])?;
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Struct(row_fields(element)),
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(list) = arrays[0].as_list_opt::<i32>() else {
            return exec_err!("_pg_expandarray expects an array");
        };
        let element = element(arrays[0].data_type())?;
        // Positions 1..=len within each list, over the list's own values.
        let offsets = list.value_offsets();
        let mut positions = Vec::with_capacity(list.values().len());
        for i in 0..list.len() {
            let len = offsets[i + 1] - offsets[i];
            positions.extend(1..=len);
        }
        let start = offsets[0] as usize;
        let end = offsets[list.len()] as usize;
        let values: ArrayRef = list.values().slice(start, end - start);
        let rows = StructArray::try_new(
            row_fields(element),
            vec![values, Arc::new(Int32Array::from(positions))],
            None,
        )?;
        let rebased: Vec<i32> = offsets.iter().map(|o| o - offsets[0]).collect();
        let out = ListArray::try_new(
            Arc::new(Field::new_list_field(
                DataType::Struct(row_fields(element)),
                true,
            )),
            OffsetBuffer::new(rebased.into()),
            Arc::new(rows),
            list.nulls().cloned(),
        )?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::Int16Type;
    use datafusion::logical_expr::ScalarUDF;
    use datafusion::prelude::SessionContext;

    use super::*;

    #[tokio::test]
    async fn elements_come_with_their_positions() {
        let ctx = SessionContext::new();
        ctx.register_udf(ScalarUDF::from(ExpandArray::new()));
        let batches = ctx
            .sql(
                "SELECT get_field(k, 'x') AS x, get_field(k, 'n') AS n FROM \
                 (SELECT unnest(_pg_expandarray(CAST(make_array(5, 7, 9) AS SMALLINT[]))) AS k)",
            )
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let x = batches[0]
            .column(0)
            .as_primitive::<Int16Type>()
            .values()
            .to_vec();
        let n = batches[0]
            .column(1)
            .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
            .values()
            .to_vec();
        assert_eq!((x, n), (vec![5, 7, 9], vec![1, 2, 3]));
        let e = ctx.sql("SELECT _pg_expandarray('a')").await.unwrap_err();
        assert!(e.to_string().contains("expects an array"), "{e}");
    }
}
