//! Typed S3 locations, generated from `prefixes.yaml` (see `generated.rs`; regenerate with
//! `cargo run -p infra-gen -- codegen`).
//!
//! Each function has a module (`prefixes::ingest`, `prefixes::process`, ...) exposing handles only for
//! the prefixes it is granted. A handle's access is part of its type: `write_key` exists only on
//! handles a function may write, so writing to a read-only prefix does not compile. Key builders fill
//! the template's placeholders; function code never concatenates key strings.
//!
//! ```
//! use prefixes::keys::RawKey;
//! let key = prefixes::ingest::raw()
//!     .write_key(&RawKey { dataset: "la311", run_id: "r1", partition: "7" }, "part-00000.parquet")
//!     .unwrap();
//! assert_eq!(key.as_str(), "raw/la311/run=r1/cd=7/part-00000.parquet");
//! assert_eq!(key.bucket(), prefixes::buckets::DATA);
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
    pub placeholder: &'static str,
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
}

/// Check one placeholder value: a single, non-empty path segment. Used by the generated code.
pub fn segment<'v>(placeholder: &'static str, value: &'v str) -> Result<&'v str, KeyError> {
    let bad = |reason| {
        Err(KeyError {
            placeholder,
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
            placeholder: "name",
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
    #[doc(hidden)]
    pub const fn new(bucket: Bucket) -> Self {
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
    fn key(&self, parts: &K::Parts<'_>, name: &str) -> Result<ObjectKey, KeyError> {
        let mut key = K::render(parts)?;
        key.push_str(object_name(name)?);
        Ok(ObjectKey {
            bucket: self.bucket,
            key,
        })
    }
}

impl<K: KeySpec, A: CanRead> Prefix<K, A> {
    /// The key of an object to read, e.g. `raw/la311/run=r1/cd=7/part-00000.parquet`.
    pub fn read_key(&self, parts: &K::Parts<'_>, name: &str) -> Result<ObjectKey, KeyError> {
        self.key(parts, name)
    }
    /// The folder to list for these placeholder values (ends with `/`).
    pub fn list_prefix(&self, parts: &K::Parts<'_>) -> Result<ObjectKey, KeyError> {
        Ok(ObjectKey {
            bucket: self.bucket,
            key: K::render(parts)?,
        })
    }
    /// The literal folder every key of this prefix starts with, for listing across placeholder values.
    pub fn root(&self) -> ObjectKey {
        ObjectKey {
            bucket: self.bucket,
            key: K::ROOT.to_string(),
        }
    }
}

impl<K: KeySpec, A: CanWrite> Prefix<K, A> {
    /// The key of an object to write.
    pub fn write_key(&self, parts: &K::Parts<'_>, name: &str) -> Result<ObjectKey, KeyError> {
        self.key(parts, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{CanonicalKey, RawKey};

    #[test]
    fn builds_hive_keys_from_typed_parts() {
        let k = process::canonical()
            .write_key(
                &CanonicalKey {
                    dataset: "la311",
                    year: 2017,
                    partition: "13",
                },
                "part-00001.parquet",
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
                    "f",
                )
                .unwrap_err();
            assert_eq!(e.placeholder, "run_id", "{bad:?}");
        }
        for bad in ["", "/abs", "dir/", "a//b", "../up"] {
            let e = p
                .write_key(
                    &RawKey {
                        dataset: "la311",
                        run_id: "r",
                        partition: "1",
                    },
                    bad,
                )
                .unwrap_err();
            assert_eq!(e.placeholder, "name", "{bad:?}");
        }
    }

    #[test]
    fn env_names_match_buckets() {
        assert_eq!(buckets::DATA.env, "CIVIC_BUCKET_DATA");
        assert!(ingest::ENV.contains(&"CIVIC_BUCKET_DATA"));
        assert!(ingest::ENV.contains(&queues::WORKLIST.env));
    }
}
