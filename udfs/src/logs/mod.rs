//! Log functions.
//!
//! | function | NULL / empty input | cost | notes |
//! |---|---|---|---|
//! | [`embed_text`](embed_text::EmbedText) | NULL → NULL; `''` → a vector | one template key per row; one model call per distinct template not yet cached | vectors are unit length; the width is the encoder's (384 for `builtin` and all-MiniLM-L6-v2) |

pub mod embed_text;

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

use crate::handles::ModelHandles;

/// The log functions, bound to the engine's model handles.
pub fn functions(models: &ModelHandles) -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::new_from_impl(
        embed_text::EmbedText::new(Arc::clone(&models.text_encoders)),
    ))]
}
