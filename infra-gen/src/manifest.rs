//! The manifest model: `prefixes.yaml` and `features/*/feature.yaml`, parsed once into typed structs.
//!
//! Every value a rule may complain about is `Spanned`, so diagnostics point at the exact line and column.
//! Loading does file I/O; [`parse_prefixes`] and [`parse_feature`] are pure and tested from string literals.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
pub use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Loc};

/// A YAML mapping whose keys are names, kept in file order with the location of each name.
#[derive(Debug, Clone)]
pub struct NamedMap<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        NamedMap(Vec::new())
    }
}

impl<T> NamedMap<T> {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(k, v)| (k.value.as_str(), v))
    }
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k.value == name).map(|(_, v)| v)
    }
    pub fn names(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = NamedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping from names to entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, T>()? {
                    out.push((k, v));
                }
                Ok(NamedMap(out))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// `prefixes.yaml`: project, stages, buckets and their prefixes with grants.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixesDoc {
    pub project: Spanned<String>,
    #[serde(default)]
    pub stages: NamedMap<StageDoc>,
    pub buckets: NamedMap<BucketDoc>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDoc {
    /// The account's Lambda memory ceiling for this stage (default 3008 MB).
    pub memory_cap_mb: Option<Spanned<u32>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketDoc {
    /// The feature whose stack creates this bucket.
    pub owner: Spanned<String>,
    /// Keep the bucket (and its data) when the stack is deleted or the bucket replaced.
    #[serde(default)]
    pub retain: bool,
    #[serde(default)]
    pub description: Option<String>,
    pub prefixes: NamedMap<PrefixDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixDoc {
    pub key: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The objects stored under the prefix: a name (`manifest`, `layer-report`) and an object name
    /// template relative to the prefix (`manifest.json`, `layer-{layer}.json`). Code builds every key
    /// from these; an object not declared here cannot be written.
    #[serde(default)]
    pub objects: NamedMap<Spanned<String>>,
    #[serde(default)]
    pub readers: Vec<Spanned<String>>,
    #[serde(default)]
    pub writers: Vec<Spanned<String>>,
}

/// `features/<feature>/feature.yaml`: functions, queues and dependencies of one feature.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureDoc {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    #[serde(default)]
    pub queues: NamedMap<QueueDoc>,
    #[serde(default)]
    pub functions: NamedMap<FunctionDoc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueDoc {
    pub visibility_timeout_s: Spanned<u32>,
    /// Message retention in days (1 to 14, default 4).
    #[serde(default)]
    pub retention_days: Option<Spanned<u32>>,
    #[serde(default)]
    pub dlq: Option<DlqDoc>,
    /// Independent worklist chains a run's jobs are split into (default 1).
    #[serde(default)]
    pub lanes: Option<Spanned<u32>>,
    /// Worklist layers in order, for queues that carry a recursive worklist.
    #[serde(default)]
    pub layers: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlqDoc {
    /// Receives before a message moves to the dead-letter queue.
    pub max_receives: Spanned<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    #[default]
    Arm64,
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    pub fn as_cfn(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDoc {
    /// The crate under `functions/` that builds this function (default: the function's name).
    #[serde(default, rename = "crate")]
    pub crate_name: Option<Spanned<String>>,
    pub memory_mb: Spanned<u32>,
    pub timeout_s: Spanned<u32>,
    #[serde(default)]
    pub architecture: Architecture,
    /// Reserved concurrency: an upper bound on parallel invocations (default 1).
    #[serde(default)]
    pub concurrency: Option<Spanned<u32>>,
    #[serde(default)]
    pub log_retention_days: Option<Spanned<u32>>,
    /// Opts out of AWS's recursive-loop stop; the function must carry its own hop guard.
    #[serde(default)]
    pub recursive: Option<Spanned<bool>>,
    /// The function may invoke itself (asynchronously) to continue work that outgrows one
    /// invocation's timeout: it is granted `lambda:InvokeFunction` on its own ARN only, and opts out
    /// of the recursive-loop stop (its checkpoint counts the segments and caps them).
    #[serde(default)]
    pub continues: Option<Spanned<bool>>,
    #[serde(default)]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub sends_to: Vec<Spanned<String>>,
    /// SSM parameters the function reads (SecureString secrets such as an API token). The template
    /// grants `ssm:GetParameter` on each and passes its NAME in an env var; it never creates one.
    #[serde(default)]
    pub parameters: NamedMap<ParameterDoc>,
}

/// An SSM parameter a function reads; its physical name is `/<project>/<stage>/<feature>/<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterDoc {
    /// What the parameter holds (and where an operator gets the value).
    #[serde(default)]
    pub description: Option<String>,
    /// The function runs without it: a missing parameter means "no value", not an error.
    #[serde(default)]
    pub optional: Option<Spanned<bool>>,
}

impl ParameterDoc {
    pub fn is_optional(&self) -> bool {
        self.optional.as_ref().is_some_and(|o| o.value)
    }
}

impl FunctionDoc {
    pub fn is_recursive(&self) -> bool {
        self.recursive.as_ref().is_some_and(|r| r.value)
    }

    pub fn is_continuing(&self) -> bool {
        self.continues.as_ref().is_some_and(|c| c.value)
    }
}

/// What invokes a function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Trigger {
    /// An SQS queue of this feature, through an event source mapping with partial batch responses.
    Queue(QueueTrigger),
    /// An HTTPS endpoint (Lambda function URL).
    Http(HttpTrigger),
    /// An EventBridge schedule.
    Schedule(ScheduleTrigger),
    /// Several EventBridge schedules by name (one rule each), e.g. one per dataset with its own input.
    Schedules(NamedMap<ScheduleTrigger>),
    /// Objects created under a prefix (through EventBridge notifications of the bucket).
    S3(S3Trigger),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueTrigger {
    pub name: Spanned<String>,
    #[serde(default)]
    pub batch_size: Option<Spanned<u32>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpAuth {
    /// SigV4-signed requests only (AWS_IAM).
    Iam,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    pub auth: HttpAuth,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    pub expression: Spanned<String>,
    /// JSON text passed as the event.
    #[serde(default)]
    pub input: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Trigger {
    pub prefix: Spanned<String>,
}

/// One feature manifest with the file it came from.
#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub file: PathBuf,
    pub doc: FeatureDoc,
}

/// Everything infra-gen knows, parsed once. Emitters and the validator read only this.
#[derive(Debug, Clone)]
pub struct Manifests {
    pub prefixes_file: PathBuf,
    pub prefixes: PrefixesDoc,
    /// Features sorted by name.
    pub features: Vec<Feature>,
}

fn yaml_error(file: &Path, err: &serde_saphyr::Error) -> Diagnostic {
    let (line, col) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((1, 1));
    // serde-saphyr renders a snippet; keep its first line as the message.
    let text = err.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    Diagnostic::new(Loc::new(file, line, col), first)
        .hint("see the comments at the top of prefixes.yaml and the existing features/*/feature.yaml for the accepted keys")
}

/// Parse `prefixes.yaml` text. `file` is only used to label diagnostics.
pub fn parse_prefixes(file: &Path, text: &str) -> Result<PrefixesDoc, Diagnostic> {
    serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))
}

/// Parse one `feature.yaml` text.
pub fn parse_feature(file: &Path, text: &str) -> Result<FeatureDoc, Diagnostic> {
    serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e))
}

/// Read `prefixes.yaml` and every `features/*/feature.yaml` under `root`. Paths in diagnostics are
/// relative to `root` as given. Reports every file's parse error, not just the first.
pub fn load(root: &Path) -> Result<Manifests, Diagnostics> {
    let mut diags = Diagnostics::default();
    let prefixes_file = root.join("prefixes.yaml");
    let prefixes = match std::fs::read_to_string(&prefixes_file) {
        Ok(text) => parse_prefixes(&prefixes_file, &text)
            .map_err(|d| diags.push(d))
            .ok(),
        Err(e) => {
            diags.push(
                Diagnostic::new(Loc::new(&prefixes_file, 1, 1), format!("cannot read: {e}")).hint(
                    "pass --root DIR naming the folder that holds prefixes.yaml and features/",
                ),
            );
            None
        }
    };
    let features_dir = root.join("features");
    let mut feature_dirs: Vec<PathBuf> = match std::fs::read_dir(&features_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            diags.push(Diagnostic::new(
                Loc::new(&features_dir, 1, 1),
                format!("cannot read the features folder: {e}"),
            ));
            Vec::new()
        }
    };
    feature_dirs.sort();
    let mut features = Vec::new();
    for dir in feature_dirs {
        let file = dir.join("feature.yaml");
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match std::fs::read_to_string(&file) {
            Ok(text) => match parse_feature(&file, &text) {
                Ok(doc) => features.push(Feature { name, file, doc }),
                Err(d) => diags.push(d),
            },
            Err(e) => diags.push(
                Diagnostic::new(
                    Loc::new(&file, 1, 1),
                    format!("cannot read feature manifest: {e}"),
                )
                .hint("every folder under features/ holds one feature.yaml"),
            ),
        }
    }
    match prefixes {
        Some(prefixes) if diags.is_empty() => Ok(Manifests {
            prefixes_file,
            prefixes,
            features,
        }),
        _ => Err(diags.sorted()),
    }
}

/// The location of a spanned value in `file`.
pub fn loc<T>(file: &Path, s: &Spanned<T>) -> Loc {
    Loc::new(file, s.referenced.line(), s.referenced.column())
}

/// Build the model from texts, labelled `prefixes.yaml` and `features/<name>/feature.yaml`.
/// Pure; used by tests and by tools that hold manifests in memory.
pub fn from_texts(prefixes: &str, features: &[(&str, &str)]) -> Result<Manifests, Diagnostics> {
    let mut diags = Diagnostics::default();
    let prefixes_file = PathBuf::from("prefixes.yaml");
    let parsed = parse_prefixes(&prefixes_file, prefixes)
        .map_err(|d| diags.push(d))
        .ok();
    let mut out = Vec::new();
    let mut sorted: Vec<&(&str, &str)> = features.iter().collect();
    sorted.sort_by_key(|(n, _)| *n);
    for (name, text) in sorted {
        let file = PathBuf::from(format!("features/{name}/feature.yaml"));
        match parse_feature(&file, text) {
            Ok(doc) => out.push(Feature {
                name: name.to_string(),
                file,
                doc,
            }),
            Err(d) => diags.push(d),
        }
    }
    match parsed {
        Some(prefixes) if diags.is_empty() => Ok(Manifests {
            prefixes_file,
            prefixes,
            features: out,
        }),
        _ => Err(diags.sorted()),
    }
}
