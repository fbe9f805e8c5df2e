//! Progress on a terminal: a bar per stage (hidden when stderr is not a terminal: each stage also prints one line
//! when it ends), the ingestion's bytes-and-rows bar, and the worklist layers' job bars fed by the job records in
//! the store.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ingest_core::Progress;
use object_store::ObjectStore;

/// Every bar of the process, drawn together: the demo runs one dataset's layers while it ingests the next.
fn bars() -> &'static MultiProgress {
    static BARS: std::sync::OnceLock<MultiProgress> = std::sync::OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// A progress bar on a terminal, hidden otherwise.
pub fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = if std::io::stderr().is_terminal() {
        bars().add(ProgressBar::new(len))
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(ProgressStyle::with_template(template).expect("valid template"));
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// The ingestion's progress: bytes of the source (against its size when known) and rows read.
struct IngestBar {
    bar: ProgressBar,
    label: String,
}

impl Progress for IngestBar {
    fn start(&self, total_bytes: Option<u64>) {
        let template = match total_bytes {
            Some(t) => {
                self.bar.set_length(t);
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {msg})"
            }
            None => "{spinner} [{elapsed_precise}] {bytes} read ({bytes_per_sec}, {msg})",
        };
        self.bar.set_style(
            ProgressStyle::with_template(&format!("{}{template}", self.label))
                .expect("valid template"),
        );
    }
    fn update(&self, rows: u64, bytes: u64) {
        self.bar.set_position(bytes);
        self.bar.set_message(format!("{rows} rows"));
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Progress of an ingestion, its bar prefixed with `label`; without a terminal, a log line every million rows
/// when `log_otherwise` (else nothing).
pub fn ingest(label: &str, log_otherwise: bool) -> Arc<dyn Progress> {
    if !std::io::stderr().is_terminal() && log_otherwise {
        return Arc::new(ingest_core::LogProgress::new(1_000_000));
    }
    Arc::new(IngestBar {
        bar: bar(0, &format!("{label}{{spinner}} [{{elapsed_precise}}]")),
        label: label.to_owned(),
    })
}

/// Counts the terminal job records of each layer into one bar per layer until `stop` is notified.
pub async fn watch_layers(
    data: Arc<dyn ObjectStore>,
    dataset: String,
    run: String,
    layers: Vec<String>,
    jobs: u64,
    stop: Arc<tokio::sync::Notify>,
) {
    use futures::TryStreamExt;
    let loc = process::Locations::granted().worklist();
    let keys = loc.run(&dataset, &run);
    let bars: Vec<_> = layers
        .iter()
        .map(|l| {
            let pb = bar(
                jobs,
                &format!(
                    "{l:<9} {{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} jobs"
                ),
            );
            (l, pb)
        })
        .collect();
    loop {
        for (layer, pb) in &bars {
            let n = match keys.jobs_prefix(layer) {
                Ok(prefix) => data
                    .list(Some(&prefix))
                    .try_collect::<Vec<_>>()
                    .await
                    .map_or(0, |v| v.len() as u64),
                Err(_) => 0,
            };
            pb.set_position(n);
        }
        tokio::select! {
            _ = stop.notified() => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    for (_, pb) in bars {
        pb.finish_and_clear();
    }
}
