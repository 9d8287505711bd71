//! `json_in(text)` / `jsonb_in(text)`: what a cast to `json` / `jsonb` runs ([`super::JsonCasts`]
//! plans every such cast as this call). The text must be one JSON value (`22P02` otherwise);
//! `json` keeps it as written, `jsonb` normalizes it. Not registered by name: users write
//! `'…'::jsonb`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::{Kind, Texts, finish, parse_row};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonIn {
    kind: Kind,
    signature: Signature,
}

/// The cast function of `kind` (one shared instance each).
pub fn udf(kind: Kind) -> Arc<ScalarUDF> {
    static JSON: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::from(JsonIn::new(Kind::Json))));
    static JSONB: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::from(JsonIn::new(Kind::Jsonb))));
    match kind {
        Kind::Json => Arc::clone(&JSON),
        Kind::Jsonb => Arc::clone(&JSONB),
    }
}

impl JsonIn {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for JsonIn {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Json => "json_in",
            Kind::Jsonb => "jsonb_in",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields[0].data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
                Ok(Arc::new(self.kind.field(self.name())))
            }
            other => plan_err!("cannot cast type {other} to {}", self.kind.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts = Texts::new(self.name(), &arrays[0])?;
        let source = super::Kind::of(&args.arg_fields[0]);
        let rows = arrays[0].len();
        let mut out = StringBuilder::with_capacity(rows, 0);
        let mut normalized = String::new();
        // JSON of either kind was checked when it became JSON; only json → jsonb changes it.
        let checked = source.is_some() && !(source == Some(Kind::Json) && self.kind == Kind::Jsonb);
        for row in 0..rows {
            let Some(text) = texts.get(row) else {
                out.append_null();
                continue;
            };
            if checked {
                out.append_value(&text);
                continue;
            }
            let node = parse_row(self.name(), self.kind, &text)?;
            match self.kind {
                Kind::Json => out.append_value(&text),
                Kind::Jsonb => {
                    normalized.clear();
                    node.write_normalized(&mut normalized);
                    out.append_value(&normalized);
                }
            }
        }
        finish(&args.args, Arc::new(out.finish()))
    }
}
