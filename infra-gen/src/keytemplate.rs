//! Key templates: `raw/{dataset}/run={run_id}/cd={partition}/` parsed into literal and placeholder parts.
//!
//! The same parsed template drives the IAM resource ARNs (placeholders become `*`), the `s3:prefix`
//! condition of `s3:ListBucket`, the overlap check between prefixes, and the generated key builders.

use std::fmt;

/// The type of a placeholder's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderType {
    /// One path segment of text (no `/`, not empty, not `.` or `..`).
    Str,
    U16,
    U32,
    U64,
}

impl PlaceholderType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "str" => PlaceholderType::Str,
            "u16" => PlaceholderType::U16,
            "u32" => PlaceholderType::U32,
            "u64" => PlaceholderType::U64,
            _ => return None,
        })
    }
    /// The Rust type of a field holding this placeholder's value.
    pub fn rust_type(self) -> &'static str {
        match self {
            PlaceholderType::Str => "&'a str",
            PlaceholderType::U16 => "u16",
            PlaceholderType::U32 => "u32",
            PlaceholderType::U64 => "u64",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// `{name}`, `{name:u32}`, or `{name:u32:05}` (an integer zero-padded to `width` digits, so listed
    /// keys sort in numeric order).
    Placeholder {
        name: String,
        ty: PlaceholderType,
        width: usize,
    },
}

/// A parsed key template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    pub source: String,
    pub parts: Vec<Part>,
}

/// A syntax problem, with the 0-based character offset inside the template where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn err(offset: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        offset,
        message: message.into(),
    }
}

fn valid_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '=' | '-' | '_' | '.')
}

fn valid_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl KeyTemplate {
    /// Parse a prefix's key template. Rules: ends with `/`, does not start with `/`, no empty segment,
    /// literal text uses `[A-Za-z0-9/=._-]`, placeholders are `{snake_case}`, `{snake_case:type}` with
    /// type `str|u16|u32|u64`, or `{snake_case:u32:05}` (zero-padded), each name at most once, and two
    /// placeholders never touch.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.is_empty() {
            return Err(err(0, "empty key template"));
        }
        if !source.ends_with('/') {
            return Err(err(
                source.len().saturating_sub(1),
                "a key template must end with '/' (it names a folder of keys)",
            ));
        }
        Self::parse_body(source)
    }

    /// Parse an object name template declared under a prefix's `objects:` (`manifest.json`,
    /// `part-{part:u32:05}.parquet`, `{layer}/jobs/{job}.json`): the same syntax as a key template, but
    /// it names an object, so it must not end (or start) with `/`.
    pub fn parse_object(source: &str) -> Result<Self, TemplateError> {
        if source.is_empty() {
            return Err(err(0, "empty object name template"));
        }
        if source.ends_with('/') {
            return Err(err(
                source.len() - 1,
                "an object name template must not end with '/' (it names one object)",
            ));
        }
        Self::parse_body(source)
    }

    fn parse_body(source: &str) -> Result<Self, TemplateError> {
        if source.starts_with('/') {
            return Err(err(0, "a key template must not start with '/'"));
        }
        if let Some(i) = source.find("//") {
            return Err(err(i, "empty path segment ('//')"));
        }
        let chars: Vec<char> = source.chars().collect();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let mut names: Vec<String> = Vec::new();
        while i < chars.len() {
            let c = chars[i];
            match c {
                '{' => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '}' || c == '{' || c == '/');
                    let end = match close {
                        Some(off) if chars[i + 1 + off] == '}' => i + 1 + off,
                        _ => {
                            return Err(err(
                                i,
                                "unclosed '{': a placeholder looks like {name} or {name:u16}",
                            ));
                        }
                    };
                    let inner: String = chars[i + 1..end].iter().collect();
                    let mut fields = inner.splitn(3, ':');
                    let name = fields.next().unwrap_or_default().to_string();
                    let ty = match fields.next() {
                        None => PlaceholderType::Str,
                        Some(t) => match PlaceholderType::parse(t) {
                            Some(ty) => ty,
                            None => {
                                return Err(err(
                                    i,
                                    format!(
                                        "unknown placeholder type '{t}' in '{{{inner}}}' (known: str, u16, u32, u64)"
                                    ),
                                ));
                            }
                        },
                    };
                    let width = match fields.next() {
                        None => 0,
                        Some(w) => match (
                            ty,
                            w.strip_prefix('0').and_then(|d| d.parse::<usize>().ok()),
                        ) {
                            (PlaceholderType::Str, _) => {
                                return Err(err(
                                    i,
                                    format!(
                                        "'{{{inner}}}': only integer placeholders can be zero-padded"
                                    ),
                                ));
                            }
                            (_, Some(n)) if (1..=20).contains(&n) => n,
                            _ => {
                                return Err(err(
                                    i,
                                    format!(
                                        "'{{{inner}}}': a width looks like ':05' (zero, then 1 to 20 digits)"
                                    ),
                                ));
                            }
                        },
                    };
                    if !valid_ident(&name) {
                        return Err(err(
                            i,
                            format!(
                                "placeholder name '{name}' must be snake_case ([a-z][a-z0-9_]*)"
                            ),
                        ));
                    }
                    if names.contains(&name) {
                        return Err(err(i, format!("placeholder '{name}' appears twice")));
                    }
                    if lit.is_empty() && matches!(parts.last(), Some(Part::Placeholder { .. })) {
                        return Err(err(
                            i,
                            "two placeholders touch; separate them with literal text or '/'",
                        ));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    names.push(name.clone());
                    parts.push(Part::Placeholder { name, ty, width });
                    i = end + 1;
                }
                '}' => return Err(err(i, "'}' without a matching '{'")),
                c if valid_literal_char(c) => {
                    lit.push(c);
                    i += 1;
                }
                c => {
                    return Err(err(
                        i,
                        format!(
                            "character '{c}' is not allowed in a key (use letters, digits, / = . _ -)"
                        ),
                    ));
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(KeyTemplate {
            source: source.to_string(),
            parts,
        })
    }

    /// The literal text before the first placeholder, e.g. `raw/` for `raw/{dataset}/...`.
    pub fn static_head(&self) -> &str {
        match self.parts.first() {
            Some(Part::Lit(s)) => s,
            _ => "",
        }
    }

    /// The template with every placeholder replaced by `*`, for IAM resource ARNs.
    pub fn wildcard(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.as_str(),
                Part::Placeholder { .. } => "*",
            })
            .collect()
    }

    pub fn placeholders(&self) -> impl Iterator<Item = (&str, PlaceholderType)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Placeholder { name, ty, .. } => Some((name.as_str(), *ty)),
            Part::Lit(_) => None,
        })
    }

    /// When `text` starts with this template (placeholders filled with values of their type: one
    /// non-empty segment of text, digits for integers), the rest of `text` after it.
    pub fn match_prefix<'k>(&self, text: &'k str) -> Option<&'k str> {
        let mut rest = text;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Lit(l) => rest = rest.strip_prefix(l.as_str())?,
                Part::Placeholder { ty, .. } => {
                    let seg_end = rest.find('/').unwrap_or(rest.len());
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Lit(next)) => match next.split('/').next() {
                            Some(head) if !head.is_empty() => rest[..seg_end].find(head)?,
                            _ => seg_end,
                        },
                        _ => seg_end,
                    };
                    let value = &rest[..end];
                    let fits = match ty {
                        PlaceholderType::Str => !value.is_empty() && value != "." && value != "..",
                        _ => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
                    };
                    if !fits {
                        return None;
                    }
                    rest = &rest[end..];
                }
            }
        }
        Some(rest)
    }

    /// Whether `text` is exactly an instance of this template.
    pub fn matches(&self, text: &str) -> bool {
        self.match_prefix(text) == Some("")
    }

    /// Whether some object key could fall under both templates (so two writers could collide).
    /// Compared segment by segment; a segment with a placeholder matches any text that fits its
    /// literal head and tail. When one template runs out first, its folder contains the other's.
    pub fn overlaps(&self, other: &KeyTemplate) -> bool {
        let a = segments(&self.source);
        let b = segments(&other.source);
        a.iter()
            .zip(b.iter())
            .all(|(x, y)| segments_compatible(x, y))
    }
}

fn segments(source: &str) -> Vec<&str> {
    source.trim_end_matches('/').split('/').collect()
}

fn split_segment(seg: &str) -> Option<(&str, &str)> {
    let open = seg.find('{')?;
    let close = seg.rfind('}')?;
    Some((&seg[..open], &seg[close + 1..]))
}

fn segments_compatible(x: &str, y: &str) -> bool {
    match (split_segment(x), split_segment(y)) {
        (None, None) => x == y,
        (Some((head, tail)), None) => {
            y.len() > head.len() + tail.len() && y.starts_with(head) && y.ends_with(tail)
        }
        (None, Some((head, tail))) => {
            x.len() > head.len() + tail.len() && x.starts_with(head) && x.ends_with(tail)
        }
        (Some((h1, t1)), Some((h2, t2))) => {
            (h1.starts_with(h2) || h2.starts_with(h1)) && (t1.ends_with(t2) || t2.ends_with(t1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> KeyTemplate {
        KeyTemplate::parse(s).unwrap()
    }

    #[test]
    fn parses_hive_template() {
        let k = t("raw/{dataset}/run={run_id}/cd={partition}/");
        assert_eq!(k.wildcard(), "raw/*/run=*/cd=*/");
        assert_eq!(k.static_head(), "raw/");
        let names: Vec<_> = k.placeholders().map(|(n, _)| n).collect();
        assert_eq!(names, ["dataset", "run_id", "partition"]);
        assert_eq!(
            t("canonical/{dataset}/year={year:u16}/")
                .placeholders()
                .nth(1),
            Some(("year", PlaceholderType::U16))
        );
    }

    #[test]
    fn rejects_bad_syntax_with_offsets() {
        let cases = [
            ("raw/{dataset/", 4, "unclosed '{'"),
            ("raw/{}/", 4, "must be snake_case"),
            ("raw/{Bad-Name}/", 4, "must be snake_case"),
            ("raw/{x:float}/", 4, "unknown placeholder type 'float'"),
            ("raw/{a}{b}/", 7, "two placeholders touch"),
            ("raw/x}/", 5, "without a matching"),
            ("raw/{a}/{a}/", 8, "appears twice"),
            ("raw", 2, "must end with '/'"),
            ("/raw/", 0, "must not start with '/'"),
            ("raw//x/", 3, "empty path segment"),
            ("raw/a b/", 5, "not allowed"),
            ("raw/{n:str:05}/", 4, "only integer placeholders"),
            ("raw/{n:u32:5}/", 4, "a width looks like"),
        ];
        for (src, offset, msg) in cases {
            let e = KeyTemplate::parse(src).unwrap_err();
            assert_eq!(e.offset, offset, "{src}: {e}");
            assert!(e.message.contains(msg), "{src}: {e}");
        }
    }

    #[test]
    fn object_templates_name_one_object() {
        let o = KeyTemplate::parse_object("part-{part:u32:05}.parquet").unwrap();
        assert_eq!(
            o.parts[1],
            Part::Placeholder {
                name: "part".into(),
                ty: PlaceholderType::U32,
                width: 5
            }
        );
        assert_eq!(o.wildcard(), "part-*.parquet");
        assert!(KeyTemplate::parse_object("{layer}/jobs/{job}.json").is_ok());
        for (src, msg) in [
            ("dir/", "must not end with '/'"),
            ("/abs.json", "must not start"),
            ("", "empty object name"),
            ("a//b.json", "empty path segment"),
        ] {
            let e = KeyTemplate::parse_object(src).unwrap_err();
            assert!(e.message.contains(msg), "{src}: {e}");
        }
    }

    #[test]
    fn keys_match_their_templates() {
        let k = t("canonical/{dataset}/year={year:u16}/cd={partition}/");
        assert_eq!(
            k.match_prefix("canonical/la311/year=2017/cd=7/part-00000.parquet"),
            Some("part-00000.parquet")
        );
        assert_eq!(k.match_prefix("canonical/la311/year=x/cd=7/p"), None);
        assert_eq!(k.match_prefix("canonical/la311/cd=7/p"), None);
        let o = KeyTemplate::parse_object("part-{part:u32:05}.parquet").unwrap();
        assert!(o.matches("part-00000.parquet"));
        assert!(!o.matches("part-00000.parquet.tmp"));
        assert!(!o.matches("part-x.parquet"));
        let j = KeyTemplate::parse_object("layer={layer}/jobs/{job}.json").unwrap();
        assert!(j.matches("layer=transform/jobs/__missing__.json"));
        assert!(!j.matches("layer=transform/jobs/a/b.json"));
    }

    #[test]
    fn overlap_detection() {
        assert!(t("raw/{dataset}/").overlaps(&t("raw/la311/run=1/")));
        assert!(t("raw/").overlaps(&t("raw/{x}/")));
        assert!(t("cd={p}/").overlaps(&t("cd=3/")));
        assert!(!t("raw/").overlaps(&t("raw-csv/")));
        assert!(!t("raw/{d}/run={r}/").overlaps(&t("raw/{d}/batch={r}/")));
        assert!(!t("runs/{d}/").overlaps(&t("raw/{d}/")));
        assert!(!t("cd={p}/").overlaps(&t("cd=/")));
    }
}
