//! Source header names as the raw layer keeps them: every column gets a unique, non-empty name, and
//! every name that differs from the source's is reported (pure; `run::read_header` uses it).
//!
//! Rules, applied left to right:
//! - a UTF-8 byte order mark before the first name is dropped (not reported: it is not part of the name);
//! - an empty (or blank) name becomes [`INDEX_COLUMN`] in the first position (pandas `to_csv` writes
//!   its index there under an empty name) and `_column_<n>` elsewhere (`n` is the 1-based position);
//! - a name already used by an earlier column (compared trimmed and case-insensitively, as the
//!   harmonize mappings match names) becomes `<name>__<k>`, with `k` the occurrence (2 for the second
//!   `Name`, 3 for the third);
//! - a generated name that another column of the header already has takes the next free `k`
//!   (`Name__2` written in the source keeps its name; the second `Name` becomes `Name__3`).
//!
//! Nothing is dropped: the raw layer holds every column of the source under these names.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Name given to an unnamed first column (a pandas index).
pub const INDEX_COLUMN: &str = "_index";

/// Separator between a repeated name and its occurrence number (`Name__2`).
pub const DUPLICATE_SEPARATOR: &str = "__";

/// Why a column's raw name differs from its source name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderChangeKind {
    /// The source left the name empty.
    Unnamed,
    /// An earlier column has the same name.
    Duplicate,
}

/// A column the raw layer keeps under another name than the source header's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderChange {
    /// 1-based position in the source header.
    pub position: usize,
    /// The name as the source wrote it ("" when unnamed).
    pub source: String,
    /// The name in the raw layer (and the run manifest's `schema`).
    pub raw: String,
    pub kind: HeaderChangeKind,
    /// For a duplicate: the 1-based position of the first column of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<usize>,
}

impl std::fmt::Display for HeaderChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.first) {
            (HeaderChangeKind::Duplicate, Some(first)) => write!(
                f,
                "column {} {:?} repeats the name of column {first}: kept as {:?}",
                self.position, self.source, self.raw
            ),
            (HeaderChangeKind::Duplicate, None) => write!(
                f,
                "column {} {:?} repeats an earlier name: kept as {:?}",
                self.position, self.source, self.raw
            ),
            (HeaderChangeKind::Unnamed, _) => write!(
                f,
                "column {} has no name: kept as {:?}",
                self.position, self.raw
            ),
        }
    }
}

/// A header with unique, non-empty names and the names it changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub names: Vec<String>,
    pub changes: Vec<HeaderChange>,
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Unique, non-empty names for `source` (see the module doc). Idempotent: the names it returns come
/// back unchanged.
pub fn normalize<S: AsRef<str>>(source: &[S]) -> Header {
    let source: Vec<&str> = source
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.as_ref();
            if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                s
            }
        })
        .collect();
    // Every name the source writes: a generated name must not take one of them.
    let written: HashSet<String> = source
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| key(s))
        .collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut first_at: std::collections::HashMap<String, usize> = Default::default();
    let mut out = Header::default();
    let free = |name: &str, used: &HashSet<String>| {
        let k = key(name);
        !used.contains(&k) && !written.contains(&k)
    };
    for (i, s) in source.iter().enumerate() {
        let position = i + 1;
        let trimmed = s.trim();
        let name = if trimmed.is_empty() {
            let base = if i == 0 {
                INDEX_COLUMN.to_string()
            } else {
                format!("_column_{position}")
            };
            let mut name = base.clone();
            let mut k = 2;
            while !free(&name, &used) {
                name = format!("{base}{DUPLICATE_SEPARATOR}{k}");
                k += 1;
            }
            out.changes.push(HeaderChange {
                position,
                source: s.to_string(),
                raw: name.clone(),
                kind: HeaderChangeKind::Unnamed,
                first: None,
            });
            name
        } else if used.contains(&key(trimmed)) {
            let mut k = 2;
            let mut name = format!("{trimmed}{DUPLICATE_SEPARATOR}{k}");
            while !free(&name, &used) {
                k += 1;
                name = format!("{trimmed}{DUPLICATE_SEPARATOR}{k}");
            }
            out.changes.push(HeaderChange {
                position,
                source: s.to_string(),
                raw: name.clone(),
                kind: HeaderChangeKind::Duplicate,
                first: first_at.get(&key(trimmed)).copied(),
            });
            name
        } else {
            first_at.insert(key(trimmed), position);
            s.to_string()
        };
        used.insert(key(&name));
        out.names.push(name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &Header) -> Vec<&str> {
        h.names.iter().map(String::as_str).collect()
    }

    #[test]
    fn unique_names_are_kept_as_written() {
        let h = normalize(&["\u{feff}SRNumber", " CD", "cd_member"]);
        assert_eq!(names(&h), ["SRNumber", " CD", "cd_member"]);
        assert!(h.changes.is_empty());
    }

    #[test]
    fn a_repeated_name_gets_its_occurrence_number() {
        let h = normalize(&["Name", "CD", "name", "NAME"]);
        assert_eq!(names(&h), ["Name", "CD", "name__2", "NAME__3"]);
        assert_eq!(h.changes.len(), 2);
        assert_eq!(h.changes[0].kind, HeaderChangeKind::Duplicate);
        assert_eq!((h.changes[0].position, h.changes[0].first), (3, Some(1)));
        assert_eq!(
            h.changes[0].to_string(),
            "column 3 \"name\" repeats the name of column 1: kept as \"name__2\""
        );
    }

    #[test]
    fn a_generated_name_never_takes_a_written_one() {
        let h = normalize(&["Name", "Name", "Name__2", "_index", ""]);
        assert_eq!(
            names(&h),
            ["Name", "Name__3", "Name__2", "_index", "_column_5"]
        );
        let h = normalize(&["", "_index", "CD"]);
        assert_eq!(names(&h), ["_index__2", "_index", "CD"]);
    }

    #[test]
    fn unnamed_columns_get_the_index_name_first_and_their_position_elsewhere() {
        let h = normalize(&["", "CD", " ", "X"]);
        assert_eq!(names(&h), ["_index", "CD", "_column_3", "X"]);
        assert_eq!(
            h.changes.iter().map(|c| c.kind).collect::<Vec<_>>(),
            [HeaderChangeKind::Unnamed, HeaderChangeKind::Unnamed]
        );
    }

    #[test]
    fn normalizing_twice_changes_nothing_more() {
        let once = normalize(&["", "Name", "name", "", "Name__2"]);
        let twice = normalize(&once.names);
        assert_eq!(twice.names, once.names);
        assert!(twice.changes.is_empty());
    }
}
