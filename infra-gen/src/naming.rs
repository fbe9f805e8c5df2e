//! Deterministic physical names and environment variable names.
//!
//! Names are built from project, stage and the manifest name (SSM parameters are the path
//! `/<project>/<stage>/<feature>/<parameter>`); buckets add `${AWS::AccountId}-${AWS::Region}`
//! and IAM roles (global per account) add the region. Because every name is computable, no stack ever
//! needs `Export`/`Fn::ImportValue` to reach another feature's bucket or queue.

/// The longest AWS region name (e.g. `ap-southeast-3`), used to check name lengths before deploy.
pub const MAX_REGION_LEN: usize = 14;
/// An AWS account id is 12 digits.
pub const ACCOUNT_ID_LEN: usize = 12;

/// AWS limits on physical names.
pub const MAX_BUCKET: usize = 63;
pub const MAX_FUNCTION: usize = 64;
pub const MAX_QUEUE: usize = 80;
pub const MAX_ROLE: usize = 64;
pub const MAX_RULE: usize = 64;

/// The name part of the CloudFormation service role (`<project>-<stage>-cfn-deploy-<region>`).
pub const SERVICE_ROLE: &str = "cfn-deploy";

/// Suffix of a dead-letter queue's name.
pub const DLQ_SUFFIX: &str = "-dlq";

#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub project: &'a str,
    pub stage: &'a str,
}

impl<'a> Names<'a> {
    pub fn new(project: &'a str, stage: &'a str) -> Self {
        Names { project, stage }
    }
    fn base(&self, name: &str) -> String {
        format!("{}-{}-{}", self.project, self.stage, name)
    }
    pub fn stack(&self, feature: &str) -> String {
        self.base(feature)
    }
    pub fn function(&self, function: &str) -> String {
        self.base(function)
    }
    pub fn log_group(&self, function: &str) -> String {
        format!("/aws/lambda/{}", self.function(function))
    }
    pub fn queue(&self, queue: &str) -> String {
        self.base(queue)
    }
    pub fn dlq(&self, queue: &str) -> String {
        format!("{}{DLQ_SUFFIX}", self.base(queue))
    }
    /// `Fn::Sub` text of a role name; roles are global, so the region keeps stacks of two regions apart.
    pub fn role_sub(&self, function: &str) -> String {
        format!("{}-${{AWS::Region}}", self.base(function))
    }
    pub fn role_max_len(&self, function: &str) -> usize {
        self.base(function).len() + 1 + MAX_REGION_LEN
    }
    /// `Fn::Sub` text of a bucket name.
    pub fn bucket_sub(&self, bucket: &str) -> String {
        format!("{}-${{AWS::AccountId}}-${{AWS::Region}}", self.base(bucket))
    }
    pub fn bucket_max_len(&self, bucket: &str) -> usize {
        self.base(bucket).len() + 1 + ACCOUNT_ID_LEN + 1 + MAX_REGION_LEN
    }
    /// The assets bucket that `infra-gen bootstrap` creates for function packages and large templates.
    pub fn assets_bucket_sub(&self) -> String {
        self.bucket_sub("assets")
    }
    /// `Fn::Sub` text of the stage's CloudFormation service role (bootstrap stack), which deploys the
    /// feature stacks. The function name `cfn-deploy` is reserved so no function role can take it.
    pub fn service_role_sub(&self) -> String {
        self.role_sub(SERVICE_ROLE)
    }
    pub fn rule(&self, function: &str) -> String {
        format!("{}-trigger", self.base(function))
    }
    pub fn queue_url_sub(&self, queue: &str) -> String {
        format!(
            "https://sqs.${{AWS::Region}}.${{AWS::URLSuffix}}/${{AWS::AccountId}}/{}",
            self.queue(queue)
        )
    }
    pub fn dlq_url_sub(&self, queue: &str) -> String {
        format!(
            "https://sqs.${{AWS::Region}}.${{AWS::URLSuffix}}/${{AWS::AccountId}}/{}",
            self.dlq(queue)
        )
    }
    pub fn dlq_arn_sub(&self, queue: &str) -> String {
        format!(
            "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{}",
            self.dlq(queue)
        )
    }
    pub fn queue_arn_sub(&self, queue: &str) -> String {
        format!(
            "arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{}",
            self.queue(queue)
        )
    }
    pub fn bucket_arn_sub(&self, bucket: &str) -> String {
        format!("arn:${{AWS::Partition}}:s3:::{}", self.bucket_sub(bucket))
    }
    /// The SSM parameter a function of `feature` reads: `/<project>/<stage>/<feature>/<parameter>`.
    /// A path rather than a dashed name, so an operator can list or restrict a stage's parameters by path.
    pub fn parameter(&self, feature: &str, parameter: &str) -> String {
        format!("/{}/{}/{feature}/{parameter}", self.project, self.stage)
    }
    /// `Fn::Sub` text of a parameter's ARN. The name starts with `/`, which the ARN does not repeat.
    pub fn parameter_arn_sub(&self, feature: &str, parameter: &str) -> String {
        format!(
            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{}",
            self.parameter(feature, parameter)
        )
    }
}

fn env_part(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// The environment variable that carries a bucket's physical name to a function.
pub fn env_bucket(project: &str, bucket: &str) -> String {
    format!("{}_BUCKET_{}", env_part(project), env_part(bucket))
}

/// The environment variable that carries a queue's URL to a function.
pub fn env_queue_url(project: &str, queue: &str) -> String {
    format!("{}_QUEUE_{}_URL", env_part(project), env_part(queue))
}

/// The environment variable that carries a queue's dead-letter queue URL (to its consumer).
pub fn env_dlq_url(project: &str, queue: &str) -> String {
    format!("{}_QUEUE_{}_DLQ_URL", env_part(project), env_part(queue))
}

/// The environment variable that carries an SSM parameter's NAME (never its value) to a function.
pub fn env_parameter(project: &str, parameter: &str) -> String {
    format!("{}_PARAM_{}", env_part(project), env_part(parameter))
}

/// The environment variable that carries the stage name.
pub fn env_stage(project: &str) -> String {
    format!("{}_STAGE", env_part(project))
}

/// A name usable as part of a CloudFormation logical id: `ledger-api` -> `LedgerApi`.
pub fn logical(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A Rust identifier for a manifest name: `ledger-api` -> `ledger_api`.
pub fn rust_ident(name: &str) -> String {
    name.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic() {
        let n = Names::new("civic", "dev");
        assert_eq!(n.function("ledger-api"), "civic-dev-ledger-api");
        assert_eq!(n.dlq("worklist"), "civic-dev-worklist-dlq");
        assert_eq!(
            n.bucket_sub("data"),
            "civic-dev-data-${AWS::AccountId}-${AWS::Region}"
        );
        assert_eq!(
            n.bucket_max_len("data"),
            "civic-dev-data-123456789012-ap-southeast-3".len()
        );
        assert_eq!(env_bucket("civic", "data"), "CIVIC_BUCKET_DATA");
        assert_eq!(
            env_queue_url("civic", "work-list"),
            "CIVIC_QUEUE_WORK_LIST_URL"
        );
        assert_eq!(logical("ledger-api"), "LedgerApi");
        assert_eq!(
            n.parameter("ingestion", "socrata-app-token"),
            "/civic/dev/ingestion/socrata-app-token"
        );
        assert_eq!(
            n.parameter_arn_sub("ingestion", "socrata-app-token"),
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/civic/dev/ingestion/socrata-app-token"
        );
        assert_eq!(
            env_parameter("civic", "socrata-app-token"),
            "CIVIC_PARAM_SOCRATA_APP_TOKEN"
        );
    }
}
