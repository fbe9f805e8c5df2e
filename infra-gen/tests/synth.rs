//! Synth of the project's real manifests: snapshots, determinism, least-privilege properties, and the
//! CLI contract (exit 2 and nothing written when the manifests are invalid).

use std::path::{Path, PathBuf};

use infra_gen::cfn::iam::Effect;
use infra_gen::manifest::from_texts;
use infra_gen::{load_valid, synth};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn templates(stage: &str) -> Vec<(String, Value)> {
    let m = load_valid(&root()).expect("project manifests are valid");
    synth::synth(&m, stage)
        .into_iter()
        .map(|s| {
            (
                s.feature.clone(),
                serde_json::from_str(&s.template.to_json()).unwrap(),
            )
        })
        .collect()
}

fn resources<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn snapshot_every_template() {
    for (feature, t) in templates("dev") {
        insta::assert_json_snapshot!(format!("dev-{feature}"), t);
    }
}

#[test]
fn synth_is_deterministic() {
    let m = load_valid(&root()).unwrap();
    let a: Vec<String> = synth::synth(&m, "dev")
        .iter()
        .map(|s| s.template.to_json())
        .collect();
    let m2 = load_valid(&root()).unwrap();
    let b: Vec<String> = synth::synth(&m2, "dev")
        .iter()
        .map(|s| s.template.to_json())
        .collect();
    assert_eq!(a, b);
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    synth::write(dir1.path(), "dev", &synth::synth(&m, "dev")).unwrap();
    synth::write(dir2.path(), "dev", &synth::synth(&m2, "dev")).unwrap();
    for f in ["ingestion", "processing", "ledger"] {
        let p = format!("dev/{f}.template.json");
        assert_eq!(
            std::fs::read(dir1.path().join(&p)).unwrap(),
            std::fs::read(dir2.path().join(&p)).unwrap(),
            "{p}"
        );
    }
}

#[test]
fn one_stack_per_feature_and_no_exports() {
    let ts = templates("ci");
    let names: Vec<&str> = ts.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        ["ingestion", "ledger", "processing"],
        "dependency order"
    );
    for (f, t) in &ts {
        let text = t.to_string();
        assert!(!text.contains("Fn::ImportValue"), "{f} imports a value");
        for (_, o) in t["Outputs"].as_object().unwrap() {
            assert!(o.get("Export").is_none(), "{f} exports an output");
        }
    }
}

#[test]
fn allow_statements_never_use_wildcard_actions_or_resources() {
    for (f, t) in templates("dev") {
        for (id, role) in resources(&t, "AWS::IAM::Role") {
            for policy in role["Properties"]["Policies"].as_array().unwrap() {
                for st in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                    assert_eq!(st["Effect"], "Allow");
                    for a in st["Action"].as_array().unwrap() {
                        assert!(
                            !a.as_str().unwrap().contains('*'),
                            "{f}/{id}: wildcard action {a}"
                        );
                    }
                    for r in st["Resource"].as_array().unwrap() {
                        assert_ne!(r, "*", "{f}/{id}: '*' resource in {}", st["Sid"]);
                    }
                    if st["Action"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == "s3:ListBucket")
                    {
                        let cond = &st["Condition"]["StringLike"]["s3:prefix"];
                        assert!(
                            cond.is_array() && !cond.as_array().unwrap().is_empty(),
                            "{f}/{id}: ListBucket without s3:prefix condition"
                        );
                    }
                }
            }
        }
    }
    // The typed model agrees: no scoped statement carries a wildcard reason it does not need.
    let _ = Effect::Allow;
}

#[test]
fn recursive_loop_allow_only_on_recursive_and_continuing_functions() {
    for (f, t) in templates("dev") {
        for (id, func) in resources(&t, "AWS::Lambda::Function") {
            let allow = func["Properties"].get("RecursiveLoop").is_some();
            assert_eq!(
                allow,
                id == "ProcessFunction" || id == "IngestFunction",
                "{f}/{id}"
            );
            if allow {
                assert_eq!(func["Properties"]["RecursiveLoop"], "Allow");
            }
        }
    }
}

#[test]
fn every_taggable_resource_has_project_stage_feature_tags() {
    for (f, t) in templates("dev") {
        for (id, r) in t["Resources"].as_object().unwrap() {
            if let Some(tags) = r["Properties"].get("Tags") {
                let keys: Vec<&str> = tags
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["Key"].as_str().unwrap())
                    .collect();
                assert_eq!(keys, ["project", "stage", "feature"], "{f}/{id}");
            } else {
                let kind = r["Type"].as_str().unwrap();
                assert!(
                    matches!(
                        kind,
                        "AWS::S3::BucketPolicy"
                            | "AWS::SQS::QueuePolicy"
                            | "AWS::Lambda::Url"
                            | "AWS::Lambda::Permission"
                            | "AWS::Events::Rule"
                    ),
                    "{f}/{id} ({kind}) has no tags"
                );
            }
        }
    }
}

const GRANT_TEST_PREFIXES: &str = r#"project: civic
stages:
  dev: {}
buckets:
  data:
    owner: ingestion
    prefixes:
      raw:
        key: "raw/{dataset}/"
        writers: [ingest]
        readers: [ingest]
"#;
const GRANT_TEST_FEATURE: &str = "functions:\n  ingest:\n    memory_mb: 512\n    timeout_s: 60\n";

fn sids(prefixes: &str) -> Vec<String> {
    let m = from_texts(prefixes, &[("ingestion", GRANT_TEST_FEATURE)]).unwrap();
    infra_gen::validate::validate(&m).unwrap();
    let t: Value = serde_json::from_str(&synth::synth(&m, "dev")[0].template.to_json()).unwrap();
    t["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn removing_a_writers_grant_drops_the_iam_statement() {
    assert_eq!(
        sids(GRANT_TEST_PREFIXES),
        ["WriteOwnLogs", "ReadRaw", "WriteRaw", "ListDataPrefixes"]
    );
    let without = GRANT_TEST_PREFIXES.replace("        writers: [ingest]\n", "");
    assert_eq!(
        sids(&without),
        ["WriteOwnLogs", "ReadRaw", "ListDataPrefixes"]
    );
}

/// The statements of a role whose actions include an `ssm:` or `kms:` action.
fn secret_statements(role: &Value) -> Vec<&Value> {
    role["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .filter(|st| {
            st["Action"].as_array().unwrap().iter().any(|a| {
                let a = a.as_str().unwrap();
                a.starts_with("ssm:") || a.starts_with("kms:")
            })
        })
        .collect()
}

#[test]
fn parameter_grant_is_exactly_the_declared_parameter_arn() {
    let feature = format!(
        "{GRANT_TEST_FEATURE}    parameters:\n      socrata-app-token:\n        optional: true\n"
    );
    let m = from_texts(GRANT_TEST_PREFIXES, &[("ingestion", &feature)]).unwrap();
    infra_gen::validate::validate(&m).unwrap();
    let t: Value = serde_json::from_str(&synth::synth(&m, "dev")[0].template.to_json()).unwrap();
    let role = &t["Resources"]["IngestRole"];
    assert_eq!(
        secret_statements(role),
        [&serde_json::json!({
            "Sid": "ReadDeclaredParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [{ "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/civic/dev/ingestion/socrata-app-token" }],
        })],
        "one statement, one action, one ARN, and no kms grant (the aws/ssm key policy covers decryption)"
    );
    let env = &t["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        env["CIVIC_PARAM_SOCRATA_APP_TOKEN"], "/civic/dev/ingestion/socrata-app-token",
        "the variable carries the parameter's name"
    );
    assert!(
        resources(&t, "AWS::SSM::Parameter").is_empty(),
        "the operator creates the SecureString; the stack must not"
    );
    // Without the declaration there is no SSM grant and no variable.
    let m = from_texts(GRANT_TEST_PREFIXES, &[("ingestion", GRANT_TEST_FEATURE)]).unwrap();
    let t: Value = serde_json::from_str(&synth::synth(&m, "dev")[0].template.to_json()).unwrap();
    assert!(secret_statements(&t["Resources"]["IngestRole"]).is_empty());
    let env = &t["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"];
    assert!(env.get("CIVIC_PARAM_SOCRATA_APP_TOKEN").is_none(), "{env}");
}

#[test]
fn ssm_grants_of_every_role_are_exactly_its_declared_parameters() {
    let m = load_valid(&root()).unwrap();
    let mut seen = 0;
    for stage in ["dev", "prod"] {
        for s in synth::synth(&m, stage) {
            let t: Value = serde_json::from_str(&s.template.to_json()).unwrap();
            for (name, doc) in m.feature(&s.feature).unwrap().doc.functions.iter() {
                let id = infra_gen::naming::logical(name);
                let role = &t["Resources"][format!("{id}Role")];
                let env = &t["Resources"][format!("{id}Function")]["Properties"]["Environment"]["Variables"];
                let mut want: Vec<String> = Vec::new();
                for (p, _) in doc.parameters.iter() {
                    let path = format!("/civic/{stage}/{}/{p}", s.feature);
                    let var = infra_gen::naming::env_parameter("civic", p);
                    assert_eq!(env[&var], path.as_str(), "{stage}/{name}: {var}");
                    want.push(format!(
                        "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{path}"
                    ));
                    seen += 1;
                }
                let got: Vec<String> = secret_statements(role)
                    .iter()
                    .flat_map(|st| {
                        assert_eq!(
                            st["Action"],
                            serde_json::json!(["ssm:GetParameter"]),
                            "{name}"
                        );
                        st["Resource"].as_array().unwrap().iter()
                    })
                    .map(|r| r["Fn::Sub"].as_str().expect("a parameter ARN").to_string())
                    .collect();
                assert_eq!(got, want, "{stage}/{name}");
            }
        }
    }
    assert!(
        seen > 0,
        "the project's manifests declare at least one parameter"
    );
}

fn copy_root(to: &Path) {
    std::fs::copy(root().join("prefixes.yaml"), to.join("prefixes.yaml")).unwrap();
    for f in ["ingestion", "processing", "ledger"] {
        std::fs::create_dir_all(to.join("features").join(f)).unwrap();
        std::fs::copy(
            root().join(format!("features/{f}/feature.yaml")),
            to.join(format!("features/{f}/feature.yaml")),
        )
        .unwrap();
    }
}

#[test]
fn cli_reports_all_mistakes_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_root(dir.path());
    let p = dir.path().join("features/processing/feature.yaml");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("visibility_timeout_s: 5400", "visibility_timeout_s: 60")
        .replace("timeout_s: 900", "timeout_s: 1000");
    std::fs::write(&p, text).unwrap();
    let out = dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_infra-gen"))
        .args(["synth", "--stage", "dev", "--root"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("features/processing/feature.yaml:18:16: error: timeout_s 1000"),
        "{stderr}"
    );
    assert!(
        stderr.contains("features/processing/feature.yaml:8:27: error: visibility_timeout_s 60"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problems found"), "{stderr}");
    assert!(
        !out.exists(),
        "nothing may be written when validation fails"
    );
}

#[test]
fn cli_synth_writes_one_template_per_feature() {
    let dir = tempfile::tempdir().unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_infra-gen"))
        .current_dir(root())
        .args(["synth", "--stage", "dev", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("civic-dev-processing"), "{stdout}");
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("dev"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "ingestion.template.json",
            "ledger.template.json",
            "processing.template.json"
        ]
    );
}

#[test]
fn only_a_continuing_function_may_invoke_a_function_and_only_itself() {
    let mut seen = 0;
    for (f, t) in templates("dev") {
        for (id, role) in resources(&t, "AWS::IAM::Role") {
            let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone();
            let invokes: Vec<&serde_json::Value> = statements
                .iter()
                .filter(|s| s["Action"].to_string().contains("lambda:"))
                .collect();
            if id == "IngestRole" {
                assert_eq!(invokes.len(), 1, "{f}/{id}");
                assert_eq!(
                    invokes[0]["Action"],
                    serde_json::json!(["lambda:InvokeFunction"])
                );
                assert_eq!(
                    invokes[0]["Resource"],
                    serde_json::json!([{ "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:civic-dev-ingest" }]),
                    "{f}/{id}"
                );
                seen += 1;
            } else {
                assert!(invokes.is_empty(), "{f}/{id}: {invokes:?}");
            }
        }
    }
    assert_eq!(seen, 1);
}
