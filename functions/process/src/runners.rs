//! The job runners of the worklist layers: `transform` (harmonize: raw -> canonical) and `analyze`
//! (analysis: canonical -> processed tables + ledger findings), and the city-wide pass that runs once
//! `analyze` has fanned in. The Lambda, `civic process` and `civic demo` all build their registry here, so
//! local and deployed runs execute the same code.

use std::sync::Arc;

use async_trait::async_trait;
use object_store::ObjectStore;
use worklist::report::LayerReport;
use worklist::{JobContext, JobError, JobRunner, LayerHook, Registry};

/// The analysis thresholds of the dataset catalog, compiled in.
pub fn analysis_config() -> anyhow::Result<analysis::AnalysisConfig> {
    const PATH: &str = "datasets/la311/analysis.yaml";
    analysis::AnalysisConfig::parse(PATH, include_str!("../../../datasets/la311/analysis.yaml"))
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runners for `dataset`: `transform` always (when the catalog knows the dataset), `analyze` and its
/// city-wide fan-in hook when a ledger is given (findings need somewhere to go).
pub fn registry(
    data: &Arc<dyn ObjectStore>,
    locations: &crate::Locations,
    ledger: Option<&ledger::Ledger>,
    dataset: &str,
) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    if let Ok(catalog) = harmonize::builtin(dataset) {
        registry.register("transform", transform(data, locations, catalog));
    }
    if let Some(ledger) = ledger {
        let config = analysis_config()?;
        registry.register(
            "analyze",
            Arc::new(Analyze {
                data: data.clone(),
                locations: locations.analysis(),
                ledger: ledger.clone(),
                config: config.clone(),
            }),
        );
        registry.on_completed(
            "analyze",
            Arc::new(Citywide {
                data: data.clone(),
                locations: locations.analysis(),
                ledger: ledger.clone(),
                config,
            }),
        );
    }
    Ok(registry)
}

/// The `transform` layer's runner over `data` with `catalog` (the registry uses the built-in catalog; `civic
/// transform --catalog` passes another).
pub fn transform(
    data: &Arc<dyn ObjectStore>,
    locations: &crate::Locations,
    catalog: harmonize::Catalog,
) -> Arc<dyn JobRunner> {
    Arc::new(Transform {
        store: data.clone(),
        locations: locations.harmonize(),
        catalog,
    })
}

/// The `transform` layer: raw -> canonical for one partition (harmonize).
struct Transform {
    store: Arc<dyn ObjectStore>,
    locations: harmonize::Locations,
    catalog: harmonize::Catalog,
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
        match harmonize::transform_partition_with(
            self.store.clone(),
            self.locations,
            &self.catalog,
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
    config: analysis::AnalysisConfig,
}

#[async_trait]
impl JobRunner for Analyze {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        match analysis::analyze_partition(
            &self.data,
            &self.locations,
            &self.ledger,
            &self.config,
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
    config: analysis::AnalysisConfig,
}

#[async_trait]
impl LayerHook for Citywide {
    async fn completed(&self, report: &LayerReport) -> Result<(), JobError> {
        let r = analysis::analyze_citywide(
            &self.data,
            &self.locations,
            &self.ledger,
            &self.config,
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
