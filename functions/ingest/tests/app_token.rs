//! Resolving the Socrata app token through the platform: from SSM against moto (skipped with a message when moto
//! is absent) with the AWS platform, from the topology's value with the local one, and the failure paths: a
//! missing required parameter, and SSM unreachable.

mod common;

use ingest::app_token::{PARAMETER, TokenError, fetch};

const NAME: &str = "/civic/test/ingestion/socrata-app-token";

#[test]
fn the_manifest_declares_the_token_optional() {
    assert_eq!(
        (PARAMETER.name, PARAMETER.env, PARAMETER.optional),
        ("socrata-app-token", "CIVIC_PARAM_SOCRATA_APP_TOKEN", true)
    );
}

#[tokio::test]
async fn a_secure_string_parameter_is_decrypted_and_used() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let config = moto.sdk_config().await;
    aws_sdk_ssm::Client::new(&config)
        .put_parameter()
        .name(NAME)
        .value("tok-from-ssm")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let aws = platform::Aws::from_config(&config);
    let token = fetch(&aws, &PARAMETER, NAME).await.unwrap();
    assert_eq!(token.as_ref().map(|t| t.expose()), Some("tok-from-ssm"));
    // The token reaches the Socrata source of a catalogued year.
    let event: ingest::IngestEvent =
        serde_json::from_value(serde_json::json!({"dataset": "la311", "year": 2024})).unwrap();
    let spec = ingest::dataset_spec("la311").unwrap();
    let ingest_core::SourceSpec::Socrata(s) =
        ingest::source_of(&event, &spec, token.as_ref()).unwrap()
    else {
        panic!("a catalogued year is a Socrata source")
    };
    assert_eq!(s.app_token.as_deref(), Some("tok-from-ssm"));
}

#[tokio::test]
async fn an_absent_optional_parameter_means_no_token() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let aws = platform::Aws::from_config(&moto.sdk_config().await);
    assert_eq!(fetch(&aws, &PARAMETER, NAME).await.unwrap(), None);
}

#[tokio::test]
async fn an_absent_required_parameter_is_an_error_naming_it() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let aws = platform::Aws::from_config(&moto.sdk_config().await);
    let required = prefixes::Parameter {
        optional: false,
        ..PARAMETER
    };
    let err = fetch(&aws, &required, NAME).await.unwrap_err();
    assert!(matches!(err, TokenError::Missing { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(NAME), "{text}");
    assert!(text.contains("--type SecureString"), "{text}");
}

#[tokio::test]
async fn an_unreachable_ssm_fails_with_the_parameter_name_even_when_optional() {
    // Nothing listens on port 1: the request fails before SSM could say "not found".
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:1")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let aws = platform::Aws::from_config(&config);
    let err = fetch(&aws, &PARAMETER, NAME).await.unwrap_err();
    assert!(matches!(err, TokenError::Read { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read SSM parameter {NAME}: ")),
        "{err}"
    );
    assert_eq!(
        ingest::Error::from(err).category,
        ingest::Category::Retryable
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_function_reads_the_token_the_platform_provides_at_cold_start() {
    let dir = tempfile::tempdir().unwrap();
    let common::Setup { mut platform, .. } = common::setup(dir.path(), &[(PARAMETER.env, NAME)]);
    // The variable names the parameter, but nothing provides it: optional, so no token.
    let function = ingest::Function::new(&platform).await.unwrap();
    assert!(!function.has_app_token());
    platform.set_parameter(NAME, "tok-local");
    assert_eq!(
        ingest::app_token::resolve(&platform, &PARAMETER)
            .await
            .unwrap()
            .map(|t| t.expose().to_owned()),
        Some("tok-local".to_owned())
    );
    assert!(
        ingest::Function::new(&platform)
            .await
            .unwrap()
            .has_app_token()
    );
}
