//! Request validation as the domain states it, with no transport in
//! sight: one [`Violation`] per bad field of a request, one [`Refusal`] per
//! part the current state refuses, and the rules every service shares
//! (page sizes, product lines). The platform's `validation` module turns
//! them into gRPC statuses with rich details.

/// One invalid field of a request, named the way the API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// "name is required; price must be positive", for the status message.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{} {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Field-scoped parsing, in one idiom: `VendorId::parse(&req.vendor_id)
/// .field("vendor_id")?` turns whatever the parse refused into a violation
/// of that field, described by the parse's own error.
pub trait FieldViolationExt<T> {
    fn field(self, field: &str) -> Result<T, Violation>;
}

impl<T, E: std::fmt::Display> FieldViolationExt<T> for Result<T, E> {
    fn field(self, field: &str) -> Result<T, Violation> {
        self.map_err(|e| Violation::new(field, e.to_string()))
    }
}

/// The page size a list request asks for: `default` for 0, else 1 to
/// `max`; anything else is a violation of `page_size`.
pub fn page_size(requested: i32, default: u64, max: u64) -> Result<u64, Violation> {
    if requested == 0 {
        return Ok(default);
    }
    u64::try_from(requested)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| Violation::new("page_size", format!("must be 1 to {max} (0 for {default})")))
}

/// Most lines an order or a stock reservation may hold.
pub const MAX_LINES: usize = 100;

/// The product lines of an order or a reservation, in the caller's order
/// (so `lines[i]` in an error is the caller's line i): 1 to [`MAX_LINES`]
/// lines, product ids that are UUIDs (answered in canonical form),
/// quantities of at least 1, no product twice. Every bad field is named.
pub fn product_lines<'a>(
    lines: impl IntoIterator<Item = (&'a str, i64)>,
) -> Result<Vec<(String, i64)>, Vec<Violation>> {
    // The count first, before any work per line: a request of a hundred
    // thousand lines is refused for its size, not read line by line.
    let mut lines = lines.into_iter();
    let lines: Vec<(&str, i64)> = lines.by_ref().take(MAX_LINES + 1).collect();
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(vec![Violation::new(
            "lines",
            format!("must hold 1 to {MAX_LINES} lines"),
        )]);
    }
    let mut v = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(lines.len());
    let mut out: Vec<(String, i64)> = Vec::with_capacity(lines.len());
    for (i, (product_id, quantity)) in lines.into_iter().enumerate() {
        match uuid::Uuid::parse_str(product_id.trim()) {
            Ok(id) if !seen.insert(id) => {
                v.push(Violation::new(
                    format!("lines[{i}].product_id"),
                    "appears twice",
                ));
            }
            Ok(id) => out.push((id.to_string(), quantity)),
            Err(_) => v.push(Violation::new(
                format!("lines[{i}].product_id"),
                "must be a product id (UUID)",
            )),
        }
        if quantity < 1 {
            v.push(Violation::new(
                format!("lines[{i}].quantity"),
                "must be at least 1",
            ));
        }
    }
    if v.is_empty() { Ok(out) } else { Err(v) }
}

/// A rule the current state of the system breaks for one part of a
/// request: `kind` is a stable machine-readable name ("OUT_OF_STOCK"),
/// `subject` the field it concerns ("lines[2]").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: String,
    pub subject: String,
    pub description: String,
}

impl Refusal {
    pub fn new(
        kind: impl Into<String>,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            subject: subject.into(),
            description: description.into(),
        }
    }
}

/// One line naming every refusal: `lines[1]: out of stock; ...`.
pub fn describe_refusals(refusals: &[Refusal]) -> String {
    refusals
        .iter()
        .map(|r| format!("{}: {}", r.subject, r.description))
        .collect::<Vec<_>>()
        .join("; ")
}

/// For a use case's error enum with an `Invalid(Vec<Violation>)` case:
/// `invalid(field, description)`, and `From` one violation or several, so
/// that `?` on a parse refuses the request naming its fields.
#[macro_export]
macro_rules! invalid_request {
    ($error:ty) => {
        impl $error {
            pub fn invalid(field: &str, description: impl Into<String>) -> Self {
                Self::Invalid(vec![$crate::validation::Violation::new(field, description)])
            }
        }

        impl From<Vec<$crate::validation::Violation>> for $error {
            fn from(violations: Vec<$crate::validation::Violation>) -> Self {
                Self::Invalid(violations)
            }
        }

        impl From<$crate::validation::Violation> for $error {
            fn from(violation: $crate::validation::Violation) -> Self {
                Self::Invalid(vec![violation])
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_and_refusals_are_described_in_one_line_each() {
        let violations = [
            Violation::new("name", "is required"),
            Violation::new("price", "must be positive"),
        ];
        assert_eq!(
            describe(&violations),
            "name is required; price must be positive"
        );
        let refusals = [
            Refusal::new("OUT_OF_STOCK", "lines[0]", "not enough stock"),
            Refusal::new("NOT_LISTED", "lines[2]", "the product is not listed"),
        ];
        assert_eq!(
            describe_refusals(&refusals),
            "lines[0]: not enough stock; lines[2]: the product is not listed"
        );
        assert_eq!(describe(&[]), "");
    }

    #[test]
    fn a_refused_parse_becomes_a_violation_of_its_field() {
        let refused: Result<u8, Violation> = "300".parse::<u8>().field("quantity");
        let violation = refused.unwrap_err();
        assert_eq!(violation.field, "quantity");
        assert_eq!(
            violation.description,
            "number too large to fit in target type"
        );
        assert_eq!("7".parse::<u8>().field("quantity"), Ok(7));
    }

    #[test]
    fn page_sizes_default_at_zero_and_stop_at_the_maximum() {
        assert_eq!(page_size(0, 50, 500), Ok(50));
        assert_eq!(page_size(500, 50, 500), Ok(500));
        assert_eq!(page_size(1, 50, 500), Ok(1));
        for bad in [-1, i32::MIN, 501] {
            assert_eq!(page_size(bad, 50, 500).unwrap_err().field, "page_size");
        }
    }

    #[test]
    fn product_lines_name_every_bad_line_in_the_callers_order() {
        let id = "0192f2a0-0000-7000-8000-000000000001";
        assert_eq!(product_lines([(id, 3)]), Ok(vec![(id.to_string(), 3)]));
        let fields: Vec<String> = product_lines([("x", 0), (id, 1), (id, 1)])
            .unwrap_err()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "lines[0].product_id",
                "lines[0].quantity",
                "lines[2].product_id"
            ]
        );
        assert_eq!(product_lines([]).unwrap_err()[0].field, "lines");
        // Too many lines are refused for their number alone, however many
        // (reading them would cost more than refusing them).
        for count in [MAX_LINES + 1, 10_000_000] {
            let refused = product_lines(std::iter::repeat_n((id, 1), count)).unwrap_err();
            assert_eq!(
                refused,
                [Violation::new("lines", "must hold 1 to 100 lines")]
            );
        }
        // The most lines allowed, each product once.
        let ids: Vec<String> = (0..MAX_LINES)
            .map(|i| format!("01934a1e-0000-7000-8000-{i:012}"))
            .collect();
        let most = product_lines(ids.iter().map(|id| (id.as_str(), 1))).unwrap();
        assert_eq!(most.len(), MAX_LINES);
    }
}
