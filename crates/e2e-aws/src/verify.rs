//! What a finished run must show: every layer of the chain complete with nothing failed or dead-lettered (the
//! worklist's own status, read from the data bucket), the events the API lists equal to the event objects stored,
//! and every AWS request allowed by the role it was sent as.

use std::collections::BTreeMap;

use anyhow::{Context, ensure};
use serde_json::Value;

use crate::function::Sandbox;
use crate::{deployed, iam, proxy};

/// Check the run's layers through `consumer`'s data bucket; a one-line account of them.
pub async fn layers_complete(
    endpoint: &str,
    consumer: &Sandbox,
    dataset: &str,
    run_id: &str,
    layers: &[String],
) -> anyhow::Result<String> {
    let grants = process::Locations::granted().worklist();
    let data_env = process::Locations::granted().runs.bucket().env;
    let data_bucket = consumer
        .deployed
        .env
        .get(data_env)
        .with_context(|| format!("{}: no {data_env}", consumer.deployed.name))?;
    let store = bucket_store(endpoint, data_bucket)?;
    let status =
        worklist::status::run_status(store.as_ref(), &grants, dataset, run_id, layers).await?;
    for l in &status.layers {
        ensure!(
            l.complete && l.failed == 0 && l.dead_lettered == 0,
            "run {}: layer {} is not complete: {l:?}",
            run_id,
            l.layer
        );
    }
    ensure!(
        status.dead_letters.is_empty(),
        "run {}: dead letters {:?}",
        run_id,
        status.dead_letters
    );
    Ok(status
        .layers
        .iter()
        .map(|l| format!("{} {}/{}", l.layer, l.done, l.expected.unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", "))
}

/// Every request each function sent through its proxy, and `service` (what Lambda did as the function's role),
/// checked against the role's policies in the function's template; how many were checked.
pub fn requests_allowed(
    sandboxes: &BTreeMap<String, Sandbox>,
    templates: &BTreeMap<String, Value>,
    proxies: &BTreeMap<String, proxy::Proxy>,
    mut service_requests: BTreeMap<String, Vec<iam::Request>>,
) -> anyhow::Result<usize> {
    let mut checked = 0;
    let mut denied = Vec::new();
    for (function, sandbox) in sandboxes {
        let d = &sandbox.deployed;
        let account = d.arn.split(':').nth(4).unwrap_or_default();
        let policy = iam::Policy::of_function(
            &templates[function],
            &deployed::function_id(function),
            account,
            moto_harness::REGION,
        )?;
        let mut requests: Vec<(String, iam::Request)> = Vec::new();
        for r in proxies[function].recorded() {
            match r.iam {
                Ok(list) => requests.extend(list.into_iter().map(|q| (r.what.clone(), q))),
                Err(why) => denied.push(format!("{}: {}: {why}", d.name, r.what)),
            }
        }
        for q in service_requests.remove(function).unwrap_or_default() {
            requests.push(("(Lambda as the role)".into(), q));
        }
        for (what, q) in requests {
            checked += 1;
            if let Err(why) = policy.check(&q)? {
                denied.push(format!("{}: {what}: {q}: {why}", d.name));
            }
        }
    }
    ensure!(
        denied.is_empty(),
        "{} AWS request(s) the functions' roles do not allow:\n  {}",
        denied.len(),
        denied.join("\n  ")
    );
    Ok(checked)
}

/// An object store on a moto bucket.
pub fn bucket_store(
    endpoint: &str,
    bucket: &str,
) -> anyhow::Result<std::sync::Arc<dyn object_store::ObjectStore>> {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region(moto_harness::REGION)
        .with_access_key_id(moto_harness::ACCESS_KEY_ID)
        .with_secret_access_key(moto_harness::SECRET_ACCESS_KEY)
        .with_bucket_name(bucket)
        .build()?;
    Ok(std::sync::Arc::new(store))
}

/// Event objects of `dataset` in the ledger bucket the HTTP function reads.
pub async fn stored_events(endpoint: &str, api: &Sandbox, dataset: &str) -> anyhow::Result<usize> {
    use futures::TryStreamExt;
    let events = ledger_api::Locations::granted().events;
    let bucket = api
        .deployed
        .env
        .get(events.bucket().env)
        .with_context(|| format!("{}: no {}", api.deployed.name, events.bucket().env))?;
    let store = bucket_store(endpoint, bucket)?;
    let prefix = events.list_prefix(&prefixes::keys::EventsKey { dataset })?;
    let listed: Vec<object_store::ObjectMeta> = store
        .list(Some(&object_store::path::Path::from(prefix.as_str())))
        .try_collect()
        .await?;
    let mut n = 0;
    for o in &listed {
        ensure!(
            events.parse_key(o.location.as_ref()).is_some(),
            "{}: not an event key",
            o.location
        );
        n += 1;
    }
    Ok(n)
}
