//! `make e2e-aws`: the shipped artifacts run the way AWS runs them, on one machine without Docker.
//!
//! `moto_server` on a free loopback port; `infra-gen bootstrap` and `infra-gen deploy --artifacts` (the CLI, with
//! packages of the host's binaries); every function's deployed `bootstrap` taken back out of the assets bucket and
//! started under a Lambda Runtime API emulator ([`emulator`]) with the environment its deployed configuration
//! holds ([`deployed`], [`function`]); then one run driven as AWS drives it ([`drive`]): the schedule's input plus
//! a loopback `source` to the scheduled function, continued once by a short deadline; its queue drained into
//! the queue's consumer as SQS events until every layer of the chain (the queue's `layers` in its
//! feature.yaml) is complete; the findings read back through the HTTP function as function URL requests.
//! Every mismatch of a variable, a package, a trigger or an event shape fails the run with what differs.

pub mod deployed;
pub mod drive;
pub mod emulator;
pub mod events;
pub mod function;
pub mod iam;
pub mod package;
pub mod proxy;
pub mod source;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use infra_gen::manifest::Trigger;
use serde_json::Value;

use crate::function::{Endpoints, Sandbox};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository (prefixes.yaml, features/).
    pub root: PathBuf,
    /// Where the host binaries are (`target/debug`): the functions, `infra-gen` and `civic`.
    pub bin_dir: PathBuf,
    /// Scratch folder (packages, unpacked bootstraps, function logs); emptied first.
    pub work: PathBuf,
    pub stage: String,
    /// Dataset whose schedule is fired.
    pub dataset: String,
    /// Rows of the generated source file.
    pub rows: u64,
    /// Time left in the first ingestion invocation (at most the continuation margin: it checkpoints at once).
    pub first_deadline: Duration,
    /// Bound on draining the queue.
    pub limit: Duration,
}

/// What one run did.
#[derive(Debug)]
pub struct Summary {
    /// Invocations per function, in manifest order.
    pub invocations: Vec<(String, u32)>,
    pub messages: u32,
    pub events: usize,
    pub rows_read: u64,
    pub jobs: u64,
    pub layers: Vec<String>,
    pub continued: u32,
    /// AWS requests the functions sent (and the event source mapping's), each allowed by the function's role.
    pub requests_checked: usize,
    pub seconds: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inv: Vec<String> = self
            .invocations
            .iter()
            .map(|(n, c)| format!("{n} {c}"))
            .collect();
        write!(
            f,
            "e2e-aws: {} invocations; {} messages; {} events; {} AWS requests allowed by the roles",
            inv.join(", "),
            self.messages,
            self.events,
            self.requests_checked
        )
    }
}

fn step(started: Instant, what: &str) {
    eprintln!("e2e-aws [{:>6.1}s] {what}", started.elapsed().as_secs_f64());
}

/// Run `infra-gen` (the CLI) against the local endpoint; its output goes to `log`, printed when it fails.
fn infra_gen(o: &Options, endpoint: &str, args: &[&str], log: &Path) -> anyhow::Result<()> {
    let bin = o.bin_dir.join("infra-gen");
    let out = Command::new(&bin)
        .current_dir(&o.root)
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", moto_harness::ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", moto_harness::SECRET_ACCESS_KEY)
        .env("AWS_REGION", moto_harness::REGION)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .with_context(|| {
            format!(
                "running {} (build it: cargo build --workspace)",
                bin.display()
            )
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(log, &text)?;
    if !out.status.success() {
        bail!(
            "infra-gen {} failed ({}):\n{text}",
            args.join(" "),
            out.status
        );
    }
    Ok(())
}

/// Generate `rows` rows of `dataset` with `civic gen` (deterministic: seed 1, year 2023).
fn generate(o: &Options, out: &Path) -> anyhow::Result<Vec<u8>> {
    let bin = o.bin_dir.join("civic");
    let status = Command::new(&bin)
        .current_dir(&o.root)
        .args([
            "gen",
            "--dataset",
            &o.dataset,
            "--rows",
            &o.rows.to_string(),
        ])
        .args(["--seed", "1", "--year", "2023", "--out"])
        .arg(out)
        .status()
        .with_context(|| format!("running {}", bin.display()))?;
    ensure!(status.success(), "civic gen failed ({status})");
    Ok(std::fs::read(out)?)
}

/// The whole run.
pub async fn run(o: &Options) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let m = infra_gen::load_valid(&o.root).map_err(|d| anyhow::anyhow!("{d}"))?;
    if o.work.exists() {
        std::fs::remove_dir_all(&o.work)
            .with_context(|| format!("emptying {}", o.work.display()))?;
    }
    std::fs::create_dir_all(o.work.join("logs"))?;

    let Some(moto) = moto_harness::Moto::start() else {
        bail!("moto_server not found; {}", moto_harness::install_hint());
    };
    step(started, &format!("moto_server on {}", moto.endpoint()));

    // Packages of the host's binaries, in cargo-lambda's layout.
    let artifacts = o.work.join("artifacts");
    let crates = infra_gen::deploy::artifacts::function_crates(&m);
    for (_, krate) in &crates {
        package::pack(&o.bin_dir.join(krate), &artifacts, krate)?;
    }
    let logs = o.work.join("logs");
    infra_gen(
        o,
        moto.endpoint(),
        &["bootstrap", "--stage", &o.stage],
        &logs.join("bootstrap.log"),
    )?;
    let art = artifacts.display().to_string();
    infra_gen(
        o,
        moto.endpoint(),
        &["deploy", "--stage", &o.stage, "--artifacts", &art, "--yes"],
        &logs.join("deploy.log"),
    )?;
    step(started, "infra-gen bootstrap and deploy --artifacts done");

    // Each function as deployed, and its package taken back out of the assets bucket.
    let config = moto.sdk_config().await;
    let s3 = moto.s3().await;
    let sqs = moto.sqs().await;
    let mut deployed = Vec::new();
    let mut templates: BTreeMap<String, Value> = BTreeMap::new();
    for stack in infra_gen::synth::synth(&m, &o.stage) {
        let template = serde_json::to_value(&stack.template)?;
        for f in m.functions().filter(|f| f.feature.name == stack.feature) {
            deployed.push(
                deployed::read(&config, &s3, &stack.name, &stack.feature, f.name, &template)
                    .await?,
            );
            templates.insert(f.name.to_owned(), template.clone());
        }
    }
    let invoke_api = emulator::InvokeApi::serve().await?;
    let endpoints = Endpoints {
        aws: moto.endpoint().to_owned(),
        lambda: invoke_api.endpoint(),
        region: moto_harness::REGION.into(),
        access_key_id: moto_harness::ACCESS_KEY_ID.into(),
        secret_access_key: moto_harness::SECRET_ACCESS_KEY.into(),
    };
    let mut sandboxes: BTreeMap<String, Sandbox> = BTreeMap::new();
    let mut proxies: BTreeMap<String, proxy::Proxy> = BTreeMap::new();
    for d in deployed {
        let zip = s3
            .get_object()
            .bucket(&d.code_bucket)
            .key(&d.code_key)
            .send()
            .await
            .with_context(|| format!("GetObject s3://{}/{}", d.code_bucket, d.code_key))?
            .body
            .collect()
            .await?
            .into_bytes();
        let sha = package::code_sha256(&zip);
        ensure!(
            sha == d.code_sha256,
            "{}: Lambda reports CodeSha256 {} but s3://{}/{} hashes to {sha}",
            d.name,
            d.code_sha256,
            d.code_bucket,
            d.code_key
        );
        let bootstrap = package::unpack_bootstrap(&zip, &o.work.join("task").join(&d.function))?;
        let log = logs.join(format!("{}.log", d.function));
        let function = d.function.clone();
        // Its own endpoint: a recording proxy in front of moto, for the IAM check at the end.
        let account = d.arn.split(':').nth(4).unwrap_or_default().to_owned();
        let proxy = proxy::Proxy::serve(moto.endpoint(), moto_harness::REGION, &account).await?;
        let own = Endpoints {
            aws: proxy.endpoint(),
            ..endpoints.clone()
        };
        proxies.insert(function.clone(), proxy);
        sandboxes.insert(function, Sandbox::start(d, &bootstrap, log, &own).await?);
    }
    step(
        started,
        &format!(
            "started {} under the runtime API emulator",
            sandboxes.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    );

    // Roles by trigger, from the manifests.
    let by_trigger = |want: fn(&Trigger) -> bool| -> Vec<String> {
        m.functions()
            .filter(|f| f.doc.trigger.as_ref().is_some_and(want))
            .map(|f| f.name.to_owned())
            .collect()
    };
    let scheduled = by_trigger(|t| matches!(t, Trigger::Schedule(_) | Trigger::Schedules(_)));
    let consumers = by_trigger(|t| matches!(t, Trigger::Queue(_)));
    let http = by_trigger(|t| matches!(t, Trigger::Http(_)));
    ensure!(
        !scheduled.is_empty() && !consumers.is_empty() && !http.is_empty(),
        "the manifests need a scheduled, a queue-triggered and an HTTP function (have {scheduled:?}, {consumers:?}, {http:?})"
    );

    // The schedule of the dataset, with the generated file as its source.
    let ingest_name = scheduled
        .iter()
        .find(|f| {
            sandboxes[*f]
                .deployed
                .schedules
                .values()
                .any(|i| i["dataset"] == o.dataset.as_str())
        })
        .with_context(|| format!("no scheduled function has a rule for dataset {}", o.dataset))?
        .clone();
    let mut event: Value = sandboxes[&ingest_name]
        .deployed
        .schedules
        .values()
        .find(|i| i["dataset"] == o.dataset.as_str())
        .cloned()
        .expect("found above");
    let csv = generate(o, &o.work.join(format!("{}.csv", o.dataset)))?;
    let bytes = csv.len();
    let src = source::Source::serve(&format!("{}-e2e.csv", o.dataset), csv).await?;
    event["source"] = Value::String(src.url().to_owned());
    step(
        started,
        &format!("{bytes} bytes of {} served at {}", o.dataset, src.url()),
    );

    let ingested = drive::ingest(
        sandboxes.get_mut(&ingest_name).expect("started"),
        &invoke_api,
        event,
        o.first_deadline,
    )
    .await?;
    ensure!(
        ingested.continued >= 1,
        "{ingest_name}: the run was not continued (a first deadline of {:?} left time for all {} rows); lower --first-deadline-s (at most the 120 s margin stops at the first check) or raise --rows",
        o.first_deadline,
        ingested.rows_read
    );
    ensure!(
        ingested.rows_read == o.rows,
        "{ingest_name}: read {} rows of {} generated",
        ingested.rows_read,
        o.rows
    );
    let (requests, ranged) = src.requests();
    // Each continuation resumes the plain file at its checkpoint's byte with `Range` (none re-reads it whole).
    ensure!(
        ranged == ingested.continued && requests == ingested.continued + 1,
        "{ingest_name}: {} continuation(s) but the source saw {requests} request(s), {ranged} with Range",
        ingested.continued
    );
    step(
        started,
        &format!(
            "{ingest_name}: run {} handed off ({} rows, {} jobs, {} continuation(s); source read in {requests} request(s), {ranged} with Range)",
            ingested.run_id, ingested.rows_read, ingested.jobs, ingested.continued
        ),
    );

    // The consumers' queues drained as their event source mappings would.
    let mut messages = 0;
    let mut layers = Vec::new();
    // What Lambda's services do as a function's role: the event source mapping's SQS calls, the Event invocations.
    let mut service_requests: BTreeMap<String, Vec<iam::Request>> = BTreeMap::new();
    let arn_of = |function: &str, name: &str| -> String {
        if name.starts_with("arn:") {
            return name.to_owned();
        }
        let base = &sandboxes[function].deployed.arn;
        let head: Vec<&str> = base.split(':').take(6).collect();
        format!("{}:{name}", head.join(":"))
    };
    service_requests.insert(
        ingest_name.clone(),
        ingested
            .invoked
            .iter()
            .map(|target| iam::Request {
                action: "lambda:InvokeFunction".into(),
                resource: arn_of(&ingest_name, target),
                context: Default::default(),
            })
            .collect(),
    );
    for name in &consumers {
        let sandbox = sandboxes.get_mut(name).expect("started");
        let mappings = sandbox.deployed.event_sources.clone();
        ensure!(
            mappings.len() == 1,
            "{name}: {} event source mappings deployed, the template declares one",
            mappings.len()
        );
        let (arn, batch, reports) = &mappings[0];
        ensure!(
            *reports,
            "{name}: its event source mapping does not report batch item failures"
        );
        let drained = drive::drain(
            &sqs,
            sandbox,
            arn,
            *batch,
            *reports,
            moto_harness::REGION,
            o.limit,
        )
        .await?;
        messages += drained.messages;
        let mut esm = vec![
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ];
        if drained.failed > 0 {
            esm.push("sqs:ChangeMessageVisibility");
        }
        service_requests
            .entry(name.clone())
            .or_default()
            .extend(esm.into_iter().map(|a| iam::Request {
                action: a.into(),
                resource: arn.clone(),
                context: Default::default(),
            }));
        let url = drive::queue_url(&sqs, arn).await?;
        if let Some(dlq) = drive::dead_letter_queue(&sqs, &url).await? {
            let n = drive::depth(&sqs, &dlq).await?;
            ensure!(
                n == 0,
                "{name}: {n} message(s) in the dead-letter queue {dlq}"
            );
        }
        // Every layer of the queue's chain is complete (its create-only marker: a later layer may have other jobs
        // than the one before it), nothing failed or dead-lettered.
        if let Some(Trigger::Queue(q)) = m.function(name).and_then(|f| f.doc.trigger.as_ref()) {
            let queue = m
                .queue(&q.name.value)
                .with_context(|| format!("queue {} of {name}", q.name.value))?;
            layers = queue.doc.layers.iter().map(|l| l.value.clone()).collect();
        }
        step(
            started,
            &format!(
                "{name}: {} messages in {} invocations ({} reported failed), queue and DLQ empty",
                drained.messages, sandbox.invocations, drained.failed
            ),
        );
    }
    ensure!(!layers.is_empty(), "no queue declares a layer chain");
    let done = verify::layers_complete(
        moto.endpoint(),
        &sandboxes[&consumers[0]],
        &ingested.dataset,
        &ingested.run_id,
        &layers,
    )
    .await?;
    step(started, &format!("every layer complete: {done}"));

    // The findings through the HTTP function, as its function URL delivers requests.
    let api_name = &http[0];
    let api = sandboxes.get_mut(api_name).expect("started");
    let (url, auth) = api
        .deployed
        .url
        .clone()
        .with_context(|| format!("{api_name}: no function URL deployed"))?;
    ensure!(
        auth == "AWS_IAM",
        "{api_name}: function URL auth {auth}, expected AWS_IAM"
    );
    let account = api
        .deployed
        .arn
        .split(':')
        .nth(4)
        .unwrap_or_default()
        .to_owned();
    let caller = events::Caller {
        account_id: account.clone(),
        access_key: moto_harness::ACCESS_KEY_ID.into(),
        user_arn: format!("arn:aws:iam::{account}:user/e2e-aws"),
    };
    let openapi = drive::get(api, &url, "/openapi.json", &caller).await?;
    ensure!(
        openapi["paths"].get("/events").is_some(),
        "{api_name}: /openapi.json has no /events path"
    );
    let found = drive::all_events(api, &url, &ingested.dataset, &caller).await?;
    let stored = verify::stored_events(moto.endpoint(), api, &ingested.dataset).await?;
    ensure!(
        found.len() == stored,
        "{api_name}: /events lists {} events of {}, the ledger bucket holds {stored}",
        found.len(),
        ingested.dataset
    );
    ensure!(
        !found.is_empty(),
        "no findings for {} rows of {}: raise --rows",
        o.rows,
        ingested.dataset
    );
    // A write, authorized by the function URL's IAM auth in front of the app: the first finding sent back, with
    // the fields the API's own EventInput schema names, is recognized as already stored.
    let fields = openapi["components"]["schemas"]["EventInput"]["properties"]
        .as_object()
        .with_context(|| format!("{api_name}: /openapi.json has no EventInput schema"))?;
    let resend: serde_json::Map<String, Value> = fields
        .keys()
        .filter_map(|k| found[0].get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let body = serde_json::json!({ "events": [resend] });
    let (status, answer) =
        drive::request(api, &url, "POST", "/events", Some(&body), &caller).await?;
    ensure!(
        status == 200 && answer["results"][0]["status"] == "duplicate",
        "{api_name}: POST /events of a stored finding answered HTTP {status}: {answer}"
    );
    let stakeholders = drive::get(api, &url, "/stakeholders", &caller).await?;
    let stakeholders = stakeholders["stakeholders"]
        .as_array()
        .with_context(|| format!("{api_name}: /stakeholders has no `stakeholders` array"))?
        .len();
    step(
        started,
        &format!(
            "{api_name}: {} events, {stakeholders} stakeholders through the function URL",
            found.len()
        ),
    );

    // Every request each function sent, and what Lambda did as its role, allowed by the role's policies.
    let checked = verify::requests_allowed(&sandboxes, &templates, &proxies, service_requests)?;
    step(
        started,
        &format!("{checked} AWS requests, each allowed by its function's role"),
    );

    let invocations = m
        .functions()
        .map(|f| (f.name.to_owned(), sandboxes[f.name].invocations))
        .collect();
    Ok(Summary {
        invocations,
        messages,
        events: found.len(),
        rows_read: ingested.rows_read,
        jobs: ingested.jobs,
        layers,
        continued: ingested.continued,
        requests_checked: checked,
        seconds: started.elapsed().as_secs_f64(),
    })
}
