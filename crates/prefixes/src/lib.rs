//! Typed S3 locations, generated from `prefixes.yaml` (see `generated.rs`; regenerate with
//! `cargo run -p infra-gen -- codegen`).
//!
//! Each function has a module (`prefixes::ingest`, `prefixes::process`, ...) exposing handles only for
//! the prefixes it is granted. A handle's access is part of its type: `write_key` exists only on
//! handles a function may write, so writing to a read-only prefix does not compile. A whole key is a
//! prefix's template plus one of the objects declared under it in prefixes.yaml (`objects:`), both with
//! their placeholders filled from typed values: no code outside this crate formats a key.
//!
//! Runtime libraries take the handles they need from their caller (the function crate passes its own
//! grants), as `Prefix<K, Read>`, `Prefix<K, Write>` or `Prefix<K, ReadWrite>`. A read-write grant converts
//! into either narrower one (`.into()`), a read-only grant into nothing else, so a library that writes
//! under a prefix its function may only read does not compile.
//!
//! ```
//! use prefixes::keys::{RawKey, raw};
//! let key = prefixes::ingest::raw()
//!     .write_key(&RawKey { dataset: "la311", run_id: "r1", partition: "7" }, &raw::Part { part: 0 })
//!     .unwrap();
//! assert_eq!(key.as_str(), "raw/la311/run=r1/cd=7/part-00000.parquet");
//! assert_eq!(key.bucket(), prefixes::buckets::DATA);
//! let (parts, object) = prefixes::process::raw().parse_object::<raw::Part>(key.as_str()).unwrap();
//! assert_eq!((parts.partition, object.part), ("7", 0));
//! ```

use std::fmt;
use std::marker::PhantomData;

#[rustfmt::skip]
mod generated;
pub use generated::*;

/// Access levels a handle can carry.
pub mod access {
    /// May read (get, list) under the prefix.
    #[derive(Debug, Clone, Copy)]
    pub enum Read {}
    /// May write (put) under the prefix.
    #[derive(Debug, Clone, Copy)]
    pub enum Write {}
    /// May read and write.
    #[derive(Debug, Clone, Copy)]
    pub enum ReadWrite {}
}

/// Access levels that allow reading.
pub trait CanRead {}
/// Access levels that allow writing.
pub trait CanWrite {}
impl CanRead for access::Read {}
impl CanRead for access::ReadWrite {}
impl CanWrite for access::Write {}
impl CanWrite for access::ReadWrite {}

/// A bucket: its manifest name and the environment variable holding its physical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub name: &'static str,
    pub env: &'static str,
}

/// A queue: its manifest name, the environment variables holding its URLs, and the settings the
/// local topology needs to behave like the deployed queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Queue {
    pub name: &'static str,
    pub env: &'static str,
    /// The variable holding the dead-letter queue's URL (set for the queue's consumer).
    pub dlq_env: Option<&'static str>,
    pub visibility_timeout_s: u32,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receives: Option<u32>,
    /// Independent worklist chains per layer.
    pub lanes: u32,
    /// Worklist layers in order (empty for plain queues).
    pub layers: &'static [&'static str],
}

/// An SSM parameter a function reads (a SecureString such as an API token): its manifest name, the
/// environment variable holding its physical name (`/<project>/<stage>/<feature>/<name>`, set by the
/// templates), and whether the function runs without it. The value is never in the environment: the
/// function fetches it with `ssm:GetParameter`, the one grant its role has on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Parameter {
    pub name: &'static str,
    pub env: &'static str,
    /// A missing parameter means "no value" rather than an error.
    pub optional: bool,
}

/// A required environment variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEnv(pub &'static str);

impl fmt::Display for MissingEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "environment variable {} is not set (the deployed templates set it; locally `civic` does)",
            self.0
        )
    }
}
impl std::error::Error for MissingEnv {}

/// A placeholder value or object name that cannot be part of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub placeholder: String,
    pub value: String,
    pub reason: &'static str,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value {:?} for {{{}}}: {}",
            self.value, self.placeholder, self.reason
        )
    }
}
impl std::error::Error for KeyError {}

/// A prefix's key template, implemented by the generated marker types in [`keys`].
pub trait KeySpec {
    /// The placeholder values.
    type Parts<'a>;
    const NAME: &'static str;
    const TEMPLATE: &'static str;
    /// The literal text before the first placeholder.
    const ROOT: &'static str;
    /// The folder key for these placeholder values (ends with `/`).
    fn render(parts: &Self::Parts<'_>) -> Result<String, KeyError>;
    /// The parts from their values in template order, as read back from a key (`None` when an integer
    /// placeholder does not hold an integer).
    fn from_values<'a>(values: &[&'a str]) -> Option<Self::Parts<'a>>;
}

/// An object declared under a prefix's `objects:`, implemented by the generated structs in
/// `keys::<prefix>` (`keys::runs::Manifest`, `keys::raw::Part { part }`).
pub trait ObjectName {
    /// The prefix the object lives under.
    type Prefix: KeySpec;
    const NAME: &'static str;
    /// The object name template, relative to the prefix (`layer-{layer}.json`).
    const TEMPLATE: &'static str;
    /// The object's name for these values.
    fn render(&self) -> Result<String, KeyError>;
}

/// An object name read back from a listed key.
pub trait ParseObject<'a>: ObjectName + Sized {
    /// The values of `name` when it matches this object's template.
    fn parse(name: &'a str) -> Option<Self>;
}

/// The values of a template's placeholders in `text`, when `text` starts with the template; and the
/// rest of `text`. A value is a non-empty run of text without `/`, ending at the next literal. Used by
/// the generated code.
pub fn match_template<'k>(template: &str, text: &'k str) -> Option<(Vec<&'k str>, &'k str)> {
    let mut values = Vec::new();
    let mut rest = text;
    let mut t = template;
    while !t.is_empty() {
        match t.find('{') {
            Some(0) => {
                let close = t.find('}')?;
                t = &t[close + 1..];
                let lit_end = t.find('{').unwrap_or(t.len());
                let next = &t[..lit_end];
                let seg_end = rest.find('/').unwrap_or(rest.len());
                let end = if next.is_empty() {
                    seg_end
                } else {
                    let first = next.split('/').next().unwrap_or("");
                    if first.is_empty() {
                        seg_end
                    } else {
                        rest[..seg_end].find(first)?
                    }
                };
                if end == 0 {
                    return None;
                }
                values.push(&rest[..end]);
                rest = &rest[end..];
            }
            Some(i) => {
                rest = rest.strip_prefix(&t[..i])?;
                t = &t[i..];
            }
            None => {
                rest = rest.strip_prefix(t)?;
                t = "";
            }
        }
    }
    Some((values, rest))
}

/// The text of `template` up to the segment holding its first placeholder that `values` does not fill,
/// the earlier placeholders filled in order (each checked with [`segment`]).
fn render_head(template: &str, values: &[&str]) -> Result<String, KeyError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut t = template;
    let mut values = values.iter();
    loop {
        match t.find('{') {
            None => {
                out.push_str(t);
                break;
            }
            Some(i) => {
                out.push_str(&t[..i]);
                let close = t.find('}').unwrap_or(t.len() - 1);
                let name = t[i + 1..close].split(':').next().unwrap_or("");
                match values.next() {
                    Some(v) => {
                        out.push_str(segment(name, v)?);
                        t = &t[close + 1..];
                    }
                    None => {
                        out.truncate(out.rfind('/').map_or(0, |s| s + 1));
                        break;
                    }
                }
            }
        }
    }
    if let Some(extra) = values.next() {
        return Err(KeyError {
            placeholder: "(extra value)".into(),
            value: (*extra).to_owned(),
            reason: "more values than the template has placeholders",
        });
    }
    Ok(out)
}

/// Check one placeholder value: a single, non-empty path segment. Used by the generated code.
pub fn segment<'v>(placeholder: &str, value: &'v str) -> Result<&'v str, KeyError> {
    let bad = |reason| {
        Err(KeyError {
            placeholder: placeholder.to_owned(),
            value: value.to_string(),
            reason,
        })
    };
    if value.is_empty() {
        return bad("empty");
    }
    if value == "." || value == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if value.contains('/') {
        return bad("contains '/': a placeholder fills one path segment");
    }
    if value.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    Ok(value)
}

fn object_name(name: &str) -> Result<&str, KeyError> {
    let bad = |reason| {
        Err(KeyError {
            placeholder: "name".into(),
            value: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.starts_with('/') || name.ends_with('/') {
        return bad("an object name is a relative path that does not start or end with '/'");
    }
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("empty, '.' or '..' path segment");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    Ok(name)
}

/// A full object key in a bucket, built only by a [`Prefix`] handle.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    bucket: Bucket,
    key: String,
}

impl ObjectKey {
    pub fn bucket(&self) -> Bucket {
        self.bucket
    }
    pub fn as_str(&self) -> &str {
        &self.key
    }
    pub fn into_string(self) -> String {
        self.key
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// A handle on one prefix, typed by its key spec `K` and the access `A` the component was granted.
pub struct Prefix<K, A> {
    bucket: Bucket,
    _spec: PhantomData<fn() -> (K, A)>,
}

impl<K, A> Clone for Prefix<K, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, A> Copy for Prefix<K, A> {}

impl<K: KeySpec, A> fmt::Debug for Prefix<K, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Prefix({} in {}: {})",
            K::NAME,
            self.bucket.name,
            K::TEMPLATE
        )
    }
}

impl<K: KeySpec, A> Prefix<K, A> {
    /// Only the generated grant functions (`prefixes::<function>::<prefix>()`) create handles.
    pub(crate) const fn new(bucket: Bucket) -> Self {
        Prefix {
            bucket,
            _spec: PhantomData,
        }
    }
    pub fn bucket(&self) -> Bucket {
        self.bucket
    }
    pub fn name(&self) -> &'static str {
        K::NAME
    }
    pub fn template(&self) -> &'static str {
        K::TEMPLATE
    }
    fn key<O: ObjectName<Prefix = K>>(
        &self,
        parts: &K::Parts<'_>,
        object: &O,
    ) -> Result<ObjectKey, KeyError> {
        let mut key = K::render(parts)?;
        key.push_str(object_name(&object.render()?)?);
        Ok(ObjectKey {
            bucket: self.bucket,
            key,
        })
    }
}

impl<K> From<Prefix<K, access::ReadWrite>> for Prefix<K, access::Read> {
    /// A read-write grant used only for reading.
    fn from(p: Prefix<K, access::ReadWrite>) -> Self {
        Prefix {
            bucket: p.bucket,
            _spec: PhantomData,
        }
    }
}

impl<K> From<Prefix<K, access::ReadWrite>> for Prefix<K, access::Write> {
    /// A read-write grant used only for writing.
    fn from(p: Prefix<K, access::ReadWrite>) -> Self {
        Prefix {
            bucket: p.bucket,
            _spec: PhantomData,
        }
    }
}

impl<K: KeySpec, A: CanRead> Prefix<K, A> {
    /// The key of an object to read, e.g. `raw/la311/run=r1/cd=7/part-00000.parquet`.
    pub fn read_key<O: ObjectName<Prefix = K>>(
        &self,
        parts: &K::Parts<'_>,
        object: &O,
    ) -> Result<ObjectKey, KeyError> {
        self.key(parts, object)
    }
    /// The folder to list for these placeholder values (ends with `/`).
    pub fn list_prefix(&self, parts: &K::Parts<'_>) -> Result<ObjectKey, KeyError> {
        Ok(ObjectKey {
            bucket: self.bucket,
            key: K::render(parts)?,
        })
    }
    /// The folder to list for the first placeholders of the template only (in template order), e.g.
    /// `canonical/la311/` for `["la311"]` of `canonical/{dataset}/year={year:u16}/cd={partition}/`:
    /// every key under it is then read back with [`Prefix::parse_key`] and filtered.
    pub fn list_head(&self, leading: &[&str]) -> Result<ObjectKey, KeyError> {
        Ok(ObjectKey {
            bucket: self.bucket,
            key: render_head(K::TEMPLATE, leading)?,
        })
    }
    /// The folder of object `O` under these placeholder values: its template up to the last `/`, the
    /// object's own placeholders there filled in order from `dir` (`["transform"]` for
    /// `layer={layer}/jobs/{job}.json` gives `.../layer=transform/jobs/`).
    pub fn list_dir<O: ObjectName<Prefix = K>>(
        &self,
        parts: &K::Parts<'_>,
        dir: &[&str],
    ) -> Result<ObjectKey, KeyError> {
        let folder = match O::TEMPLATE.rfind('/') {
            Some(i) => &O::TEMPLATE[..=i],
            None => "",
        };
        let mut key = K::render(parts)?;
        key.push_str(&render_head(folder, dir)?);
        Ok(ObjectKey {
            bucket: self.bucket,
            key,
        })
    }
    /// The literal folder every key of this prefix starts with, for listing across placeholder values.
    pub fn root(&self) -> ObjectKey {
        ObjectKey {
            bucket: self.bucket,
            key: K::ROOT.to_string(),
        }
    }
    /// The placeholder values of a key under this prefix and the object name after them.
    pub fn parse_key<'k>(&self, key: &'k str) -> Option<(K::Parts<'k>, &'k str)> {
        let (values, rest) = match_template(K::TEMPLATE, key)?;
        Some((K::from_values(&values)?, rest))
    }
    /// [`Prefix::parse_key`] for a key that names object `O`.
    pub fn parse_object<'k, O: ParseObject<'k, Prefix = K>>(
        &self,
        key: &'k str,
    ) -> Option<(K::Parts<'k>, O)> {
        let (parts, name) = self.parse_key(key)?;
        Some((parts, O::parse(name)?))
    }
}

impl<K: KeySpec, A: CanWrite> Prefix<K, A> {
    /// The key of an object to write.
    pub fn write_key<O: ObjectName<Prefix = K>>(
        &self,
        parts: &K::Parts<'_>,
        object: &O,
    ) -> Result<ObjectKey, KeyError> {
        self.key(parts, object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{CanonicalKey, RawKey, WorklistKey, canonical, raw, worklist};

    #[test]
    fn builds_hive_keys_from_typed_parts() {
        let k = process::canonical()
            .write_key(
                &CanonicalKey {
                    dataset: "la311",
                    year: 2017,
                    partition: "13",
                },
                &canonical::Part { part: 1 },
            )
            .unwrap();
        assert_eq!(
            k.as_str(),
            "canonical/la311/year=2017/cd=13/part-00001.parquet"
        );
        let dir = process::raw()
            .list_prefix(&RawKey {
                dataset: "la311",
                run_id: "r",
                partition: "1",
            })
            .unwrap();
        assert_eq!(dir.as_str(), "raw/la311/run=r/cd=1/");
        assert_eq!(process::raw().root().as_str(), "raw/");
        assert_eq!(
            process::canonical().list_head(&["la311"]).unwrap().as_str(),
            "canonical/la311/"
        );
        assert_eq!(
            process::canonical().list_head(&[]).unwrap().as_str(),
            "canonical/"
        );
    }

    #[test]
    fn keys_read_back_into_their_parts() {
        let p = process::canonical();
        let (parts, part) = p
            .parse_object::<canonical::Part>("canonical/la311/year=2017/cd=13/part-00042.parquet")
            .unwrap();
        assert_eq!(
            (parts.dataset, parts.year, parts.partition),
            ("la311", 2017, "13")
        );
        assert_eq!(part.part, 42);
        for other in [
            "canonical/la311/year=x/cd=13/part-00042.parquet",
            "canonical/la311/year=2017/cd=13/part-00042.json",
            "canonical/la311/year=2017/part-00042.parquet",
            "raw/la311/year=2017/cd=13/part-00042.parquet",
        ] {
            assert!(
                p.parse_object::<canonical::Part>(other).is_none(),
                "{other}"
            );
        }
        let w = process::worklist();
        let run = WorklistKey {
            dataset: "la311",
            run_id: "R1",
        };
        let key = w
            .write_key(
                &run,
                &worklist::JobRecord {
                    layer: "transform",
                    job: "__missing__",
                },
            )
            .unwrap();
        assert_eq!(
            key.as_str(),
            "worklist/la311/run=R1/layer=transform/jobs/__missing__.json"
        );
        let (_, rec) = w.parse_object::<worklist::JobRecord>(key.as_str()).unwrap();
        assert_eq!((rec.layer, rec.job), ("transform", "__missing__"));
        assert_eq!(
            w.list_dir::<worklist::JobRecord>(&run, &["transform"])
                .unwrap()
                .as_str(),
            "worklist/la311/run=R1/layer=transform/jobs/"
        );
        assert_eq!(
            w.list_dir::<worklist::DeadLetter>(&run, &[])
                .unwrap()
                .as_str(),
            "worklist/la311/run=R1/dlq/"
        );
        assert!(
            w.list_dir::<worklist::JobRecord>(&run, &["a", "b"])
                .is_err()
        );
    }

    #[test]
    fn read_write_grants_narrow_but_read_grants_do_not_widen() {
        let rw = process::canonical();
        let r: Prefix<keys::Canonical, access::Read> = rw.into();
        let w: Prefix<keys::Canonical, access::Write> = rw.into();
        assert_eq!(r.bucket(), w.bucket());
    }

    #[test]
    fn rejects_values_that_would_escape_their_segment() {
        let p = ingest::raw();
        for bad in ["", "..", "a/b", "x\ny"] {
            let e = p
                .write_key(
                    &RawKey {
                        dataset: "la311",
                        run_id: bad,
                        partition: "1",
                    },
                    &raw::Part { part: 0 },
                )
                .unwrap_err();
            assert_eq!(e.placeholder, "run_id", "{bad:?}");
        }
    }

    #[test]
    fn matcher_takes_values_up_to_the_next_literal() {
        assert_eq!(
            match_template("a/{x}/b={y}/", "a/1/b=2/rest.json"),
            Some((vec!["1", "2"], "rest.json"))
        );
        assert_eq!(match_template("a/{x}/", "a//"), None);
        assert_eq!(
            match_template("{e}.json", "abc.json"),
            Some((vec!["abc"], ""))
        );
        assert_eq!(match_template("{e}.json", "a/b.json"), None);
    }

    #[test]
    fn env_names_match_buckets() {
        assert_eq!(buckets::DATA.env, "CIVIC_BUCKET_DATA");
        assert!(ingest::ENV.contains(&"CIVIC_BUCKET_DATA"));
        assert!(ingest::ENV.contains(&queues::WORKLIST.env));
    }
}
