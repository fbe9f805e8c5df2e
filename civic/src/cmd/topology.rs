//! The local topology, read from the same manifests infra-gen turns into CloudFormation: the recursive
//! worklist function's queue (visibility timeout, DLQ max receives, lanes, layers) drives the embedded queue.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use infra_gen::manifest::Trigger;

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
}

/// The repository root holding `prefixes.yaml`: the working directory or one of its ancestors, else the
/// checkout this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("prefixes.yaml").is_file() && dir.join("features").is_dir() {
                return dir.to_owned();
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// Load and validate the manifests under `root` and find the recursive worklist function's queue.
pub fn worklist_queue(root: &Path) -> anyhow::Result<WorklistQueue> {
    let manifests = infra_gen::load_valid(root)
        .map_err(|d| anyhow::anyhow!("{d}"))
        .with_context(|| format!("loading the manifests under {}", root.display()))?;
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
            });
        }
    }
    bail!(
        "no feature under {} declares a recursive, queue-triggered function (the worklist consumer)",
        root.join("features").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_manifests_declare_the_worklist_queue() {
        let q = worklist_queue(&repo_root()).unwrap();
        assert_eq!(q.feature, "processing");
        assert_eq!(q.queue, "worklist");
        assert_eq!(q.function, "process");
        assert_eq!(q.layers, ["transform", "analyze"]);
        assert!(q.visibility >= Duration::from_secs(60), "{q:?}");
        assert!(q.max_receives.is_some_and(|n| n > 1), "{q:?}");
        assert!(q.lanes >= 1);
    }
}
