//! Handler library of the `ledger-api` Lambda.
