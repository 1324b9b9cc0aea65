//! Reads `formulaTestV2.xml`: test cases, their reference fields and their rows, as the Java
//! harness reads them (`FormulaTestDefinitionFileParser`, `FormulaTestData`).

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// A field the formula reads: an input, or a formula field of its own.
#[derive(Debug, Clone)]
pub struct ReferenceField {
    pub name: String,
    pub data_type: String,
    pub formula: String,
    pub nested: Vec<ReferenceField>,
}

/// One input row and its expected output per execution path.
#[derive(Debug, Clone)]
pub struct Row {
    pub input: String,
    pub outputs: Vec<String>,
}

/// One formula and its rows.
#[derive(Debug, Clone)]
pub struct TestCase {
    pub name: String,
    pub data_type: String,
    pub formula: String,
    pub paths: Vec<String>,
    pub fields: Vec<ReferenceField>,
    pub rows: Vec<Row>,
}

fn attribute(element: &BytesStart<'_>, name: &str) -> String {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
        .map(|value| normalize_attribute(&value))
        .unwrap_or_default()
}

/// XML attribute-value normalisation as a DOM parser does it: literal tabs and newlines read as
/// spaces. (quick-xml hands character references and literal whitespace back alike, so a
/// `&#10;` in the corpus would read as a space too; the corpus writes none inside strings.)
fn normalize_attribute(value: &str) -> String {
    value.replace(['\n', '\r', '\t'], " ")
}

/// Splits `expectedOutput` on commas not escaped as `\,`, unescapes and trims each part.
fn split_outputs(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                current.push(',');
            }
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|part| part.trim().to_string())
        .collect()
}

fn field_of(element: &BytesStart<'_>) -> ReferenceField {
    ReferenceField {
        name: attribute(element, "fieldName"),
        data_type: attribute(element, "dataType"),
        formula: attribute(element, "formula").trim().to_string(),
        nested: Vec::new(),
    }
}

/// Reads every test case of the corpus.
pub fn read(text: &str) -> Vec<TestCase> {
    let mut reader = Reader::from_str(text);
    let mut cases = Vec::new();
    let mut field_stack: Vec<ReferenceField> = Vec::new();
    loop {
        let event = reader.read_event().expect("the corpus is well-formed XML");
        match event {
            Event::Eof => return cases,
            Event::Start(element) | Event::Empty(element)
                if element.name().as_ref() == b"testcase" =>
            {
                cases.push(TestCase {
                    name: attribute(&element, "testName"),
                    data_type: attribute(&element, "dataType"),
                    formula: attribute(&element, "formula").trim().to_string(),
                    paths: attribute(&element, "executionPaths")
                        .split(',')
                        .map(|p| p.trim().to_string())
                        .collect(),
                    fields: Vec::new(),
                    rows: Vec::new(),
                });
            }
            Event::Start(element) if element.name().as_ref() == b"referenceField" => {
                field_stack.push(field_of(&element));
            }
            Event::Empty(element) if element.name().as_ref() == b"referenceField" => {
                attach(&mut cases, &mut field_stack, field_of(&element));
            }
            Event::End(element) if element.name().as_ref() == b"referenceField" => {
                let field = field_stack.pop().expect("balanced referenceField tags");
                attach(&mut cases, &mut field_stack, field);
            }
            Event::Start(element) | Event::Empty(element)
                if element.name().as_ref() == b"testData" =>
            {
                let row = Row {
                    input: attribute(&element, "input").trim().to_string(),
                    outputs: split_outputs(&attribute(&element, "expectedOutput")),
                };
                cases
                    .last_mut()
                    .expect("testData inside a testcase")
                    .rows
                    .push(row);
            }
            _ => {}
        }
    }
}

fn attach(cases: &mut [TestCase], stack: &mut [ReferenceField], field: ReferenceField) {
    match stack.last_mut() {
        Some(parent) => parent.nested.push(field),
        None => cases
            .last_mut()
            .expect("referenceField inside a testcase")
            .fields
            .push(field),
    }
}

/// The fields that take input values, in the harness's order (nested first, formulas left out).
pub fn input_fields(fields: &[ReferenceField]) -> Vec<&ReferenceField> {
    let mut flat = Vec::new();
    for field in fields {
        flat.extend(input_fields(&field.nested));
        if field.formula.is_empty() {
            flat.push(field);
        }
    }
    flat
}

/// Every field, nested ones included.
pub fn all_fields(fields: &[ReferenceField]) -> Vec<&ReferenceField> {
    let mut flat = Vec::new();
    for field in fields {
        flat.extend(all_fields(&field.nested));
        flat.push(field);
    }
    flat
}
