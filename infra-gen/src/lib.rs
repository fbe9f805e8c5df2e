//! infra-gen: `prefixes.yaml` + `features/*/feature.yaml` -> one validated model -> CloudFormation
//! templates (one stack per feature) and the generated `prefixes` crate.
//!
//! Pipeline: [`manifest::load`] (I/O) -> [`validate::validate`] -> [`emit`] (pure) -> [`synth`] (writes).
pub mod diag;
pub mod manifest;
pub mod keytemplate;
pub mod model;
pub mod naming;
pub mod validate;
pub mod cfn;
pub mod emit;
pub mod codegen;
pub mod synth;

/// Load and validate the manifests under `root`.
pub fn load_valid(root: &std::path::Path) -> Result<manifest::Manifests, diag::Diagnostics> {
    let m = manifest::load(root)?;
    validate::validate(&m)?;
    Ok(m)
}
