//! Lookups over the parsed manifests: functions, queues and prefixes by name, and each function's grants.
//!
//! This is the one place that answers "who may read/write what"; IAM, env vars, codegen and the local
//! topology all ask it, so they cannot disagree.

use std::collections::BTreeMap;
use std::path::Path;

use crate::keytemplate::KeyTemplate;
use crate::manifest::{
    BucketDoc, Feature, FunctionDoc, Manifests, ParameterDoc, PrefixDoc, QueueDoc, Trigger,
};

/// Default Lambda memory ceiling of an account, in MB.
pub const DEFAULT_MEMORY_CAP_MB: u32 = 3008;
/// Default retention of function log groups, in days.
pub const DEFAULT_LOG_RETENTION_DAYS: u32 = 30;
/// Default message retention of queues, in days.
pub const DEFAULT_QUEUE_RETENTION_DAYS: u32 = 4;
/// Retention of dead-letter queues: the SQS maximum, 14 days.
pub const DLQ_RETENTION_S: u32 = 14 * 24 * 3600;
/// The SQS maximum message size (1 MiB).
pub const MAX_MESSAGE_SIZE: u32 = 1_048_576;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    pub fn reads(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }
    pub fn writes(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FunctionRef<'m> {
    pub name: &'m str,
    pub feature: &'m Feature,
    pub doc: &'m FunctionDoc,
}

#[derive(Debug, Clone, Copy)]
pub struct QueueRef<'m> {
    pub name: &'m str,
    pub feature: &'m Feature,
    pub doc: &'m QueueDoc,
}

#[derive(Debug, Clone, Copy)]
pub struct PrefixRef<'m> {
    pub name: &'m str,
    pub bucket: &'m str,
    pub bucket_doc: &'m BucketDoc,
    pub doc: &'m PrefixDoc,
}

impl PrefixRef<'_> {
    /// The parsed key template. Only call on validated manifests.
    pub fn template(&self) -> KeyTemplate {
        KeyTemplate::parse(&self.doc.key.value).expect("key templates are validated before use")
    }
}

/// What an environment variable of a function carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Stage,
    BucketName(String),
    QueueUrl(String),
    DlqUrl(String),
}

/// One environment variable of a function: the templates set it, the generated crate names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: EnvValue,
}

/// An SSM parameter a function reads: declared under the function, named after its feature.
///
/// Kept apart from [`EnvVar`]: its variable carries the parameter's NAME, and what that name resolves
/// to is a secret that only exists in the cloud, so each reader (templates, codegen, local topology)
/// decides on its own what to do with it.
#[derive(Debug, Clone)]
pub struct ParameterRef<'m> {
    pub name: &'m str,
    /// The feature declaring it (part of the physical name).
    pub feature: &'m str,
    pub doc: &'m ParameterDoc,
    /// The environment variable that carries the parameter's physical name.
    pub env: String,
}

/// One grant of a prefix to a function.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'m> {
    pub prefix: PrefixRef<'m>,
    pub access: Access,
}

impl Manifests {
    pub fn project(&self) -> &str {
        &self.prefixes.project.value
    }

    pub fn prefixes_path(&self) -> &Path {
        &self.prefixes_file
    }

    pub fn stage_names(&self) -> Vec<&str> {
        self.prefixes.stages.iter().map(|(n, _)| n).collect()
    }

    pub fn memory_cap(&self, stage: &str) -> u32 {
        self.prefixes
            .stages
            .get(stage)
            .and_then(|s| s.memory_cap_mb.as_ref())
            .map_or(DEFAULT_MEMORY_CAP_MB, |c| c.value)
    }

    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    pub fn functions(&self) -> impl Iterator<Item = FunctionRef<'_>> {
        self.features.iter().flat_map(|feature| {
            feature
                .doc
                .functions
                .iter()
                .map(move |(name, doc)| FunctionRef { name, feature, doc })
        })
    }

    pub fn function(&self, name: &str) -> Option<FunctionRef<'_>> {
        self.functions().find(|f| f.name == name)
    }

    pub fn queues(&self) -> impl Iterator<Item = QueueRef<'_>> {
        self.features.iter().flat_map(|feature| {
            feature
                .doc
                .queues
                .iter()
                .map(move |(name, doc)| QueueRef { name, feature, doc })
        })
    }

    pub fn queue(&self, name: &str) -> Option<QueueRef<'_>> {
        self.queues().find(|q| q.name == name)
    }

    pub fn prefixes(&self) -> impl Iterator<Item = PrefixRef<'_>> {
        self.prefixes
            .buckets
            .iter()
            .flat_map(|(bucket, bucket_doc)| {
                bucket_doc
                    .prefixes
                    .iter()
                    .map(move |(name, doc)| PrefixRef {
                        name,
                        bucket,
                        bucket_doc,
                        doc,
                    })
            })
    }

    pub fn prefix(&self, name: &str) -> Option<PrefixRef<'_>> {
        self.prefixes().find(|p| p.name == name)
    }

    /// Every prefix a function may use, in prefixes.yaml order, with its access.
    pub fn grants(&self, function: &str) -> Vec<Grant<'_>> {
        self.prefixes()
            .filter_map(|prefix| {
                let r = prefix.doc.readers.iter().any(|n| n.value == function);
                let w = prefix.doc.writers.iter().any(|n| n.value == function);
                let access = match (r, w) {
                    (true, true) => Access::ReadWrite,
                    (true, false) => Access::Read,
                    (false, true) => Access::Write,
                    (false, false) => return None,
                };
                Some(Grant { prefix, access })
            })
            .collect()
    }

    /// Buckets a function has any grant on, in prefixes.yaml order.
    pub fn buckets_of(&self, function: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for g in self.grants(function) {
            if !out.contains(&g.prefix.bucket) {
                out.push(g.prefix.bucket);
            }
        }
        out
    }

    /// The queues a function reads from (its trigger) and sends to, deduplicated, trigger first.
    pub fn queues_of<'f>(&self, function: &'f FunctionDoc) -> Vec<&'f str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(Trigger::Queue(q)) = &function.trigger {
            out.push(&q.name.value);
        }
        for s in &function.sends_to {
            if !out.contains(&s.value.as_str()) {
                out.push(&s.value);
            }
        }
        out
    }

    /// Every environment variable of a function, in a stable order: stage, bucket names, queue URLs,
    /// and the dead-letter queue URL of its trigger queue (the consumer dead-letters refused messages).
    pub fn env_vars(&self, function: &str, doc: &FunctionDoc) -> Vec<EnvVar> {
        use crate::naming::{env_bucket, env_dlq_url, env_queue_url, env_stage};
        let p = self.project();
        let mut out = vec![EnvVar {
            name: env_stage(p),
            value: EnvValue::Stage,
        }];
        for b in self.buckets_of(function) {
            out.push(EnvVar {
                name: env_bucket(p, b),
                value: EnvValue::BucketName(b.to_string()),
            });
        }
        for q in self.queues_of(doc) {
            out.push(EnvVar {
                name: env_queue_url(p, q),
                value: EnvValue::QueueUrl(q.to_string()),
            });
        }
        if let Some(Trigger::Queue(t)) = &doc.trigger
            && self
                .queue(&t.name.value)
                .is_some_and(|q| q.doc.dlq.is_some())
        {
            out.push(EnvVar {
                name: env_dlq_url(p, &t.name.value),
                value: EnvValue::DlqUrl(t.name.value.clone()),
            });
        }
        out
    }

    /// The SSM parameters a function reads, in manifest order.
    pub fn parameters_of(&self, function: &str) -> Vec<ParameterRef<'_>> {
        let Some(f) = self.function(function) else {
            return Vec::new();
        };
        f.doc
            .parameters
            .iter()
            .map(|(name, doc)| ParameterRef {
                name,
                feature: &f.feature.name,
                doc,
                env: crate::naming::env_parameter(self.project(), name),
            })
            .collect()
    }

    /// The function consuming a queue, if any.
    pub fn consumer_of(&self, queue: &str) -> Option<FunctionRef<'_>> {
        self.functions()
            .find(|f| matches!(&f.doc.trigger, Some(Trigger::Queue(q)) if q.name.value == queue))
    }

    /// Features in dependency order (dependencies first, ties by name). Only call on validated manifests.
    pub fn deploy_order(&self) -> Vec<&Feature> {
        let mut done: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        let deps: BTreeMap<&str, Vec<&str>> = self
            .features
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.doc.depends_on.iter().map(|d| d.value.as_str()).collect(),
                )
            })
            .collect();
        while out.len() < self.features.len() {
            let before = out.len();
            for f in &self.features {
                if !done.contains(&f.name.as_str())
                    && deps[f.name.as_str()].iter().all(|d| done.contains(d))
                {
                    done.push(&f.name);
                    out.push(f);
                }
            }
            assert!(
                out.len() > before,
                "dependency cycle in validated manifests"
            );
        }
        out
    }
}
