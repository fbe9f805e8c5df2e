//! `infra-gen ci-role`: the IAM trust policy for GitHub Actions OIDC, so CI deploys without long-lived
//! keys, and the CI role's permissions: change sets through the stage's CloudFormation service role.

use serde_json::{Value, json};

use crate::emit::bootstrap_stack;
use crate::manifest::Manifests;
use crate::naming::Names;

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

/// What the CI principal may do, and nothing more: drive change sets on this project's feature stacks
/// (through the stage's CloudFormation service role, which it may pass and nothing else), read the
/// bootstrap stack, and put and read packages and large templates in the assets bucket. The resources
/// themselves are created by CloudFormation acting as the service role (`infra-gen bootstrap`), so the
/// CI role holds no bucket, queue, Lambda, IAM or logs permission. A new feature needs this policy
/// re-applied; a new resource type needs `infra-gen bootstrap` (run by an operator, never by CI).
pub fn permissions_policy(m: &Manifests, account: &str) -> Value {
    let project = m.project();
    let stages = m.stage_names();
    let stack_arn = |name: &str| format!("arn:aws:cloudformation:*:{account}:stack/{name}/*");
    let mut feature_stacks = Vec::new();
    let mut bootstrap_stacks = Vec::new();
    let mut service_roles = Vec::new();
    let mut assets = Vec::new();
    let mut assets_objects = Vec::new();
    for stage in &stages {
        let names = Names::new(project, stage);
        for f in m.deploy_order() {
            feature_stacks.push(stack_arn(&names.stack(&f.name)));
        }
        bootstrap_stacks.push(stack_arn(&bootstrap_stack(m, stage)));
        let role = names.service_role_sub().replace("${AWS::Region}", "*");
        service_roles.push(format!("arn:aws:iam::{account}:role/{role}"));
        let bucket = names
            .assets_bucket_sub()
            .replace("${AWS::AccountId}", account)
            .replace("${AWS::Region}", "*");
        assets.push(format!("arn:aws:s3:::{bucket}"));
        assets_objects.push(format!("arn:aws:s3:::{bucket}/*"));
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "ChangeSetsOnFeatureStacks", "Effect": "Allow",
              "Action": CHANGE_SET_ACTIONS,
              "Resource": feature_stacks.clone() },
            { "Sid": "RecoverFeatureStacks", "Effect": "Allow",
              "Action": RECOVERY_ACTIONS,
              "Resource": feature_stacks },
            { "Sid": "ReadBootstrapStacks", "Effect": "Allow",
              "Action": ["cloudformation:DescribeStacks"],
              "Resource": bootstrap_stacks },
            { "Sid": "PassTheServiceRole", "Effect": "Allow", "Action": ["iam:PassRole"],
              "Resource": service_roles,
              "Condition": { "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } } },
            { "Sid": "AssetsObjects", "Effect": "Allow",
              "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": assets_objects },
            // Without ListBucket, HeadObject of a key not uploaded yet answers 403 instead of 404.
            { "Sid": "AssetsListing", "Effect": "Allow",
              "Action": ["s3:ListBucket"],
              "Resource": assets }
        ]
    })
}

/// Change set actions, and the reads deploy makes while it waits (stack status, events).
pub const CHANGE_SET_ACTIONS: &[&str] = &[
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
];

/// The recoveries deploy makes by itself (`deploy::plan::StackAction`): delete a stack whose first
/// create rolled back (ROLLBACK_COMPLETE holds no resources), continue a failed update rollback.
/// Both pass the service role, so CloudFormation acts with its permissions, not the CI role's.
pub const RECOVERY_ACTIONS: &[&str] = &[
    "cloudformation:DeleteStack",
    "cloudformation:ContinueUpdateRollback",
];

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
