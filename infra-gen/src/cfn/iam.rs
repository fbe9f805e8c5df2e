//! IAM policy documents as types. An `Allow` statement never has a `*` action, and a `*` resource
//! needs a written reason ([`Statement::any_resource`]); the emitter tests check both.

use serde::Serialize;
use serde_json::Value;

use super::Expr;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: &'static str,
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
}

impl PolicyDocument {
    pub fn new(statements: Vec<Statement>) -> Self {
        PolicyDocument {
            version: "2012-10-17",
            statements,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Value>,
    pub action: Vec<&'static str>,
    /// Empty only in trust policies, which have no Resource element.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<Expr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// Why this statement needs `*` as its resource (not serialized; AWS offers no resource-level
    /// permission for these actions). `None` for every scoped statement.
    #[serde(skip)]
    pub wildcard_reason: Option<&'static str>,
}

impl Statement {
    pub fn allow(sid: impl Into<String>, action: Vec<&'static str>, resource: Vec<Expr>) -> Self {
        assert!(
            action.iter().all(|a| !a.contains('*')),
            "Allow statements name their actions"
        );
        Statement {
            sid: sid.into(),
            effect: Effect::Allow,
            principal: None,
            action,
            resource,
            condition: None,
            wildcard_reason: None,
        }
    }

    /// An Allow on `*` for actions without resource-level permissions; the reason is mandatory.
    pub fn any_resource(
        sid: impl Into<String>,
        action: Vec<&'static str>,
        reason: &'static str,
    ) -> Self {
        let mut s = Statement::allow(sid, action, vec![Expr::str("*")]);
        s.wildcard_reason = Some(reason);
        s
    }

    /// A trust policy statement letting an AWS service assume the role.
    pub fn trust_service(service: &'static str) -> Self {
        Statement {
            sid: "ServiceAssumesRole".into(),
            effect: Effect::Allow,
            principal: Some(serde_json::json!({ "Service": service })),
            action: vec!["sts:AssumeRole"],
            resource: Vec::new(),
            condition: None,
            wildcard_reason: None,
        }
    }

    /// Deny everything on the resources when the request is not over TLS.
    pub fn deny_insecure_transport(service_wildcard: &'static str, resource: Vec<Expr>) -> Self {
        Statement {
            sid: "DenyInsecureTransport".into(),
            effect: Effect::Deny,
            principal: Some(Value::String("*".into())),
            action: vec![service_wildcard],
            resource,
            condition: Some(serde_json::json!({ "Bool": { "aws:SecureTransport": "false" } })),
            wildcard_reason: None,
        }
    }

    pub fn condition(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }
}
