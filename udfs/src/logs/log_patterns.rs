//! `log_patterns(body [, service])`: the templates of a group of log lines, with counts and one
//! example each (Kusto `reduce`, Elastic `CATEGORIZE`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, Int64Builder, ListArray, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::parser::{LogParser, ParserRef, Texts, coerce_body_service};

const NAME: &str = "log_patterns";

#[user_doc(
    doc_section(label = "Log functions"),
    description = "The templates of the log lines of a group, most frequent first: a list of \
`{template, template_id, count, example}` structs, where `example` is the first line of the \
group seen with that template (the Kusto `reduce` / Elastic `CATEGORIZE` experience). Templates \
and ids are those of `log_template` / `log_template_id` (same scoping by the optional \
`service`, same model). NULL bodies are skipped; a group of only NULLs gives an empty list. \
Ties in count are ordered by template text.",
    syntax_example = "log_patterns(body [, service])",
    sql_example = r#"```sql
> SELECT log_patterns(body) AS p FROM (VALUES ('disk 91% full'), ('disk 93% full'), ('boot')) t(body);
+----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
| p                                                                                                                                                                                |
+----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
| [{template: disk <NUM>% full, template_id: 6813397569952004424, count: 2, example: disk 91% full}, {template: boot, template_id: -4406288732331662157, count: 1, example: boot}] |
+----------------------------------------------------------------------------------------------------------------------------------------------------------------------------------+
```"#,
    argument(name = "body", description = "The log line: text or bytes."),
    argument(name = "service", description = "Scope of the templates."),
    related_udf(name = "log_template")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogPatterns {
    signature: Signature,
    parser: ParserRef,
}

impl LogPatterns {
    pub fn new(parser: Arc<LogParser>) -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Volatile),
            parser: ParserRef(parser),
        }
    }
}

fn item_fields() -> Fields {
    Fields::from(vec![
        Field::new("template", DataType::Utf8, false),
        Field::new("template_id", DataType::Int64, false),
        Field::new("count", DataType::Int64, false),
        Field::new("example", DataType::Utf8, false),
    ])
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(item_fields()),
        true,
    )))
}

impl AggregateUDFImpl for LogPatterns {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_body_service(NAME, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_type())
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(PatternsAccumulator {
            parser: Arc::clone(&self.parser.0),
            generation: None,
            patterns: HashMap::new(),
            order: 0,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[patterns]", args.name),
            list_type(),
            true,
        ))])
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::List(Arc::new(patterns_list(Vec::new()))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// What a group holds per template.
#[derive(Debug, Clone)]
struct Pattern {
    template: String,
    id: u64,
    count: i64,
    example: String,
    /// When it was first seen, so that the example of merged entries is the earliest.
    first: u64,
}

/// Entries are keyed by cluster while mining online (a cluster's template can generalize
/// while the group is read, and all its lines must end in one entry), by id otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Cluster(usize),
    Id(u64),
}

#[derive(Debug)]
struct PatternsAccumulator {
    parser: Arc<LogParser>,
    /// Generation of the parser the cluster keys belong to.
    generation: Option<u64>,
    patterns: HashMap<Key, Pattern>,
    order: u64,
}

const EXAMPLE_MAX: usize = 1024;

fn cut(s: &str) -> &str {
    let mut end = s.len().min(EXAMPLE_MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl PatternsAccumulator {
    /// Entries with each cluster's current template, merged by id.
    fn settled(&self) -> Vec<Pattern> {
        let mut by_id: HashMap<u64, Pattern> = HashMap::new();
        for (key, p) in &self.patterns {
            let mut p = p.clone();
            if let (Key::Cluster(idx), Some(generation)) = (key, self.generation)
                && let Some((template, id)) = self.parser.cluster(generation, *idx)
            {
                p.template = template;
                p.id = id;
            }
            match by_id.get_mut(&p.id) {
                Some(q) => {
                    q.count += p.count;
                    if p.first < q.first {
                        q.first = p.first;
                        q.example = p.example;
                    }
                }
                None => {
                    by_id.insert(p.id, p);
                }
            }
        }
        let mut out: Vec<Pattern> = by_id.into_values().collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.template.cmp(&b.template))
        });
        out
    }

    fn add(&mut self, key: Key, template: &str, id: u64, count: i64, example: &str) {
        self.order += 1;
        let first = self.order;
        self.patterns
            .entry(key)
            .and_modify(|p| p.count += count)
            .or_insert_with(|| Pattern {
                template: template.to_string(),
                id,
                count,
                example: cut(example).to_string(),
                first,
            });
    }
}

fn patterns_list(items: Vec<Pattern>) -> ListArray {
    let mut templates = StringBuilder::new();
    let mut ids = Int64Builder::new();
    let mut counts = Int64Builder::new();
    let mut examples = StringBuilder::new();
    for p in &items {
        templates.append_value(&p.template);
        ids.append_value(p.id as i64);
        counts.append_value(p.count);
        examples.append_value(&p.example);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(templates.finish()),
        Arc::new(ids.finish()),
        Arc::new(counts.finish()),
        Arc::new(examples.finish()),
    ];
    let structs = StructArray::new(item_fields(), columns, None);
    ListArray::new(
        Arc::new(Field::new_list_field(DataType::Struct(item_fields()), true)),
        OffsetBuffer::from_lengths([items.len()]),
        Arc::new(structs),
        None,
    )
}

impl Accumulator for PatternsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(first) = values.first() else {
            return exec_err!("{NAME}: expected (body [, service]), got no argument");
        };
        let bodies = Texts::new(NAME, first)?;
        let services = values.get(1).map(|a| Texts::new(NAME, a)).transpose()?;
        // Template text is copied only for a template the group has not seen yet.
        let mut rows: Vec<(Key, Option<String>, u64, usize)> = Vec::new();
        let mut new_keys: HashSet<Key> = HashSet::new();
        let known = &self.patterns;
        let generation = self
            .parser
            .parse_rows(&bodies, services.as_ref(), false, |i, row| {
                if let Some(r) = row {
                    let key = r.cluster.map_or(Key::Id(r.id), Key::Cluster);
                    let text = (!known.contains_key(&key) && new_keys.insert(key))
                        .then(|| r.template.to_string());
                    rows.push((key, text, r.id, i));
                }
            });
        if self.generation.is_some_and(|g| g != generation) {
            // The model changed under a running aggregate: settle the old cluster keys.
            let settled = self.settled();
            self.patterns.clear();
            for p in settled {
                self.patterns.insert(Key::Id(p.id), p);
            }
        }
        self.generation = Some(generation);
        for (key, text, id, i) in rows {
            if let Some(p) = self.patterns.get_mut(&key) {
                p.count += 1;
            } else {
                let example = bodies.get(i).unwrap_or_default();
                let template = match (text, key) {
                    (Some(t), _) => t,
                    (None, Key::Cluster(c)) => self
                        .parser
                        .cluster(generation, c)
                        .map(|(t, _)| t)
                        .unwrap_or_default(),
                    (None, Key::Id(_)) => String::new(),
                };
                self.add(key, &template, id, 1, &example);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::List(Arc::new(patterns_list(self.settled()))))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + self
                .patterns
                .values()
                .map(|p| size_of::<(Key, Pattern)>() + p.template.len() + p.example.len())
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first() else {
            return exec_err!("{NAME}: merge without state");
        };
        let lists = lists.as_list::<i32>();
        for row in 0..lists.len() {
            if lists.is_null(row) {
                continue;
            }
            let items = lists.value(row);
            let items = items.as_struct();
            let templates = items.column(0).as_string::<i32>();
            let ids = items.column(1).as_primitive::<Int64Type>();
            let counts: &Int64Array = items.column(2).as_primitive::<Int64Type>();
            let examples = items.column(3).as_string::<i32>();
            for j in 0..items.len() {
                let id = ids.value(j) as u64;
                self.add(
                    Key::Id(id),
                    templates.value(j),
                    id,
                    counts.value(j),
                    examples.value(j),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::tests::text_arrays;
    use datafusion::arrow::array::StringArray;

    fn items(v: ScalarValue) -> Vec<(String, i64, String)> {
        let ScalarValue::List(list) = v else {
            panic!("not a list: {v:?}");
        };
        let s = list.value(0);
        let s = s.as_struct();
        let t = s.column(0).as_string::<i32>();
        let c = s.column(2).as_primitive::<Int64Type>();
        let e = s.column(3).as_string::<i32>();
        (0..s.len())
            .map(|i| (t.value(i).to_string(), c.value(i), e.value(i).to_string()))
            .collect()
    }

    fn acc(parser: &Arc<LogParser>) -> PatternsAccumulator {
        PatternsAccumulator {
            parser: Arc::clone(parser),
            generation: None,
            patterns: HashMap::new(),
            order: 0,
        }
    }

    #[test]
    fn counts_examples_and_order() {
        for array in text_arrays(&[
            Some("disk 91% full"),
            None,
            Some("boot"),
            Some("disk 93% full"),
            Some(""),
        ]) {
            let parser = Arc::new(LogParser::online());
            let mut a = acc(&parser);
            a.update_batch(&[array]).unwrap();
            assert_eq!(
                items(a.evaluate().unwrap()),
                [
                    (
                        "disk <NUM>% full".to_string(),
                        2,
                        "disk 91% full".to_string()
                    ),
                    (String::new(), 1, String::new()),
                    ("boot".to_string(), 1, "boot".to_string()),
                ]
            );
        }
    }

    #[test]
    fn partial_states_merge_by_id() {
        let parser = Arc::new(LogParser::online());
        let (mut a, mut b, mut total) = (acc(&parser), acc(&parser), acc(&parser));
        let batch = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        a.update_batch(&[batch(vec!["job 1 done", "job 2 done"])])
            .unwrap();
        b.update_batch(&[batch(vec!["job 3 done", "restart"])])
            .unwrap();
        let sa = a.state().unwrap();
        let sb = b.state().unwrap();
        let merged = ScalarValue::iter_to_array([sa[0].clone(), sb[0].clone()]).unwrap();
        total.merge_batch(&[merged]).unwrap();
        assert_eq!(
            items(total.evaluate().unwrap()),
            [
                ("job <NUM> done".to_string(), 3, "job 1 done".to_string()),
                ("restart".to_string(), 1, "restart".to_string()),
            ]
        );
    }

    #[test]
    fn empty_group_is_an_empty_list() {
        let parser = Arc::new(LogParser::online());
        let mut a = acc(&parser);
        let nulls: ArrayRef = Arc::new(StringArray::from(vec![None::<&str>, None]));
        a.update_batch(&[nulls]).unwrap();
        assert!(items(a.evaluate().unwrap()).is_empty());
    }
}
