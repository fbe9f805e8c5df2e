//! infra-gen library.
