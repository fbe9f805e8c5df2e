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
