//! Handler library of the `ingest` Lambda.
