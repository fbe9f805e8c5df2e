//! The pure half of deploying: what to do for a stack in a given state, and how to read a change set.
//!
//! No AWS calls here, so every branch is unit-tested without a server.

use std::fmt::Write as _;

/// What deploy does with a stack, decided from its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackAction {
    /// No stack: create it through a CREATE change set.
    Create,
    /// A stable stack: update it through an UPDATE change set.
    Update,
    /// A first create failed and rolled back: the stack is unusable; delete it, then create.
    DeleteThenCreate,
    /// An update's rollback failed: continue the rollback, then update.
    ContinueRollbackThenUpdate,
    /// An operation is running; wait for it to end, then decide again.
    WaitThenRetry,
    /// A state deploy cannot fix by itself.
    Refuse(String),
}

/// How many times deploy asks CloudFormation to continue a failed update rollback before it gives up
/// and names the stack, its status reason and the console page (a rollback that fails again needs a
/// person: usually `--resources-to-skip` for a resource changed or deleted outside CloudFormation).
pub const CONTINUE_ROLLBACK_ATTEMPTS: u32 = 3;

/// How many decisions one stack deploy makes before it stops waiting for the stack to settle
/// (each recovery is a decision, and so is each wait for a running operation).
pub const MAX_RECOVERY_STEPS: u32 = 10;

/// What has been tried on one stack so far in this deploy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// `ContinueUpdateRollback` calls made.
    pub continued: u32,
    /// Decisions made (every branch of [`Recovery::next`]).
    pub steps: u32,
}

/// Why recovery stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// The stack is still `UPDATE_ROLLBACK_FAILED` after [`CONTINUE_ROLLBACK_ATTEMPTS`] continuations.
    RollbackStillFailed { attempts: u32 },
    /// The stack did not reach a state deploy can act on within [`MAX_RECOVERY_STEPS`] decisions.
    NoProgress { last_status: String },
}

impl Recovery {
    /// The next action for `status`, counting it; `Err` when recovery must stop.
    pub fn next(&mut self, status: Option<&str>) -> Result<StackAction, GiveUp> {
        if self.steps >= MAX_RECOVERY_STEPS {
            return Err(GiveUp::NoProgress {
                last_status: status.unwrap_or("no stack").to_string(),
            });
        }
        self.steps += 1;
        let action = action_for(status);
        if action == StackAction::ContinueRollbackThenUpdate {
            if self.continued >= CONTINUE_ROLLBACK_ATTEMPTS {
                return Err(GiveUp::RollbackStillFailed {
                    attempts: self.continued,
                });
            }
            self.continued += 1;
        }
        Ok(action)
    }
}

/// The CloudFormation console page of a stack (its id is an ARN, which the console takes encoded).
pub fn console_url(region: &str, stack_id: &str) -> String {
    let mut id = String::new();
    for b in stack_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            id.push(b as char);
        } else {
            let _ = write!(id, "%{b:02X}");
        }
    }
    format!(
        "https://{region}.console.aws.amazon.com/cloudformation/home?region={region}#/stacks/stackinfo?stackId={id}"
    )
}

/// The error deploy ends with when it gives up on a stack: the stack, what was tried, CloudFormation's
/// status reason, the console page and the command that usually fixes it.
pub fn give_up_message(
    stack: &str,
    why: &GiveUp,
    status_reason: Option<&str>,
    console: &str,
) -> String {
    let reason = status_reason
        .filter(|r| !r.is_empty())
        .unwrap_or("CloudFormation gave no status reason");
    match why {
        GiveUp::RollbackStillFailed { attempts } => format!(
            "{stack}: still UPDATE_ROLLBACK_FAILED after {attempts} ContinueUpdateRollback attempt(s); status reason: {reason}; \
             see {console}; fix or skip the resources that cannot roll back \
             (`aws cloudformation continue-update-rollback --stack-name {stack} --resources-to-skip <LogicalId>...`), then deploy again"
        ),
        GiveUp::NoProgress { last_status } => format!(
            "{stack}: did not reach a deployable state after {MAX_RECOVERY_STEPS} recovery steps (last status {last_status}); \
             status reason: {reason}; see {console}"
        ),
    }
}

/// Decide from `status` (None: the stack does not exist).
pub fn action_for(status: Option<&str>) -> StackAction {
    let Some(s) = status else {
        return StackAction::Create;
    };
    match s {
        "ROLLBACK_COMPLETE" => StackAction::DeleteThenCreate,
        "UPDATE_ROLLBACK_FAILED" => StackAction::ContinueRollbackThenUpdate,
        // A stack whose CREATE change set was never executed (or failed to execute) holds no
        // resources; a new CREATE change set on it is allowed.
        "DELETE_COMPLETE" | "REVIEW_IN_PROGRESS" => StackAction::Create,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackAction::Update,
        s if s.ends_with("_IN_PROGRESS") => StackAction::WaitThenRetry,
        other => StackAction::Refuse(format!(
            "stack is in state {other}; fix it in the CloudFormation console (or `infra-gen destroy`) and deploy again"
        )),
    }
}

/// Whether a stack status is final (no operation running).
pub fn is_terminal(status: &str) -> bool {
    status == "REVIEW_IN_PROGRESS" || !status.ends_with("_IN_PROGRESS")
}

/// Whether a final status means the last operation succeeded.
pub fn is_success(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE"
    )
}

/// What a failed change set means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSetOutcome {
    /// The template and parameters equal the deployed ones: nothing to do.
    NoChanges,
    /// A real failure, with CloudFormation's reason.
    Failed(String),
}

/// Classify a FAILED change set by its status reason.
pub fn failed_change_set(reason: &str) -> ChangeSetOutcome {
    let r = reason.to_ascii_lowercase();
    if r.contains("didn't contain changes")
        || r.contains("no updates are to be performed")
        || r.contains("does not contain changes")
    {
        ChangeSetOutcome::NoChanges
    } else {
        ChangeSetOutcome::Failed(reason.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Modify,
    Remove,
    Other,
}

/// One row of a change set, as we show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub kind: ChangeKind,
    pub logical_id: String,
    pub resource_type: String,
    /// For modifications: `True`, `False` or `Conditional` (whether the resource is replaced).
    pub replacement: Option<String>,
}

impl ChangeRow {
    pub fn replaces(&self) -> bool {
        self.kind == ChangeKind::Modify
            && matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }

    /// A removal or replacement of a resource that holds data (bucket or queue).
    pub fn is_destructive(&self) -> bool {
        let holds_data = matches!(
            self.resource_type.as_str(),
            "AWS::S3::Bucket" | "AWS::SQS::Queue"
        );
        holds_data && (self.kind == ChangeKind::Remove || self.replaces())
    }
}

/// Map CloudFormation's action names.
pub fn change_kind(action: &str) -> ChangeKind {
    match action {
        "Add" => ChangeKind::Add,
        "Modify" => ChangeKind::Modify,
        "Remove" => ChangeKind::Remove,
        _ => ChangeKind::Other,
    }
}

/// A readable diff: `+` add, `~` modify (with `replace` when the resource is replaced), `-` remove.
pub fn render_changes(stack: &str, rows: &[ChangeRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{stack}: {} change(s)", rows.len());
    for r in rows {
        let (sign, note) = match r.kind {
            ChangeKind::Add => ("+", String::new()),
            ChangeKind::Remove => ("-", String::new()),
            ChangeKind::Modify => match r.replacement.as_deref() {
                Some("True") => ("~", "  (REPLACE)".to_string()),
                Some("Conditional") => ("~", "  (may replace)".to_string()),
                _ => ("~", String::new()),
            },
            ChangeKind::Other => ("?", String::new()),
        };
        let warn = if r.is_destructive() {
            "  <- data resource"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {sign} {:<28} {}{note}{warn}",
            r.logical_id, r.resource_type
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: ChangeKind, ty: &str, replacement: Option<&str>) -> ChangeRow {
        ChangeRow {
            kind,
            logical_id: "X".into(),
            resource_type: ty.into(),
            replacement: replacement.map(String::from),
        }
    }

    #[test]
    fn state_machine() {
        assert_eq!(action_for(None), StackAction::Create);
        assert_eq!(action_for(Some("CREATE_COMPLETE")), StackAction::Update);
        assert_eq!(
            action_for(Some("UPDATE_ROLLBACK_COMPLETE")),
            StackAction::Update
        );
        assert_eq!(
            action_for(Some("ROLLBACK_COMPLETE")),
            StackAction::DeleteThenCreate
        );
        assert_eq!(
            action_for(Some("UPDATE_ROLLBACK_FAILED")),
            StackAction::ContinueRollbackThenUpdate
        );
        assert_eq!(
            action_for(Some("UPDATE_IN_PROGRESS")),
            StackAction::WaitThenRetry
        );
        assert_eq!(action_for(Some("REVIEW_IN_PROGRESS")), StackAction::Create);
        assert!(is_terminal("REVIEW_IN_PROGRESS"));
        assert!(
            matches!(action_for(Some("DELETE_FAILED")), StackAction::Refuse(m) if m.contains("DELETE_FAILED"))
        );
        assert!(matches!(
            action_for(Some("ROLLBACK_FAILED")),
            StackAction::Refuse(_)
        ));
        assert!(is_terminal("UPDATE_ROLLBACK_COMPLETE") && !is_success("UPDATE_ROLLBACK_COMPLETE"));
        assert!(!is_terminal("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
    }

    #[test]
    fn continue_update_rollback_is_attempted_a_bounded_number_of_times() {
        let mut r = Recovery::default();
        for _ in 0..CONTINUE_ROLLBACK_ATTEMPTS {
            assert_eq!(
                r.next(Some("UPDATE_ROLLBACK_FAILED")),
                Ok(StackAction::ContinueRollbackThenUpdate)
            );
        }
        assert_eq!(
            r.next(Some("UPDATE_ROLLBACK_FAILED")),
            Err(GiveUp::RollbackStillFailed {
                attempts: CONTINUE_ROLLBACK_ATTEMPTS
            })
        );
        // A rollback that succeeds the second time goes on to the update.
        let mut r = Recovery::default();
        assert_eq!(
            r.next(Some("UPDATE_ROLLBACK_FAILED")),
            Ok(StackAction::ContinueRollbackThenUpdate)
        );
        assert_eq!(
            r.next(Some("UPDATE_ROLLBACK_COMPLETE")),
            Ok(StackAction::Update)
        );
    }

    #[test]
    fn a_stack_that_never_settles_stops_after_the_step_limit() {
        let mut r = Recovery::default();
        for _ in 0..MAX_RECOVERY_STEPS {
            assert_eq!(
                r.next(Some("UPDATE_IN_PROGRESS")),
                Ok(StackAction::WaitThenRetry)
            );
        }
        assert_eq!(
            r.next(Some("UPDATE_IN_PROGRESS")),
            Err(GiveUp::NoProgress {
                last_status: "UPDATE_IN_PROGRESS".into()
            })
        );
    }

    #[test]
    fn give_up_names_the_stack_its_reason_and_the_console_page() {
        let url = console_url(
            "eu-west-1",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/civic-dev-processing/1a2b",
        );
        assert_eq!(
            url,
            "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/stackinfo?stackId=arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack%2Fcivic-dev-processing%2F1a2b"
        );
        let msg = give_up_message(
            "civic-dev-processing",
            &GiveUp::RollbackStillFailed { attempts: 3 },
            Some("The following resource(s) failed to update: [WorklistQueue]."),
            &url,
        );
        for part in [
            "civic-dev-processing: still UPDATE_ROLLBACK_FAILED after 3 ContinueUpdateRollback",
            "status reason: The following resource(s) failed to update: [WorklistQueue].",
            url.as_str(),
            "--resources-to-skip",
        ] {
            assert!(msg.contains(part), "{part:?} not in {msg}");
        }
        let msg = give_up_message(
            "s",
            &GiveUp::RollbackStillFailed { attempts: 3 },
            None,
            &url,
        );
        assert!(
            msg.contains("CloudFormation gave no status reason"),
            "{msg}"
        );
    }

    #[test]
    fn empty_change_set_is_a_no_op_and_others_fail() {
        assert_eq!(
            failed_change_set(
                "The submitted information didn't contain changes. Submit different information to create a change set."
            ),
            ChangeSetOutcome::NoChanges
        );
        assert_eq!(
            failed_change_set("No updates are to be performed."),
            ChangeSetOutcome::NoChanges
        );
        assert_eq!(
            failed_change_set("Parameters: [IngestCodeKey] must have values"),
            ChangeSetOutcome::Failed("Parameters: [IngestCodeKey] must have values".into())
        );
    }

    #[test]
    fn destructive_changes_are_removals_and_replacements_of_data_resources() {
        assert!(row(ChangeKind::Remove, "AWS::S3::Bucket", None).is_destructive());
        assert!(row(ChangeKind::Modify, "AWS::SQS::Queue", Some("True")).is_destructive());
        assert!(row(ChangeKind::Modify, "AWS::SQS::Queue", Some("Conditional")).is_destructive());
        assert!(!row(ChangeKind::Modify, "AWS::SQS::Queue", Some("False")).is_destructive());
        assert!(!row(ChangeKind::Remove, "AWS::Lambda::Function", None).is_destructive());
        assert!(!row(ChangeKind::Add, "AWS::S3::Bucket", None).is_destructive());
        let text = render_changes(
            "s",
            &[row(ChangeKind::Modify, "AWS::S3::Bucket", Some("True"))],
        );
        assert!(
            text.contains("~ X") && text.contains("(REPLACE)") && text.contains("data resource"),
            "{text}"
        );
    }
}
