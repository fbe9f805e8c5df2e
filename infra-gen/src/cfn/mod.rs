//! A typed model of the CloudFormation we emit: template, intrinsic functions, and resource properties.
//!
//! Nothing here builds JSON from strings: each resource's properties are a Rust struct that serializes
//! to exactly the documented CloudFormation shape.

pub mod iam;
pub mod resources;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// A CloudFormation value: a literal or an intrinsic function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Expr {
    Str(String),
    Ref {
        #[serde(rename = "Ref")]
        name: String,
    },
    Sub {
        #[serde(rename = "Fn::Sub")]
        text: String,
    },
    GetAtt {
        #[serde(rename = "Fn::GetAtt")]
        target: [String; 2],
    },
}

impl Expr {
    pub fn str(s: impl Into<String>) -> Self {
        Expr::Str(s.into())
    }
    pub fn reference(name: impl Into<String>) -> Self {
        Expr::Ref { name: name.into() }
    }
    /// `Fn::Sub` when the text has `${...}` variables, a plain string otherwise.
    pub fn sub(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.contains("${") {
            Expr::Sub { text }
        } else {
            Expr::Str(text)
        }
    }
    pub fn get_att(resource: impl Into<String>, attribute: impl Into<String>) -> Self {
        Expr::GetAtt {
            target: [resource.into(), attribute.into()],
        }
    }
}

/// A resource type's properties.
pub trait Properties: Serialize {
    const TYPE: &'static str;
}

/// A checkov check skipped on one resource, with the reason recorded in the template's Metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckovSkip {
    pub id: &'static str,
    pub comment: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_replace_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    pub properties: Value,
}

impl Resource {
    pub fn new<P: Properties>(props: &P) -> Self {
        Resource {
            kind: P::TYPE,
            deletion_policy: None,
            update_replace_policy: None,
            depends_on: Vec::new(),
            metadata: None,
            properties: serde_json::to_value(props).expect("resource properties serialize"),
        }
    }

    /// Keep the resource (and its data) when the stack is deleted or the resource replaced.
    pub fn retain(mut self) -> Self {
        self.deletion_policy = Some("Retain");
        self.update_replace_policy = Some("Retain");
        self
    }

    pub fn depends_on(mut self, logical_id: impl Into<String>) -> Self {
        self.depends_on.push(logical_id.into());
        self
    }

    /// Record checkov skips, each with its justification, in the resource's Metadata.
    pub fn checkov_skips(mut self, skips: &[CheckovSkip]) -> Self {
        if !skips.is_empty() {
            self.metadata = Some(serde_json::json!({ "checkov": { "skip": skips } }));
        }
        self
    }

    pub fn skip_ids(&self) -> Vec<String> {
        self.metadata
            .as_ref()
            .and_then(|m| m.pointer("/checkov/skip"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraint_description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    pub description: String,
    pub value: Expr,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// One stack's template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    #[serde(rename = "AWSTemplateFormatVersion")]
    pub version: &'static str,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Parameters", skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, Parameter>,
    #[serde(rename = "Resources")]
    pub resources: IndexMap<String, Resource>,
    #[serde(rename = "Outputs", skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, Output>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Self {
        Template {
            version: "2010-09-09",
            description: description.into(),
            parameters: IndexMap::new(),
            resources: IndexMap::new(),
            outputs: IndexMap::new(),
        }
    }

    /// Add a resource under a logical id. Panics on a duplicate id: that is a bug in an emitter.
    pub fn add(&mut self, logical_id: impl Into<String>, resource: Resource) {
        let id = logical_id.into();
        assert!(
            self.resources.insert(id.clone(), resource).is_none(),
            "duplicate logical id {id}"
        );
    }

    pub fn output(&mut self, id: impl Into<String>, description: impl Into<String>, value: Expr) {
        self.outputs.insert(
            id.into(),
            Output {
                description: description.into(),
                value,
            },
        );
    }

    /// Pretty JSON with a trailing newline; byte-identical for identical input.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("template serializes");
        s.push('\n');
        s
    }
}
