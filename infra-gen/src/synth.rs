//! Synth: validate, emit every feature's template for a stage, and write them as one set.
//!
//! Nothing is written when validation fails, and the set is swapped in whole (written to a temporary
//! folder, then renamed), so `OUT/STAGE/` never holds a half-written mix of old and new templates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cfn::Template;
use crate::emit::emit_all;
use crate::manifest::Manifests;
use crate::model::Access;

/// One synthesized stack.
pub struct Stack {
    pub name: String,
    pub feature: String,
    pub template: Template,
}

/// Emit all stacks of a stage (pure).
pub fn synth(m: &Manifests, stage: &str) -> Vec<Stack> {
    emit_all(m, stage)
        .into_iter()
        .map(|(name, f, template)| Stack {
            name,
            feature: f.name.clone(),
            template,
        })
        .collect()
}

/// The file a feature's template is written to.
pub fn template_path(out: &Path, stage: &str, feature: &str) -> PathBuf {
    out.join(stage).join(format!("{feature}.template.json"))
}

/// Write the stacks to `out/stage/<feature>.template.json`, replacing that folder as a whole.
pub fn write(out: &Path, stage: &str, stacks: &[Stack]) -> anyhow::Result<Vec<PathBuf>> {
    let final_dir = out.join(stage);
    let tmp = out.join(format!(".{stage}.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("removing leftover {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    for s in stacks {
        let p = tmp.join(format!("{}.template.json", s.feature));
        std::fs::write(&p, s.template.to_json())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir)
            .with_context(|| format!("replacing {}", final_dir.display()))?;
    }
    std::fs::rename(&tmp, &final_dir)
        .with_context(|| format!("moving {} to {}", tmp.display(), final_dir.display()))?;
    Ok(stacks
        .iter()
        .map(|s| template_path(out, stage, &s.feature))
        .collect())
}

/// A compact table: stack, resource count, functions, and each function's S3 grants.
pub fn summary(m: &Manifests, stacks: &[Stack]) -> String {
    let mut rows = vec![[
        "stack".to_string(),
        "resources".into(),
        "functions".into(),
        "grants (r read, w write)".into(),
    ]];
    for s in stacks {
        let feature = m.feature(&s.feature).expect("stack of a known feature");
        let functions: Vec<&str> = feature.doc.functions.iter().map(|(n, _)| n).collect();
        let grants: Vec<String> = functions
            .iter()
            .map(|f| {
                let g: Vec<String> = m
                    .grants(f)
                    .iter()
                    .map(|g| {
                        let a = match g.access {
                            Access::Read => "r",
                            Access::Write => "w",
                            Access::ReadWrite => "rw",
                        };
                        format!("{}:{a}", g.prefix.name)
                    })
                    .collect();
                format!("{f}[{}]", g.join(" "))
            })
            .collect();
        rows.push([
            s.name.clone(),
            s.template.resources.len().to_string(),
            functions.join(","),
            grants.join(" "),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line = format!(
            "{:<w0$}  {:>w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
