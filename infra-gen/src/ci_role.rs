//! `infra-gen ci-role`: the IAM trust policy for GitHub Actions OIDC, so CI deploys without long-lived keys.

use serde_json::{Value, json};

/// Trust policy for a role assumed by `aws-actions/configure-aws-credentials` from `repo` (OWNER/NAME):
/// pushes to main, and jobs running in a GitHub environment (the prod gate).
pub fn trust_policy(account: &str, repo: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsOidc",
            "Effect": "Allow",
            "Principal": { "Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com") },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                "StringLike": { "token.actions.githubusercontent.com:sub": [
                    format!("repo:{repo}:ref:refs/heads/main"),
                    format!("repo:{repo}:environment:*")
                ]}
            }
        }]
    })
}

/// Permissions the deploy role needs, scoped to this project's names.
pub fn permissions_policy(project: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "Stacks", "Effect": "Allow",
              "Action": ["cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
                         "cloudformation:DeleteChangeSet", "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
                         "cloudformation:DeleteStack", "cloudformation:ContinueUpdateRollback", "cloudformation:GetTemplate"],
              "Resource": format!("arn:aws:cloudformation:*:*:stack/{project}-*/*") },
            { "Sid": "Assets", "Effect": "Allow",
              "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": format!("arn:aws:s3:::{project}-*-assets-*/*") },
            { "Sid": "PassFunctionRoles", "Effect": "Allow", "Action": "iam:PassRole",
              "Resource": format!("arn:aws:iam::*:role/{project}-*"),
              "Condition": { "StringEquals": { "iam:PassedToService": "lambda.amazonaws.com" } } }
        ]
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn trust_policy_scopes_to_the_repository() {
        let p = super::trust_policy("123456789012", "acme/civic");
        let subs = &p["Statement"][0]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"];
        assert_eq!(subs[0], "repo:acme/civic:ref:refs/heads/main");
        assert_eq!(
            p["Statement"][0]["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
    }
}
