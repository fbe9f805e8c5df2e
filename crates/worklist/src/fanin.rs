//! Fan-in: an empty list marks its lane done; when every lane is done, exactly one message (the one whose
//! create-only put of the layer marker succeeds) writes the layer report, runs the layer's hook (if the
//! registry has one) and starts the next layer.

use crate::consumer::{Consumer, StepError, list_to_step};
use crate::manifest::RunManifest;
use crate::markers::{
    JobRecord, JobStatus, LaneMarker, LayerMarker, create_only, exists, jobs_under, read_json,
};
use crate::message::WorkMessage;
use crate::probe::Point;
use crate::report;
use crate::start::{LayerStart, StartError, start_layer};
use crate::step::FanIn;

/// Finish lane `msg.lane` of `msg.layer`; complete the layer when all lanes are done. `token` identifies the
/// message (sha256 of its body) so a redelivery of the winner resumes an interrupted completion.
pub(crate) async fn fan_in(
    consumer: &Consumer,
    msg: &WorkMessage,
    token: &str,
    manifest: &RunManifest,
) -> Result<FanIn, StepError> {
    let store = consumer.store.as_ref();
    let keys = consumer.locations.run(&msg.dataset, &msg.run_id);
    consumer.probe.at(Point::BeforeLaneMarker).await?;
    let lane = LaneMarker {
        lane: msg.lane,
        hop: msg.hop,
    };
    create_only(store, &keys.lane_done(&msg.layer, msg.lane)?, &lane).await?;
    for other in 0..msg.lanes {
        if !exists(store, &keys.lane_done(&msg.layer, other)?).await? {
            return Ok(FanIn::LaneDone);
        }
    }
    let complete_key = keys.layer_complete(&msg.layer)?;
    let (marker, resumed) = match read_json::<LayerMarker>(store, &complete_key).await? {
        Some(existing) if existing.owner == token => (existing, true),
        Some(_) => return Ok(FanIn::AlreadyComplete),
        None => {
            let marker = layer_marker(consumer, msg, token, manifest).await?;
            consumer.probe.at(Point::BeforeLayerMarker).await?;
            if create_only(store, &complete_key, &marker).await? {
                (marker, false)
            } else {
                match read_json::<LayerMarker>(store, &complete_key).await? {
                    Some(existing) if existing.owner == token => (existing, true),
                    _ => return Ok(FanIn::AlreadyComplete),
                }
            }
        }
    };
    consumer.probe.at(Point::AfterLayerMarker).await?;
    let layer_report = report::build(store, &keys, &marker).await?;
    report::write(store, &keys, &layer_report).await?;
    if let Some(hook) = consumer.runners.hook(&msg.layer) {
        hook.completed(&layer_report)
            .await
            .map_err(|e| StepError::Hook {
                layer: msg.layer.clone(),
                error: e.to_string(),
            })?;
    }
    consumer.probe.at(Point::BeforeNextLayer).await?;
    if let Some(next) = &marker.next_layer {
        let start = LayerStart::new(&msg.dataset, &msg.run_id, next, marker.done.clone())
            .lanes(msg.lanes)
            .max_attempts(msg.max_attempts);
        start_layer(
            start,
            store,
            consumer.locations.worklist.into(),
            consumer.queue.as_ref(),
            consumer.config.max_body_bytes,
        )
        .await
        .map_err(|e| match e {
            StartError::List(e) => list_to_step(e),
            StartError::Queue(e) => StepError::Queue(e),
        })?;
    }
    Ok(FanIn::Completed {
        resumed,
        next_layer: marker.next_layer,
    })
}

/// The completion marker this message would write: done/failed jobs in manifest order.
async fn layer_marker(
    consumer: &Consumer,
    msg: &WorkMessage,
    token: &str,
    manifest: &RunManifest,
) -> Result<LayerMarker, StepError> {
    let store = consumer.store.as_ref();
    let keys = consumer.locations.run(&msg.dataset, &msg.run_id);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for job in jobs_under(store, &consumer.locations, &keys.jobs_prefix(&msg.layer)?).await? {
        let record: Option<JobRecord> =
            read_json(store, &keys.job_record(&msg.layer, &job)?).await?;
        match record.map(|r| r.status) {
            Some(JobStatus::Done) => done.push(job),
            Some(JobStatus::Failed) => failed.push(job),
            None => {}
        }
    }
    // Both lists are sorted (jobs_under sorts); reorder them as the manifest lists the jobs.
    let in_manifest_order = |set: &[String]| -> Vec<String> {
        let mut ordered: Vec<String> = manifest
            .job_ids()
            .into_iter()
            .filter(|j| set.binary_search(j).is_ok())
            .collect();
        // Records for ids outside the manifest (failed as "not in the run manifest") go last, sorted.
        ordered.extend(set.iter().filter(|j| !manifest.has_job(j)).cloned());
        ordered
    };
    Ok(LayerMarker {
        layer: msg.layer.clone(),
        owner: token.to_owned(),
        done: in_manifest_order(&done),
        failed: in_manifest_order(&failed),
        next_layer: crate::consumer::Config::next_layer(
            manifest.layers.as_ref().unwrap_or(&consumer.config.layers),
            &msg.layer,
        )
        .map(str::to_owned),
    })
}
