//! The org's rules as metadata: a formula field's formula, a roll-up summary's definition,
//! a validation rule. Pure data: the org compiles and runs them.

/// What a roll-up summary field aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryOp {
    /// How many children.
    Count,
    /// The sum of a field.
    Sum,
    /// The least value of a field.
    Min,
    /// The greatest value of a field.
    Max,
}

impl SummaryOp {
    /// The Metadata API's name (`count`, `sum`, `min`, `max`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
        }
    }

    /// The operation of a Metadata API name, any case.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Count, Self::Sum, Self::Min, Self::Max]
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(name))
    }
}

/// A roll-up summary field's definition (Metadata `summaryOperation`, `summaryForeignKey`,
/// `summarizedField`, `summaryFilterItems`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryDef {
    /// What it computes.
    pub op: SummaryOp,
    /// The child object (`Invoice__c`).
    pub child: String,
    /// The child's master-detail field naming this record (`Account__c`).
    pub key: String,
    /// The child's field aggregated (none for a count).
    pub field: Option<String>,
    /// Which children count.
    pub filters: Vec<SummaryFilter>,
}

/// One of a roll-up's filter items: the child's `field` compared with `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryFilter {
    /// The child's field.
    pub field: String,
    /// `equals`, `notEqual`, `lessThan`, `greaterThan`, `lessOrEqual`, `greaterOrEqual`,
    /// `contains`, `notContain`, `startsWith`.
    pub operation: String,
    /// The value (several, comma-separated, for `equals` and `notEqual`).
    pub value: String,
}

/// A formula field's definition (describe `calculatedFormula`, Metadata `formula`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormulaDef {
    /// The formula as written.
    pub source: String,
    /// Blank fields read as zero (`formulaTreatBlanksAs` `BlankAsZero`, describe
    /// `formulaTreatNullNumberAsZero`), else as blank (`BlankAsBlank`).
    pub blanks_as_zero: bool,
}

/// A validation rule of an object (Metadata `ValidationRule`): a write whose record makes
/// `condition` true is refused with `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationRuleDef {
    /// Its API name (`fullName` without the object).
    pub name: String,
    /// Whether it runs.
    pub active: bool,
    /// The error condition formula.
    pub condition: String,
    /// The error message.
    pub message: String,
    /// The field the error is shown on; none: at the top of the page.
    pub display_field: Option<String>,
    /// Its description.
    pub description: Option<String>,
}
