//! The job runners of the worklist layers: `transform` (harmonize: raw -> canonical) and `analyze`
//! (analysis: canonical -> processed tables + ledger findings), and the city-wide pass that runs once
//! `analyze` has fanned in. The Lambda, `civic process` and `civic demo` all build their registry here, so
//! local and deployed runs execute the same code.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::ObjectStore;
use worklist::report::LayerReport;
use worklist::{JobContext, JobError, JobRunner, LayerHook, Registry};

/// What the runners know of every dataset of one catalog: its canonical catalog (transform) and its analysis
/// configuration (analyze), by dataset id. Jobs take their dataset from the run (the message), never from a
/// literal: a run of a dataset the catalog lacks fails with a message naming the ones it has.
#[derive(Debug, Clone, Default)]
pub struct Datasets {
    canonical: BTreeMap<String, harmonize::Catalog>,
    analysis: BTreeMap<String, analysis::AnalysisConfig>,
}

impl Datasets {
    /// Every dataset of the catalog compiled into this binary, each file validated (located errors).
    pub fn builtin() -> anyhow::Result<Self> {
        Self::from_catalog(datasets::Catalog::builtin())
    }

    /// Every dataset of `files` that has a `canonical.yaml` / an `analysis.yaml`, validated.
    pub fn from_catalog(files: &datasets::Catalog) -> anyhow::Result<Self> {
        let mut out = Datasets::default();
        for ds in files.datasets() {
            if ds.file("canonical.yaml").is_some() {
                let c =
                    harmonize::from_catalog(files, ds.id()).map_err(|e| anyhow::anyhow!("{e}"))?;
                out.canonical.insert(ds.id().to_owned(), c);
            }
            if ds.file("analysis.yaml").is_some() {
                let a = analysis::AnalysisConfig::from_catalog(files, ds.id())
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                out.analysis.insert(ds.id().to_owned(), a);
            }
        }
        Ok(out)
    }

    /// The same, with `catalog` as its dataset's canonical catalog (`civic transform --catalog FILE`).
    pub fn with_canonical(mut self, catalog: harmonize::Catalog) -> Self {
        self.canonical.insert(catalog.dataset.clone(), catalog);
        self
    }

    /// The canonical catalog of `dataset`.
    pub fn canonical(&self, dataset: &str) -> Result<&harmonize::Catalog, JobError> {
        self.canonical.get(dataset).ok_or_else(|| {
            JobError::Fatal(format!(
                "dataset {dataset:?} has no canonical.yaml in this catalog (datasets with one: {})",
                self.canonical
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    /// The analysis configuration of `dataset`.
    pub fn analysis(&self, dataset: &str) -> Result<&analysis::AnalysisConfig, JobError> {
        self.analysis.get(dataset).ok_or_else(|| {
            JobError::Fatal(format!(
                "dataset {dataset:?} has no analysis.yaml in this catalog (datasets with one: {})",
                self.analysis.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// The datasets the correlate layer may pair: every one with an analysis configuration.
    pub fn correlate_candidates(&self) -> Vec<analysis::cross::Candidate> {
        self.analysis
            .iter()
            .map(|(id, a)| analysis::cross::Candidate {
                dataset: id.clone(),
                has_close: a.columns.closed.is_some(),
            })
            .collect()
    }

    /// Ids with a canonical catalog.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.canonical.keys().map(String::as_str)
    }
}

/// The runners: `transform` always, `analyze` and its city-wide fan-in hook when a ledger is given (findings need
/// somewhere to go). Each job looks its dataset up in `datasets`.
pub fn registry(
    data: &Arc<dyn ObjectStore>,
    locations: &crate::Locations,
    ledger: Option<&ledger::Ledger>,
    datasets: Arc<Datasets>,
) -> Registry {
    let mut registry = Registry::new();
    registry.register("transform", transform(data, locations, datasets.clone()));
    if let Some(ledger) = ledger {
        registry.register(
            "analyze",
            Arc::new(Analyze {
                data: data.clone(),
                locations: locations.analysis(),
                ledger: ledger.clone(),
                datasets: datasets.clone(),
            }),
        );
        registry.on_completed(
            "analyze",
            Arc::new(Citywide {
                data: data.clone(),
                locations: locations.analysis(),
                ledger: ledger.clone(),
                datasets: datasets.clone(),
            }),
        );
        let correlate = Arc::new(Correlate {
            data: data.clone(),
            locations: locations.analysis(),
            ledger: ledger.clone(),
            candidates: datasets.correlate_candidates(),
            config: correlate::Config::default(),
        });
        registry.register("correlate", correlate.clone());
        registry.on_completed("correlate", correlate);
    }
    registry
}

/// The `correlate` layer: one job per council district (the feature table's rows of the district and its
/// tests across datasets), then, when it fans in, q-values across the run, the association table and the
/// discoveries' ledger events.
pub struct Correlate {
    data: Arc<dyn ObjectStore>,
    locations: analysis::Locations,
    ledger: ledger::Ledger,
    candidates: Vec<analysis::cross::Candidate>,
    config: correlate::Config,
}

fn analysis_error(e: analysis::job::JobError) -> JobError {
    match e {
        e @ analysis::job::JobError::Store { .. } => JobError::Retryable(e.to_string()),
        e => JobError::Fatal(e.to_string()),
    }
}

#[async_trait]
impl JobRunner for Correlate {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        let r = analysis::cross::correlate_district(
            &self.data,
            &self.locations,
            &self.candidates,
            job.dataset,
            job.run_id,
            job.job,
            &self.config,
        )
        .await
        .map_err(analysis_error)?;
        Ok(serde_json::json!({
            "council_district": r.council_district,
            "datasets": r.datasets,
            "feature_rows": r.feature_rows,
            "feature_key": r.feature_key,
            "tests": r.tests,
            "partial_key": r.partial_key,
        }))
    }
}

#[async_trait]
impl LayerHook for Correlate {
    async fn completed(&self, report: &LayerReport) -> Result<(), JobError> {
        let done: Vec<String> = report
            .jobs
            .iter()
            .filter(|j| j.status == worklist::report::JobStatus::Done)
            .map(|j| j.job.clone())
            .collect();
        let r = analysis::cross::finish(
            &self.data,
            &self.locations,
            &self.ledger,
            &self.candidates,
            &report.dataset,
            &report.run_id,
            &done,
            &self.config,
        )
        .await
        .map_err(|e| JobError::Retryable(format!("correlate fan-in: {e}")))?;
        tracing::info!(
            run = %report.run_id,
            tests = r.tests,
            discoveries = r.discoveries,
            events_created = r.events_created,
            events_duplicate = r.events_duplicate,
            table = %r.table_key,
            "correlate"
        );
        Ok(())
    }
}

/// The `transform` layer's runner over `data` (`civic transform --catalog` passes other datasets).
pub fn transform(
    data: &Arc<dyn ObjectStore>,
    locations: &crate::Locations,
    datasets: Arc<Datasets>,
) -> Arc<dyn JobRunner> {
    Arc::new(Transform {
        store: data.clone(),
        locations: locations.harmonize(),
        datasets,
    })
}

/// The `transform` layer: raw -> canonical for one partition (harmonize).
struct Transform {
    store: Arc<dyn ObjectStore>,
    locations: harmonize::Locations,
    datasets: Arc<Datasets>,
}

#[async_trait]
impl JobRunner for Transform {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        let manifest = harmonize::partition::read_manifest(
            self.store.as_ref(),
            &self.locations,
            job.dataset,
            job.run_id,
        )
        .await
        .map_err(|e| JobError::Fatal(e.to_string()))?;
        let catalog = self.datasets.canonical(job.dataset)?;
        match harmonize::transform_partition_with(
            self.store.clone(),
            self.locations,
            catalog,
            &manifest,
            job.job,
        )
        .await
        {
            Ok(report) => serde_json::to_value::<contract::TransformSummary>(report)
                .map_err(|e| JobError::Fatal(e.to_string())),
            Err(
                e
                @ (harmonize::TransformError::Store { .. } | harmonize::TransformError::Io { .. }),
            ) => Err(JobError::Retryable(e.to_string())),
            Err(e) => Err(JobError::Fatal(e.to_string())),
        }
    }
}

/// The `analyze` layer: canonical -> weekly table in `processed/` + findings in the ledger, for one partition.
struct Analyze {
    data: Arc<dyn ObjectStore>,
    locations: analysis::Locations,
    ledger: ledger::Ledger,
    datasets: Arc<Datasets>,
}

#[async_trait]
impl JobRunner for Analyze {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        match analysis::analyze_partition(
            &self.data,
            &self.locations,
            &self.ledger,
            self.datasets.analysis(job.dataset)?,
            job.dataset,
            job.run_id,
            job.job,
        )
        .await
        {
            Ok(r) => {
                let summary = contract::AnalyzeSummary {
                    rows: contract::AnalyzeRows {
                        rows: r.rows.rows,
                        used: r.rows.used,
                        without_district: r.rows.without_district,
                        without_created: r.rows.without_created,
                    },
                    weekly_rows: r.weekly_rows,
                    findings: r.findings.len(),
                    events_created: r.events_created,
                    events_duplicate: r.events_duplicate,
                    events_conflicting: r.events_conflicting,
                    table_key: r.table_key,
                };
                serde_json::to_value(summary).map_err(|e| JobError::Fatal(e.to_string()))
            }
            Err(e @ analysis::job::JobError::Store { .. }) => {
                Err(JobError::Retryable(e.to_string()))
            }
            Err(e) => Err(JobError::Fatal(e.to_string())),
        }
    }
}

/// After `analyze` fans in: the city-wide findings, which compare every district (create-only ledger events, so
/// a redelivered completion that runs it again appends nothing twice).
struct Citywide {
    data: Arc<dyn ObjectStore>,
    locations: analysis::Locations,
    ledger: ledger::Ledger,
    datasets: Arc<Datasets>,
}

#[async_trait]
impl LayerHook for Citywide {
    async fn completed(&self, report: &LayerReport) -> Result<(), JobError> {
        let r = analysis::analyze_citywide(
            &self.data,
            &self.locations,
            &self.ledger,
            self.datasets.analysis(&report.dataset)?,
            &report.dataset,
            &report.run_id,
        )
        .await
        .map_err(|e| JobError::Retryable(format!("city-wide analysis: {e}")))?;
        tracing::info!(
            run = %report.run_id,
            findings = r.findings.len(),
            events_created = r.events_created,
            events_duplicate = r.events_duplicate,
            "city-wide analysis"
        );
        Ok(())
    }
}
