//! Partition value normalisation: raw field bytes -> partition name, `missing`, or a quarantine
//! reason, following the catalog's `partition.values` rule.

use crate::catalog::{PartitionSpec, PartitionValues};
use crate::locations::is_key_safe;

/// Where a row goes, judged by its partition field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed<'a> {
    /// A valid value, normalised (borrowed when already canonical).
    Value(std::borrow::Cow<'a, str>),
    /// Empty field: the row goes to the `missing` partition.
    Missing,
    /// Unusable value: the row is quarantined with this reason.
    Invalid(String),
}

/// Normalise one raw partition field (already known to be valid UTF-8).
pub fn route<'a>(spec: &PartitionSpec, raw: &'a str) -> Routed<'a> {
    let v = raw.trim();
    if v.is_empty() {
        return Routed::Missing;
    }
    match spec.values {
        PartitionValues::IntegerRange { min, max } => match parse_integer(v) {
            Some(n) if (min..=max).contains(&n) => {
                if v.len() == raw.len()
                    && !v.starts_with('0')
                    && v.bytes().all(|b| b.is_ascii_digit())
                {
                    Routed::Value(std::borrow::Cow::Borrowed(v))
                } else {
                    Routed::Value(std::borrow::Cow::Owned(n.to_string()))
                }
            }
            Some(n) => Routed::Invalid(format!(
                "partition value {n} of {} out of range {min}..={max}",
                spec.column
            )),
            None => Routed::Invalid(format!(
                "unparsable partition value {v:?} in {} (expected an integer {min}..={max})",
                spec.column
            )),
        },
        PartitionValues::Text => {
            if is_key_safe(v) && v != spec.missing {
                Routed::Value(std::borrow::Cow::Borrowed(v))
            } else {
                Routed::Invalid(format!(
                    "partition value {v:?} in {} is not key-safe (A-Z a-z 0-9 - _ .)",
                    spec.column
                ))
            }
        }
    }
}

/// `"7"`, `"07"`, `"+7"`, `"7.0"`, `"7.00"` -> 7; anything else -> None.
fn parse_integer(v: &str) -> Option<i64> {
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let (int, frac) = v.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    int.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cd() -> PartitionSpec {
        PartitionSpec {
            column: "CD".into(),
            aliases: vec!["cd".into()],
            values: PartitionValues::IntegerRange { min: 1, max: 15 },
            geo: None,
            missing: "__missing__".into(),
            outside: None,
        }
    }

    fn check(raw: &str, expect: &str) {
        let got = match route(&cd(), raw) {
            Routed::Value(v) => v.into_owned(),
            Routed::Missing => "MISSING".into(),
            Routed::Invalid(r) => format!("INVALID: {r}"),
        };
        assert!(got.starts_with(expect), "{raw:?} -> {got}");
    }

    #[test]
    fn council_districts_normalise() {
        check("1", "1");
        check("15", "15");
        check("01", "1");
        check("1.0", "1");
        check(" 7 ", "7");
        check("", "MISSING");
        check("   ", "MISSING");
        check("0", "INVALID: partition value 0 of CD out of range");
        check("16", "INVALID");
        check("1.5", "INVALID: unparsable");
        check(
            "Monica Rodriguez",
            "INVALID: unparsable partition value \"Monica Rodriguez\"",
        );
    }

    #[test]
    fn text_values_must_be_key_safe() {
        let mut spec = cd();
        spec.values = PartitionValues::Text;
        assert_eq!(route(&spec, "90026"), Routed::Value("90026".into()));
        assert!(matches!(route(&spec, "VE,0"), Routed::Invalid(_)));
        assert!(matches!(route(&spec, "__missing__"), Routed::Invalid(_)));
    }
}
