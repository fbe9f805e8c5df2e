//! Handler library of the `process` Lambda.
