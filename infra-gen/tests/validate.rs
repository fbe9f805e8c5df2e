//! One test per validation rule: each asserts the message and the file:line:col it points at.

use infra_gen::manifest::from_texts;
use infra_gen::validate::validate;

const PREFIXES: &str = r#"project: civic
stages:
  dev: {}
buckets:
  data:
    owner: ingestion
    retain: true
    prefixes:
      raw:
        key: "raw/{dataset}/run={run_id}/"
        writers: [ingest]
        readers: [process]
      canonical:
        key: "canonical/{dataset}/"
        writers: [process]
"#;

const INGESTION: &str = r#"functions:
  ingest:
    memory_mb: 1024
    timeout_s: 900
    sends_to: [worklist]
"#;

const PROCESSING: &str = r#"depends_on: [ingestion]
queues:
  worklist:
    visibility_timeout_s: 5400
    dlq:
      max_receives: 5
functions:
  process:
    memory_mb: 2048
    timeout_s: 900
    recursive: true
    trigger:
      queue:
        name: worklist
        batch_size: 1
    sends_to: [worklist]
"#;

/// Validate the given texts and return the rendered diagnostics (empty when valid).
fn problems(prefixes: &str, ingestion: &str, processing: &str) -> Vec<String> {
    let m = match from_texts(
        prefixes,
        &[("ingestion", ingestion), ("processing", processing)],
    ) {
        Ok(m) => m,
        Err(d) => {
            return d
                .iter()
                .map(|d| format!("{}: {}", d.loc, d.message))
                .collect();
        }
    };
    match validate(&m) {
        Ok(()) => Vec::new(),
        Err(d) => d
            .iter()
            .map(|d| format!("{}: {}", d.loc, d.message))
            .collect(),
    }
}

/// Assert exactly one problem, at `at`, whose message contains `msg`.
fn check(prefixes: &str, ingestion: &str, processing: &str, at: &str, msg: &str) {
    let p = problems(prefixes, ingestion, processing);
    assert_eq!(p.len(), 1, "expected one problem, got {p:#?}");
    assert!(
        p[0].starts_with(&format!("{at}: ")),
        "expected location {at}, got {}",
        p[0]
    );
    assert!(p[0].contains(msg), "expected {msg:?} in {}", p[0]);
}

#[test]
fn the_base_manifests_are_valid() {
    assert_eq!(
        problems(PREFIXES, INGESTION, PROCESSING),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_key_is_reported_with_location() {
    let bad = INGESTION.replace(
        "    timeout_s: 900\n",
        "    timeout_s: 900\n    memroy: 3\n",
    );
    let p = problems(PREFIXES, &bad, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("features/ingestion/feature.yaml:5:5: "),
        "{}",
        p[0]
    );
    assert!(p[0].contains("memroy"), "{}", p[0]);
}

#[test]
fn wrong_type_is_reported_with_location() {
    let bad = INGESTION.replace("memory_mb: 1024", "memory_mb: lots");
    let p = problems(PREFIXES, &bad, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("features/ingestion/feature.yaml:3:16: "),
        "{}",
        p[0]
    );
}

#[test]
fn malformed_yaml_is_reported_with_location() {
    let p = problems("project: civic\nbuckets: [\n", INGESTION, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("prefixes.yaml:"), "{}", p[0]);
}

#[test]
fn unknown_function_in_grant() {
    let bad = PREFIXES.replace("writers: [ingest]", "writers: [ingset]");
    check(
        &bad,
        INGESTION,
        PROCESSING,
        "prefixes.yaml:11:19",
        "unknown function 'ingset' in writers of prefix 'raw' (known: ingest, process)",
    );
}

#[test]
fn unknown_queue_in_sends_to() {
    let bad = INGESTION.replace("sends_to: [worklist]", "sends_to: [worklst]");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:5:16",
        "unknown queue 'worklst'",
    );
}

#[test]
fn unknown_bucket_owner() {
    let bad = PREFIXES.replace("owner: ingestion", "owner: ingest");
    check(
        &bad,
        INGESTION,
        PROCESSING,
        "prefixes.yaml:6:12",
        "unknown feature 'ingest' as owner of bucket 'data'",
    );
}

#[test]
fn duplicate_function_name_across_features() {
    let bad = INGESTION.replace("  ingest:", "  process:");
    let bad_prefixes = PREFIXES.replace("writers: [ingest]", "writers: [process]");
    check(
        &bad_prefixes,
        &bad,
        PROCESSING,
        "features/processing/feature.yaml:8:3",
        "duplicate function name 'process'",
    );
}

#[test]
fn duplicate_prefix_name_across_buckets() {
    let bad = format!(
        "{PREFIXES}  other:\n    owner: ingestion\n    prefixes:\n      raw:\n        key: \"x/\"\n"
    );
    check(
        &bad,
        INGESTION,
        PROCESSING,
        "prefixes.yaml:19:7",
        "duplicate prefix name 'raw' (first declared on line 9)",
    );
}

#[test]
fn duplicate_key_in_one_map() {
    let bad = PREFIXES.replace("      canonical:", "      raw:");
    let p = problems(&bad, INGESTION, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("prefixes.yaml:13:"), "{}", p[0]);
    assert!(p[0].to_lowercase().contains("duplicate"), "{}", p[0]);
}

#[test]
fn ungranted_prefix_use() {
    let bad = PROCESSING
        .replace(
            "      queue:\n        name: worklist\n        batch_size: 1\n",
            "      s3:\n        prefix: canonical\n",
        )
        .replace("    recursive: true\n", "");
    let bad_prefixes = PREFIXES.replace("writers: [process]", "writers: [ingest]");
    let p = problems(&bad_prefixes, INGESTION, &bad);
    // The queue loses its consumer too; we look for the grant problem.
    assert!(
        p.iter().any(|p| p.starts_with("features/processing/feature.yaml:13:17: ")
            && p.contains("function 'process' uses prefix 'canonical', which prefixes.yaml does not grant it")),
        "{p:#?}"
    );
}

#[test]
fn s3_trigger_on_a_prefix_the_function_writes_is_a_loop() {
    let bad = PROCESSING
        .replace(
            "      queue:\n        name: worklist\n        batch_size: 1\n",
            "      s3:\n        prefix: canonical\n",
        )
        .replace("    recursive: true\n", "");
    let bad_prefixes = PREFIXES.replace(
        "writers: [process]",
        "writers: [process]\n        readers: [process]",
    );
    let p = problems(&bad_prefixes, INGESTION, &bad);
    assert!(
        p.iter().any(
            |p| p.starts_with("features/processing/feature.yaml:13:17: ")
                && p.contains("also writes: an S3 event loop")
        ),
        "{p:#?}"
    );
}

#[test]
fn overlapping_writer_prefixes() {
    let bad = PREFIXES.replace("key: \"canonical/{dataset}/\"", "key: \"raw/la311/\"");
    check(
        &bad,
        INGESTION,
        PROCESSING,
        "prefixes.yaml:14:14",
        "prefix 'canonical' (raw/la311/) overlaps prefix 'raw' (raw/{dataset}/run={run_id}/) in bucket 'data'",
    );
}

#[test]
fn bad_placeholder_syntax() {
    let bad = PREFIXES.replace("run={run_id}/", "run={run_id/");
    check(
        &bad,
        INGESTION,
        PROCESSING,
        "prefixes.yaml:10:14",
        "bad key template 'raw/{dataset}/run={run_id/' at character 19: unclosed '{'",
    );
}

#[test]
fn visibility_below_six_times_consumer_timeout() {
    let bad = PROCESSING.replace("visibility_timeout_s: 5400", "visibility_timeout_s: 900");
    check(
        PREFIXES,
        INGESTION,
        &bad,
        "features/processing/feature.yaml:4:27",
        "visibility_timeout_s 900 of queue 'worklist' is less than 6 x the timeout of its consumer 'process' (900 s)",
    );
}

#[test]
fn memory_above_account_cap() {
    let bad = INGESTION.replace("memory_mb: 1024", "memory_mb: 4096");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:3:16",
        "memory_mb 4096 is above the account's Lambda memory cap for stage dev (3008 MB)",
    );
}

#[test]
fn memory_cap_is_overridable_per_stage() {
    let bad = INGESTION.replace("memory_mb: 1024", "memory_mb: 4096");
    let raised = PREFIXES.replace("  dev: {}", "  dev:\n    memory_cap_mb: 10240");
    assert_eq!(problems(&raised, &bad, PROCESSING), Vec::<String>::new());
}

#[test]
fn timeout_above_900() {
    let bad = INGESTION.replace("timeout_s: 900", "timeout_s: 1200");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:4:16",
        "timeout_s 1200 is outside Lambda's range of 1 to 900 seconds",
    );
}

#[test]
fn physical_names_too_long_after_stage_expansion() {
    let long = "a-very-long-stage-name-for-testing-123456";
    let bad = PREFIXES.replace("  dev: {}", &format!("  {long}: {{}}"));
    let p = problems(&bad, INGESTION, PROCESSING);
    assert!(
        p.iter().any(|p| p.starts_with("prefixes.yaml:5:3: ")
            && p.contains("bucket name")
            && p.contains("over the AWS limit of 63")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|p| p.starts_with("features/processing/feature.yaml:8:3: ")
                && p.contains("IAM role name")
                && p.contains("over the AWS limit of 64")),
        "{p:#?}"
    );
    let queue = "q".repeat(70);
    let bad_q = PROCESSING.replace("worklist", &queue);
    let bad_i = INGESTION.replace("worklist", &queue);
    let p = problems(&bad.replace(long, "dev"), &bad_i, &bad_q);
    assert!(
        p.iter()
            .any(|p| p.starts_with("features/processing/feature.yaml:3:3: ")
                && p.contains("queue name")
                && p.contains("over the AWS limit of 80")),
        "{p:#?}"
    );
}

#[test]
fn function_name_too_long() {
    let name = "f".repeat(60);
    let bad = INGESTION.replace("  ingest:", &format!("  {name}:"));
    let bad_prefixes = PREFIXES.replace("writers: [ingest]", &format!("writers: [{name}]"));
    let p = problems(&bad_prefixes, &bad, PROCESSING);
    assert!(
        p.iter()
            .any(|p| p.starts_with("features/ingestion/feature.yaml:2:3: ")
                && p.contains("function name")
                && p.contains("over the AWS limit of 64")),
        "{p:#?}"
    );
}

#[test]
fn recursive_consumer_without_dlq() {
    let bad = PROCESSING.replace("    dlq:\n      max_receives: 5\n", "");
    check(
        PREFIXES,
        INGESTION,
        &bad,
        "features/processing/feature.yaml:12:15",
        "recursive consumer 'process' reads queue 'worklist', which has no dlq",
    );
}

#[test]
fn depends_on_cycle() {
    let bad = format!("depends_on: [processing]\n{INGESTION}");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/processing/feature.yaml:1:14",
        "depends_on cycle: ingestion -> processing -> ingestion",
    );
}

#[test]
fn unknown_dependency() {
    let bad = PROCESSING.replace("depends_on: [ingestion]", "depends_on: [ingestoin]");
    check(
        PREFIXES,
        INGESTION,
        &bad,
        "features/processing/feature.yaml:1:14",
        "unknown feature 'ingestoin' in depends_on",
    );
}

#[test]
fn several_mistakes_are_all_reported_in_file_order() {
    let p = PREFIXES
        .replace("writers: [ingest]", "writers: [nobody]")
        .replace("run={run_id}/", "run={run_id/");
    let i = INGESTION
        .replace("timeout_s: 900", "timeout_s: 901")
        .replace("memory_mb: 1024", "memory_mb: 9000");
    let q = PROCESSING.replace("visibility_timeout_s: 5400", "visibility_timeout_s: 60");
    let got = problems(&p, &i, &q);
    let at: Vec<&str> = got.iter().map(|s| s.split(": ").next().unwrap()).collect();
    assert_eq!(
        at,
        [
            "features/ingestion/feature.yaml:3:16",
            "features/ingestion/feature.yaml:4:16",
            "features/processing/feature.yaml:4:27",
            "prefixes.yaml:10:14",
            "prefixes.yaml:11:19",
        ],
        "{got:#?}"
    );
}

/// The base ingestion feature with one function-level parameter block appended to `ingest`.
fn with_parameters(block: &str) -> String {
    format!("{INGESTION}    parameters:\n{block}")
}

#[test]
fn declared_parameters_are_valid() {
    let ok = with_parameters(
        "      socrata-app-token:\n        description: App token.\n        optional: true\n",
    );
    assert_eq!(problems(PREFIXES, &ok, PROCESSING), Vec::<String>::new());
}

#[test]
fn parameter_name_must_be_lower_case_letters_digits_and_dash() {
    let bad = with_parameters("      socrata_app_token:\n        optional: true\n");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:7:7",
        "parameter name 'socrata_app_token' must be lower-case letters, digits and '-'",
    );
}

#[test]
fn parameter_name_hint_shows_the_ssm_name_and_env_var() {
    let bad = with_parameters("      App-Token: {}\n");
    let m = from_texts(PREFIXES, &[("ingestion", &bad), ("processing", PROCESSING)]).unwrap();
    let d = validate(&m).unwrap_err();
    let text = d.to_string();
    assert!(
        text.contains("features/ingestion/feature.yaml:7:7: error: parameter name 'App-Token'"),
        "{text}"
    );
    assert!(
        text.contains("hint: the name is the last segment of the SSM parameter /civic/<stage>/ingestion/App-Token and of the env var CIVIC_PARAM_APP_TOKEN"),
        "{text}"
    );
}

#[test]
fn unknown_key_in_a_parameter_is_reported_with_location() {
    let bad = with_parameters("      socrata-app-token:\n        optinal: true\n");
    let p = problems(PREFIXES, &bad, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("features/ingestion/feature.yaml:8:9: "),
        "{}",
        p[0]
    );
    assert!(p[0].contains("optinal"), "{}", p[0]);
}

#[test]
fn parameter_optional_must_be_a_bool() {
    let bad = with_parameters("      socrata-app-token:\n        optional: sometimes\n");
    let p = problems(PREFIXES, &bad, PROCESSING);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("features/ingestion/feature.yaml:8:19: "),
        "{}",
        p[0]
    );
}

#[test]
fn parameter_declared_twice_in_one_feature() {
    let bad = format!(
        "{}  backfill:\n    memory_mb: 512\n    timeout_s: 60\n    parameters:\n      socrata-app-token: {{}}\n",
        with_parameters("      socrata-app-token: {}\n")
    );
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:12:7",
        "parameter 'socrata-app-token' of function 'backfill' is also declared by function 'ingest' (line 7); both would read /civic/<stage>/ingestion/socrata-app-token",
    );
}

#[test]
fn parameter_under_a_reserved_ssm_prefix() {
    let bad_prefixes = PREFIXES.replace("project: civic", "project: ssm-civic");
    let bad = with_parameters("      socrata-app-token: {}\n");
    check(
        &bad_prefixes,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:7:7",
        "parameter 'socrata-app-token' would be named /ssm-civic/<stage>/ingestion/socrata-app-token, but SSM reserves names starting with 'aws' or 'ssm'",
    );
}

#[test]
fn continuing_function_needs_time_for_its_checkpoint() {
    let bad = INGESTION.replace(
        "    timeout_s: 900\n",
        "    timeout_s: 200\n    continues: true\n",
    );
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:5:16",
        "function 'ingest' continues itself but its timeout_s is 200 s",
    );
    let ok = INGESTION.replace(
        "    timeout_s: 900\n",
        "    timeout_s: 900\n    continues: true\n",
    );
    assert_eq!(problems(PREFIXES, &ok, PROCESSING), Vec::<String>::new());
}

/// `PREFIXES` with `objects:` under `raw` (line 18 onwards).
fn with_objects(objects: &str) -> String {
    PREFIXES.replace(
        "        readers: [process]\n",
        &format!("        readers: [process]\n        objects:\n{objects}"),
    )
}

#[test]
fn declared_objects_are_valid() {
    let ok = with_objects(
        "          part: \"part-{part:u32:05}.parquet\"\n          job-record: \"layer={layer}/jobs/{job}.json\"\n",
    );
    assert_eq!(problems(&ok, INGESTION, PROCESSING), Vec::<String>::new());
}

#[test]
fn object_template_that_ends_with_a_slash() {
    check(
        &with_objects("          part: \"parts/\"\n"),
        INGESTION,
        PROCESSING,
        "prefixes.yaml:14:17",
        "must not end with '/'",
    );
}

#[test]
fn object_placeholder_that_repeats_the_prefix() {
    check(
        &with_objects("          part: \"{run_id}.parquet\"\n"),
        INGESTION,
        PROCESSING,
        "prefixes.yaml:14:17",
        "placeholder 'run_id' of object 'part' repeats a placeholder of prefix 'raw'",
    );
}

#[test]
fn objects_that_could_name_the_same_key() {
    check(
        &with_objects("          a: \"{x}.json\"\n          b: \"manifest.json\"\n"),
        INGESTION,
        PROCESSING,
        "prefixes.yaml:15:14",
        "could name the same object as 'a'",
    );
}

#[test]
fn bad_object_name() {
    check(
        &with_objects("          Part: \"p.parquet\"\n"),
        INGESTION,
        PROCESSING,
        "prefixes.yaml:14:11",
        "object name 'Part' of prefix 'raw' must be lower-case",
    );
}

#[test]
fn function_named_like_the_cloudformation_service_role_is_reserved() {
    let bad = format!("{INGESTION}  cfn-deploy:\n    memory_mb: 128\n    timeout_s: 10\n");
    check(
        PREFIXES,
        &bad,
        PROCESSING,
        "features/ingestion/feature.yaml:6:3",
        "function name 'cfn-deploy' is reserved",
    );
}
