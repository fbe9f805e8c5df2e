//! The ingest function's errors in stable categories (retryable, bad input, internal), as the process function's
//! job runners sort theirs into `worklist::JobError`: the Lambda's error answer names the category in its
//! `errorType`, never a Rust type name.

use std::fmt;

/// What the caller should do about a failed invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Might succeed when invoked again with the same event (store, network, a queue or SSM hiccup).
    Retryable,
    /// Will fail again with this event or source (malformed event, unknown dataset, unreadable source, bad run id).
    BadInput,
    /// Needs an operator (a broken build or deployment, a run past its segment cap, counts that do not add up).
    Internal,
}

impl Category {
    /// The stable name: `retryable`, `bad_input`, `internal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Retryable => "retryable",
            Category::BadInput => "bad_input",
            Category::Internal => "internal",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed invocation: its category and what happened (with context, never a secret).
#[derive(Debug, thiserror::Error)]
#[error("{category}: {message}")]
pub struct Error {
    /// What to do about it.
    pub category: Category,
    /// What happened.
    pub message: String,
}

impl Error {
    /// An error of `category`.
    pub fn new(category: Category, message: impl fmt::Display) -> Self {
        Error {
            category,
            message: message.to_string(),
        }
    }
    /// Invoking again may succeed.
    pub fn retryable(message: impl fmt::Display) -> Self {
        Self::new(Category::Retryable, message)
    }
    /// The event or its source is wrong.
    pub fn bad_input(message: impl fmt::Display) -> Self {
        Self::new(Category::BadInput, message)
    }
    /// An operator has to look.
    pub fn internal(message: impl fmt::Display) -> Self {
        Self::new(Category::Internal, message)
    }
}

impl From<ingest_core::Error> for Error {
    fn from(e: ingest_core::Error) -> Self {
        use ingest_core::Error as E;
        let category = match &e {
            E::Store { .. } | E::Http { .. } => Category::Retryable,
            E::Io { .. } | E::Csv { .. } | E::Header { .. } | E::Invalid(_) => Category::BadInput,
            E::Catalog { .. } | E::Parquet { .. } | E::Accounting { .. } => Category::Internal,
        };
        Error::new(category, e)
    }
}

impl From<platform::Error> for Error {
    fn from(e: platform::Error) -> Self {
        use platform::Error as E;
        let category = match &e {
            // The template sets every variable and the role reaches every resource: a deployment problem.
            E::MissingEnv(_) | E::Bucket { .. } | E::Queue { .. } => Category::Internal,
            E::Parameter { .. } | E::Invoke { .. } => Category::Retryable,
        };
        Error::new(category, e)
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.category.as_str().to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_error_answer_names_the_category() {
        let d: lambda_runtime::Diagnostic = Error::bad_input("no such dataset").into();
        assert_eq!(d.error_type, "bad_input");
        assert_eq!(d.error_message, "bad_input: no such dataset");
        let store = ingest_core::Error::Store {
            key: "raw/x".into(),
            source: object_store::Error::NotImplemented {
                operation: "put".into(),
                implementer: "test".into(),
            },
        };
        assert_eq!(Error::from(store).category, Category::Retryable);
        let run_id = ingest_core::Error::Invalid("run id \"a/b\"".into());
        assert_eq!(Error::from(run_id).category, Category::BadInput);
        let counts = ingest_core::Error::Accounting {
            read: 2,
            written: 1,
            quarantined: 0,
        };
        assert_eq!(Error::from(counts).category, Category::Internal);
    }
}
