//! The published JSON Schemas of the event model (`schemas/ledger/*.schema.json` at the repository root).

use schemars::JsonSchema;

use crate::event::{Event, EventInput};

/// One published schema: file name under `schemas/ledger/` and its generated text.
pub struct PublishedSchema {
    /// File name, e.g. `event.v1.schema.json`.
    pub file: &'static str,
    /// Pretty JSON text with a trailing newline.
    pub text: String,
}

fn render<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    text.push('\n');
    text
}

/// Every schema the ledger publishes, generated from the Rust types.
pub fn published() -> Vec<PublishedSchema> {
    vec![
        PublishedSchema {
            file: "event.v1.schema.json",
            text: render::<Event>(),
        },
        PublishedSchema {
            file: "event-input.v1.schema.json",
            text: render::<EventInput>(),
        },
    ]
}
