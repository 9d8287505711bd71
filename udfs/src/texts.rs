//! [`Texts`]: the rows of a text argument of any Arrow string or binary type, read as `str`
//! (bytes that are not UTF-8 replaced), shared by the log and JSON functions.

use std::borrow::Cow;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};

/// A text argument of any string or binary type; bytes that are not UTF-8 are replaced
/// (U+FFFD), as `String::from_utf8_lossy` does.
pub(crate) enum Texts<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    Large(&'a datafusion::arrow::array::LargeStringArray),
    View(&'a datafusion::arrow::array::StringViewArray),
    Bin(&'a datafusion::arrow::array::BinaryArray),
    LargeBin(&'a datafusion::arrow::array::LargeBinaryArray),
    BinView(&'a datafusion::arrow::array::BinaryViewArray),
    Nulls(usize),
}

impl<'a> Texts<'a> {
    pub(crate) fn new(who: &str, a: &'a ArrayRef) -> Result<Self> {
        Ok(match a.data_type() {
            DataType::Utf8 => Texts::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Texts::Large(a.as_string::<i64>()),
            DataType::Utf8View => Texts::View(a.as_string_view()),
            DataType::Binary => Texts::Bin(a.as_binary::<i32>()),
            DataType::LargeBinary => Texts::LargeBin(a.as_binary::<i64>()),
            DataType::BinaryView => Texts::BinView(a.as_binary_view()),
            DataType::Null => Texts::Nulls(a.len()),
            other => return exec_err!("{who}: expected text or bytes, got {other}"),
        })
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Texts::Utf8(a) => a.len(),
            Texts::Large(a) => a.len(),
            Texts::View(a) => a.len(),
            Texts::Bin(a) => a.len(),
            Texts::LargeBin(a) => a.len(),
            Texts::BinView(a) => a.len(),
            Texts::Nulls(n) => *n,
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<Cow<'a, str>> {
        fn lossy(b: &[u8]) -> Cow<'_, str> {
            String::from_utf8_lossy(b)
        }
        match self {
            Texts::Utf8(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            Texts::Large(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            Texts::View(a) => a.is_valid(i).then(|| Cow::Borrowed(a.value(i))),
            Texts::Bin(a) => a.is_valid(i).then(|| lossy(a.value(i))),
            Texts::LargeBin(a) => a.is_valid(i).then(|| lossy(a.value(i))),
            Texts::BinView(a) => a.is_valid(i).then(|| lossy(a.value(i))),
            Texts::Nulls(_) => None,
        }
    }
}
