//! infra-gen: `prefixes.yaml` + `features/*/feature.yaml` -> one validated model -> CloudFormation
//! templates (one stack per feature) and the generated `prefixes` crate.
//!
//! Pipeline: [`manifest::load`] (I/O) -> [`validate::validate`] -> [`emit`] (pure) -> [`synth`] (writes).
pub mod cfn;
pub mod codegen;
pub mod conform;
pub mod diag;
pub mod emit;
pub mod keytemplate;
pub mod manifest;
pub mod model;
pub mod naming;
pub mod synth;
pub mod validate;

/// Load and validate the manifests under `root`.
pub fn load_valid(root: &std::path::Path) -> Result<manifest::Manifests, diag::Diagnostics> {
    let m = manifest::load(root)?;
    validate::validate(&m)?;
    Ok(m)
}
pub mod ci_role;
pub mod deploy;
