//! The local topology, read from the same manifests infra-gen turns into CloudFormation: every bucket a folder
//! of the local store (`<store>/<bucket>`, reached by its physical name), every queue an embedded queue with the
//! declared visibility and DLQ redrive (reached by its URL), and each function's environment exactly as its
//! template sets it (names and values from the same model, with local stand-ins for the account and region;
//! SSM parameters are not set: there is no SSM locally, and the functions fall back as they do without one).
//! The recursive worklist function's queue settings (visibility, max receives, lanes, layers, batch size) drive
//! the local event source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use infra_gen::manifest::{Manifests, Trigger};
use infra_gen::model::EnvValue;
use infra_gen::naming::Names;
use worklist::EmbeddedQueue;
use worklist::queue::embedded::Redrive;

/// The stage local runs use in physical names.
pub const LOCAL_STAGE: &str = "local";
/// Stand-ins for the pseudo parameters CloudFormation fills in.
const LOCAL_ACCOUNT: &str = "000000000000";
const LOCAL_REGION: &str = "local";
const LOCAL_URL_SUFFIX: &str = "localhost";

/// The worklist queue as the deployed stack declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorklistQueue {
    /// Feature that owns the queue and the function.
    pub feature: String,
    /// Queue name in the feature manifest.
    pub queue: String,
    /// The recursive function the queue triggers.
    pub function: String,
    /// SQS visibility timeout.
    pub visibility: Duration,
    /// Receives before the DLQ redrive (None: no DLQ declared).
    pub max_receives: Option<u32>,
    /// Independent chains per layer.
    pub lanes: u32,
    /// Worklist layers, in order.
    pub layers: Vec<String>,
    /// Records per invocation of the event source.
    pub batch_size: u32,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/manifests.rs"));
}

/// The repository root holding `prefixes.yaml` and `features/`: the working directory or one of its ancestors;
/// an empty path when there is none, which means the manifests built into this binary.
pub fn repo_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("prefixes.yaml").is_file() && dir.join("features").is_dir() {
                return dir.to_owned();
            }
        }
    }
    PathBuf::new()
}

/// How `root` is named in messages.
fn shown(root: &Path) -> String {
    if root.as_os_str().is_empty() {
        "the manifests built into civic".to_owned()
    } else {
        format!("the manifests under {}", root.display())
    }
}

/// Load and validate the manifests under `root` (the built-in ones for an empty path).
fn load(root: &Path) -> anyhow::Result<Manifests> {
    let loaded = if root.as_os_str().is_empty() {
        infra_gen::manifest::from_texts(embedded::PREFIXES, embedded::FEATURES).and_then(|m| {
            infra_gen::validate::validate(&m)?;
            Ok(m)
        })
    } else {
        infra_gen::load_valid(root)
    };
    loaded
        .map_err(|d| anyhow::anyhow!("{d}"))
        .with_context(|| format!("loading {}", shown(root)))
}

/// The recursive worklist function's queue.
fn worklist_queue_of(manifests: &Manifests) -> anyhow::Result<WorklistQueue> {
    for feature in &manifests.features {
        for (name, function) in feature.doc.functions.iter() {
            let Some(Trigger::Queue(trigger)) = &function.trigger else {
                continue;
            };
            if !function.is_recursive() {
                continue;
            }
            let queue_name = trigger.name.value.clone();
            let Some(queue) = feature.doc.queues.get(&queue_name) else {
                bail!(
                    "{}: function {name} is triggered by queue {queue_name}, which the feature does not declare",
                    feature.file.display()
                );
            };
            if queue.layers.is_empty() {
                bail!(
                    "{}: queue {queue_name} of the recursive function {name} declares no layers",
                    feature.file.display()
                );
            }
            return Ok(WorklistQueue {
                feature: feature.name.clone(),
                queue: queue_name,
                function: name.to_owned(),
                visibility: Duration::from_secs(queue.visibility_timeout_s.value.into()),
                max_receives: queue.dlq.as_ref().map(|d| d.max_receives.value),
                lanes: queue.lanes.as_ref().map_or(1, |l| l.value),
                layers: queue.layers.iter().map(|l| l.value.clone()).collect(),
                batch_size: trigger.batch_size.as_ref().map_or(1, |b| b.value),
            });
        }
    }
    bail!("no feature declares a recursive, queue-triggered function (the worklist consumer)")
}

/// How to build the topology beyond the manifests and the store.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Values of SSM parameters by their manifest name (e.g. `socrata-app-token`): each function declaring one gets
    /// its variable and the platform answers its physical name with the value.
    pub parameters: BTreeMap<String, String>,
    /// Record every write through the functions' buckets ([`platform::Local::with_write_log`]).
    pub write_log: bool,
}

/// The deployed topology on this machine.
pub struct Topology {
    /// The worklist queue's settings.
    pub worklist: WorklistQueue,
    shared: platform::Local,
    envs: BTreeMap<String, Vec<(String, String)>>,
    /// Manifest queue name -> (queue, its DLQ).
    queues: BTreeMap<String, (Arc<EmbeddedQueue>, Option<Arc<EmbeddedQueue>>)>,
}

impl Topology {
    /// Read the manifests under `root`; buckets become folders of `store`; no parameter is set.
    pub fn load(root: &Path, store: &Path) -> anyhow::Result<Topology> {
        Self::load_with(root, store, &Settings::default())
    }

    /// [`Topology::load`] with parameter values and the write log.
    pub fn load_with(root: &Path, store: &Path, settings: &Settings) -> anyhow::Result<Topology> {
        let m = load(root)?;
        let names = Names::new(m.project(), LOCAL_STAGE);
        let fill = |s: String| {
            s.replace("${AWS::AccountId}", LOCAL_ACCOUNT)
                .replace("${AWS::Region}", LOCAL_REGION)
                .replace("${AWS::URLSuffix}", LOCAL_URL_SUFFIX)
        };
        let mut shared = platform::Local::new();
        if settings.write_log {
            shared.with_write_log();
        }
        for (bucket, _) in m.prefixes.buckets.iter() {
            shared.map_bucket(&fill(names.bucket_sub(bucket)), store.join(bucket));
        }
        let mut queues = BTreeMap::new();
        for q in m.queues() {
            let clock = Arc::new(worklist::clock::SystemClock);
            let dlq = q.doc.dlq.as_ref().map(|_| {
                let dlq = Arc::new(EmbeddedQueue::new(&names.dlq(q.name)));
                shared.map_queue(&fill(names.dlq_url_sub(q.name)), dlq.clone());
                dlq
            });
            let redrive = q.doc.dlq.as_ref().zip(dlq.clone()).map(|(d, dlq)| Redrive {
                dlq,
                max_receives: d.max_receives.value,
            });
            let queue = Arc::new(EmbeddedQueue::with_clock(
                &names.queue(q.name),
                clock,
                redrive,
            ));
            shared.map_queue(&fill(names.queue_url_sub(q.name)), queue.clone());
            queues.insert(q.name.to_owned(), (queue, dlq));
        }
        let mut envs = BTreeMap::new();
        for f in m.functions() {
            let mut env: Vec<(String, String)> = m
                .env_vars(f.name, f.doc)
                .into_iter()
                .map(|v| {
                    let value = match &v.value {
                        EnvValue::Stage => LOCAL_STAGE.to_owned(),
                        EnvValue::BucketName(b) => fill(names.bucket_sub(b)),
                        EnvValue::QueueUrl(q) => fill(names.queue_url_sub(q)),
                        EnvValue::DlqUrl(q) => fill(names.dlq_url_sub(q)),
                    };
                    (v.name, value)
                })
                .collect();
            for p in m.parameters_of(f.name) {
                if let Some(value) = settings.parameters.get(p.name) {
                    let physical = names.parameter(p.feature, p.name);
                    shared.set_parameter(&physical, value.clone());
                    env.push((p.env, physical));
                }
            }
            env.push((platform::ENV_FUNCTION_NAME.into(), names.function(f.name)));
            env.push((
                platform::ENV_FUNCTION_MEMORY_MB.into(),
                f.doc.memory_mb.value.to_string(),
            ));
            envs.insert(f.name.to_owned(), env);
        }
        Ok(Topology {
            worklist: worklist_queue_of(&m).with_context(|| format!("in {}", shown(root)))?,
            shared,
            envs,
            queues,
        })
    }

    /// The platform `function` runs on: its own environment over the shared buckets and queues.
    pub fn platform(&self, function: &str) -> anyhow::Result<platform::Local> {
        let env = self.envs.get(function).with_context(|| {
            format!(
                "no function {function} in the manifests (known: {})",
                self.envs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(self.shared.for_function(function, env.iter().cloned()))
    }

    /// Every object written through the functions' buckets so far (empty unless [`Settings::write_log`]).
    pub fn writes(&self) -> Vec<platform::Write> {
        self.shared.writes()
    }

    /// The worklist queue and its DLQ (the recursive consumer's queue always declares one).
    pub fn worklist_queues(&self) -> (Arc<EmbeddedQueue>, Arc<EmbeddedQueue>) {
        let (queue, dlq) = &self.queues[&self.worklist.queue];
        let dlq = dlq
            .clone()
            .expect("validation requires a DLQ on the recursive consumer's queue");
        (queue.clone(), dlq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_manifests_are_the_repositorys() {
        let tmp = tempfile::tempdir().unwrap();
        let root = repo_root();
        assert!(
            root.join("prefixes.yaml").is_file(),
            "tests run inside the checkout"
        );
        let on_disk = Topology::load(&root, tmp.path()).unwrap();
        let built_in = Topology::load(Path::new(""), tmp.path()).unwrap();
        assert_eq!(built_in.worklist, on_disk.worklist);
        for function in ["ingest", "process", "ledger-api"] {
            assert_eq!(
                built_in.envs.get(function),
                on_disk.envs.get(function),
                "{function}"
            );
            assert!(built_in.envs.contains_key(function), "{function}");
        }
    }

    #[test]
    fn the_repository_manifests_declare_the_worklist_queue() {
        let tmp = tempfile::tempdir().unwrap();
        let q = Topology::load(&repo_root(), tmp.path()).unwrap().worklist;
        assert_eq!(q.feature, "processing");
        assert_eq!(q.queue, "worklist");
        assert_eq!(q.function, "process");
        assert_eq!(q.layers, ["transform", "analyze", "correlate"]);
        assert!(q.visibility >= Duration::from_secs(60), "{q:?}");
        assert!(q.max_receives.is_some_and(|n| n > 1), "{q:?}");
        assert!(q.lanes >= 1);
        assert!(q.batch_size >= 1);
    }

    #[test]
    fn each_function_gets_exactly_the_variables_the_generated_crate_names() {
        let tmp = tempfile::tempdir().unwrap();
        let local = Topology::load(&repo_root(), tmp.path()).unwrap();
        for (function, generated) in [
            ("process", prefixes::process::ENV),
            ("ingest", prefixes::ingest::ENV),
            ("ledger-api", prefixes::ledger_api::ENV),
        ] {
            let p = local.platform(function).unwrap();
            let names: Vec<&str> = p.env().keys().map(String::as_str).collect();
            // The template's variables (no parameter is set locally by default) and the runtime's own two.
            let mut expected: Vec<&str> = generated
                .iter()
                .copied()
                .filter(|n| !n.contains("_PARAM_"))
                .chain([
                    platform::ENV_FUNCTION_NAME,
                    platform::ENV_FUNCTION_MEMORY_MB,
                ])
                .collect();
            expected.sort();
            assert_eq!(names, expected, "{function}");
        }
        let process = local.platform("process").unwrap();
        assert_eq!(
            process.var(prefixes::ENV_STAGE).as_deref(),
            Some(LOCAL_STAGE)
        );
        assert_eq!(
            process.var(prefixes::buckets::DATA.env).as_deref(),
            Some("civic-local-data-000000000000-local"),
            "the template's name with local account and region"
        );
        // Each bucket is the store folder named after it; each queue URL reaches the queue the topology holds.
        use object_store::{ObjectStoreExt, PutPayload};
        use platform::Platform;
        let ledger = process.bucket(prefixes::buckets::LEDGER).unwrap();
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            ledger
                .put(&"probe".into(), PutPayload::from_static(b"x"))
                .await
                .unwrap();
            let (queue, dlq) = local.worklist_queues();
            process
                .queue(prefixes::queues::WORKLIST)
                .unwrap()
                .send("w", None)
                .await
                .unwrap();
            process
                .open_queue(&process.dlq_url(prefixes::queues::WORKLIST).unwrap())
                .unwrap()
                .send("d", None)
                .await
                .unwrap();
            assert_eq!(queue.bodies(), ["w"]);
            assert_eq!(dlq.bodies(), ["d"]);
        });
        assert!(tmp.path().join("ledger/probe").is_file());
        assert!(local.platform("nope").is_err());
    }

    #[test]
    fn a_provided_parameter_reaches_the_function_that_declares_it_and_the_runtime_vars_are_set() {
        use platform::Platform;
        let tmp = tempfile::tempdir().unwrap();
        let settings = Settings {
            parameters: [("socrata-app-token".to_owned(), "tok".to_owned())].into(),
            write_log: false,
        };
        let local = Topology::load_with(&repo_root(), tmp.path(), &settings).unwrap();
        let ingest = local.platform("ingest").unwrap();
        let param = prefixes::ingest::parameters::SOCRATA_APP_TOKEN;
        let name = ingest.parameter_name(&param).expect("the variable is set");
        assert_eq!(name, "/civic/local/ingestion/socrata-app-token");
        let value = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(ingest.parameter(&name))
            .unwrap();
        assert_eq!(value.as_deref(), Some("tok"));
        assert_eq!(
            local.platform("process").unwrap().parameter_name(&param),
            None,
            "only the declaring function gets the variable"
        );
        assert_eq!(
            ingest.var(platform::ENV_FUNCTION_MEMORY_MB).as_deref(),
            Some("1024"),
            "features/ingestion/feature.yaml's memory_mb"
        );
        assert_eq!(
            ingest.var(platform::ENV_FUNCTION_NAME).as_deref(),
            Some("civic-local-ingest")
        );
    }
}
