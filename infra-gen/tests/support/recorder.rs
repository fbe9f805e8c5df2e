//! An SDK interceptor that records every request the CloudFormation and S3 clients transmit: method,
//! URI and, for the query protocol (CloudFormation), the decoded form parameters.
#![allow(dead_code)] // shared by several test binaries; each uses a part

use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_cloudformation::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudformation::error::BoxError;

/// One transmitted request.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub uri: String,
    /// Form parameters (`Action`, `StackName`, `RoleARN`, `TemplateURL`, ...); empty for REST calls.
    pub form: Vec<(String, String)>,
}

impl Sent {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Sent>>>);

impl Recorder {
    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decode an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "RequestRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let form = if req
            .headers()
            .get("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        {
            parse_form(req.body().bytes().unwrap_or_default())
        } else {
            Vec::new()
        };
        self.0.lock().unwrap().push(Sent {
            method: req.method().to_string(),
            uri: req.uri().to_string(),
            form,
        });
        Ok(())
    }
}
