//! The Socrata app token, resolved once at cold start from the SSM SecureString parameter that
//! `features/ingestion/feature.yaml` declares (`parameters: { socrata-app-token: ... }`).
//!
//! The template passes the parameter's NAME in an env var and grants `ssm:GetParameter` on exactly
//! that parameter; the value only ever lives in memory here and in the `X-App-Token` header. It is
//! never logged: [`AppToken`]'s `Debug` is redacted. Outside the cloud the env var is unset and the
//! Socrata source falls back to `SOCRATA_APP_TOKEN`.

use std::fmt;

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;

/// The declared parameter (generated from the manifest).
pub const PARAMETER: prefixes::Parameter = prefixes::ingest::parameters::SOCRATA_APP_TOKEN;

/// A Socrata app token. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct AppToken(String);

impl AppToken {
    pub fn new(token: impl Into<String>) -> Self {
        AppToken(token.into())
    }
    /// The token itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppToken(<redacted>)")
    }
}

/// Why the token could not be resolved. Every message names the parameter, never the value.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "SSM parameter {name} does not exist and the function needs it: create it with \
         `aws ssm put-parameter --type SecureString --name {name} --value ...`"
    )]
    Missing { name: String },
    #[error("cannot read SSM parameter {name}: {message}")]
    Read { name: String, message: String },
    #[error("SSM parameter {name} has no value")]
    NoValue { name: String },
}

/// The token of the deployed function: read the parameter named by its env var, or `None` (without
/// calling SSM) when the variable is unset, as in local runs.
pub async fn resolve(
    parameter: &prefixes::Parameter,
    ssm: &aws_sdk_ssm::Client,
) -> Result<Option<AppToken>, TokenError> {
    match parameter.physical_name() {
        Ok(name) => fetch(ssm, parameter, &name).await,
        Err(_) => Ok(None),
    }
}

/// `GetParameter` with decryption on the parameter's physical `name`. A missing optional parameter
/// is `None` with one info line; a missing required one, or any other failure, is an error.
pub async fn fetch(
    ssm: &aws_sdk_ssm::Client,
    parameter: &prefixes::Parameter,
    name: &str,
) -> Result<Option<AppToken>, TokenError> {
    let got = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await;
    match got {
        Ok(out) => match out.parameter.and_then(|p| p.value) {
            Some(value) => Ok(Some(AppToken(value))),
            None => Err(TokenError::NoValue { name: name.into() }),
        },
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(GetParameterError::ParameterNotFound(_))
            ) =>
        {
            if parameter.optional {
                tracing::info!(
                    parameter = name,
                    "SSM parameter not found; Socrata requests go without an app token"
                );
                Ok(None)
            } else {
                Err(TokenError::Missing { name: name.into() })
            }
        }
        Err(e) => Err(TokenError::Read {
            name: name.into(),
            message: DisplayErrorContext(&e).to_string(),
        }),
    }
}
