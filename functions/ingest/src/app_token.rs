//! The Socrata app token, resolved once at cold start ([`crate::Function::new`]) from the SSM SecureString
//! parameter that `features/ingestion/feature.yaml` declares (`parameters: { socrata-app-token: ... }`), read
//! through the platform ([`platform::Platform::parameter`]: SSM in Lambda, the topology's values locally).
//!
//! The template passes the parameter's NAME in an env var and grants `ssm:GetParameter` on exactly
//! that parameter; the value only ever lives in memory here and in the `X-App-Token` header. It is
//! never logged: [`AppToken`]'s `Debug` is redacted. Where the variable is unset (no deployed
//! parameter), the function sends anonymous requests.

use std::fmt;

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
}

impl From<TokenError> for crate::Error {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Missing { .. } => crate::Error::internal(e),
            TokenError::Read { .. } => crate::Error::retryable(e),
        }
    }
}

/// The function's token: the parameter named by its env var, or `None` (without asking the platform for
/// any parameter) when the variable is unset.
pub async fn resolve(
    platform: &dyn platform::Platform,
    parameter: &prefixes::Parameter,
) -> Result<Option<AppToken>, TokenError> {
    match platform.parameter_name(parameter) {
        Some(name) => fetch(platform, parameter, &name).await,
        None => Ok(None),
    }
}

/// The parameter with physical `name`, decrypted. A missing optional parameter is `None` with one info
/// line; a missing required one, or any other failure, is an error.
pub async fn fetch(
    platform: &dyn platform::Platform,
    parameter: &prefixes::Parameter,
    name: &str,
) -> Result<Option<AppToken>, TokenError> {
    match platform.parameter(name).await {
        Ok(Some(value)) => Ok(Some(AppToken(value))),
        Ok(None) if parameter.optional => {
            tracing::info!(
                parameter = name,
                "SSM parameter not found; Socrata requests go without an app token"
            );
            Ok(None)
        }
        Ok(None) => Err(TokenError::Missing { name: name.into() }),
        Err(platform::Error::Parameter { reason, .. }) => Err(TokenError::Read {
            name: name.into(),
            message: reason,
        }),
        Err(e) => Err(TokenError::Read {
            name: name.into(),
            message: e.to_string(),
        }),
    }
}
