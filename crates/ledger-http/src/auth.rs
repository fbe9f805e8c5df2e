//! Write authorization: a bearer token locally, the platform (IAM on the Function URL) in AWS, or none.

use axum::http::{HeaderMap, StatusCode, header};

use crate::error::ApiError;

/// How writes (`POST /events`) are authorized.
#[derive(Clone)]
pub enum WriteAuth {
    /// Writes need `Authorization: Bearer <token>`; 401 when absent or wrong.
    Bearer(String),
    /// Authorization happens in front of the app (AWS IAM / SigV4 on the Lambda Function URL).
    Platform,
    /// Writes are refused with 403.
    ReadOnly,
}

impl std::fmt::Debug for WriteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteAuth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            WriteAuth::Platform => f.write_str("Platform"),
            WriteAuth::ReadOnly => f.write_str("ReadOnly"),
        }
    }
}

impl WriteAuth {
    /// Checks a write request's headers.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        match self {
            WriteAuth::Platform => Ok(()),
            WriteAuth::ReadOnly => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this ledger server is read-only",
            )),
            WriteAuth::Bearer(expected) => {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                match given {
                    Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => {
                        Ok(())
                    }
                    Some(_) => Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "wrong bearer token",
                    )),
                    None => Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "writes need `Authorization: Bearer <token>`",
                    )),
                }
            }
        }
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn bearer_token_is_checked() {
        let auth = WriteAuth::Bearer("s3cret".into());
        assert!(auth.check(&headers(Some("Bearer s3cret"))).is_ok());
        assert_eq!(
            auth.check(&headers(Some("Bearer s3cre")))
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            auth.check(&headers(Some("Basic s3cret")))
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            auth.check(&headers(None)).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            WriteAuth::ReadOnly
                .check(&headers(None))
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert!(WriteAuth::Platform.check(&headers(None)).is_ok());
        assert_eq!(format!("{auth:?}"), "Bearer(<redacted>)");
    }
}
