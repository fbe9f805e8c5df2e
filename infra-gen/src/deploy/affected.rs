//! Which features a change touches, so CI rolls out only those stacks.
//!
//! A feature is affected when, since the git ref: its manifest changed; a file compiled into one of its
//! functions changed (cargo's dep-info of the function's binary, see `depinfo`: sources of every path
//! dependency, `include_str!`/`include_bytes!` targets such as `datasets/**`, build-script inputs),
//! or a file of the function's crate or of a workspace crate it depends on (`cargo metadata`); a
//! prefix or bucket it uses or owns changed in prefixes.yaml; or something every template depends on
//! changed (project/stages in prefixes.yaml, infra-gen itself, the root Cargo.toml or Cargo.lock).
//!
//! Without dep-info for a function (nothing built yet in this target dir), every changed file outside
//! the workspace crates' folders counts as an input of that function, and `inputs` says so: the answer
//! is then too large, never too small.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use super::depinfo;
use crate::manifest::{Manifests, PrefixesDoc, parse_prefixes};

/// Files changed between `since` and the working tree, relative to the repository root.
pub fn changed_files(root: &Path, since: &str) -> anyhow::Result<Vec<String>> {
    let out = Command::new("git")
        .current_dir(root)
        // --no-renames: a file moved out of a crate lists both its old and its new path.
        .args([
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            since,
            "--",
        ])
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git diff against '{since}' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect())
}

/// prefixes.yaml as it was at `since` (None when it did not exist).
pub fn prefixes_at(root: &Path, since: &str) -> Option<PrefixesDoc> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["show", &format!("{since}:./prefixes.yaml")])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_prefixes(
        Path::new("prefixes.yaml"),
        &String::from_utf8_lossy(&out.stdout),
    )
    .ok()
}

/// One workspace crate, as `cargo metadata` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Crate {
    /// Its folder, relative to the workspace root.
    pub dir: String,
    /// Workspace crates it depends on for building (normal and build dependencies).
    pub deps: Vec<String>,
    /// Its binary targets (the names of their dep-info files).
    pub bins: Vec<String>,
}

/// The workspace: its crates and where cargo puts build output.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub crates: BTreeMap<String, Crate>,
    /// `cargo metadata`'s `target_directory` (honours CARGO_TARGET_DIR).
    pub target_dir: PathBuf,
    /// Every spelling of the workspace root, to map dep-info's absolute paths back to repo paths.
    pub roots: Vec<PathBuf>,
}

/// Read the workspace from `cargo metadata --no-deps` (the members and their path dependencies:
/// no dependency resolution, so no registry access and no need for other platforms' crate sources).
pub fn workspace(root: &Path) -> anyhow::Result<Workspace> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let root_abs = std::fs::canonicalize(root)?;
    let mut roots = vec![root_abs.clone()];
    if let Some(w) = v["workspace_root"].as_str() {
        roots.push(PathBuf::from(w));
    }
    if root.is_absolute() {
        roots.push(root.to_path_buf());
    }
    roots.dedup();
    let mut crates = BTreeMap::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let manifest = Path::new(p["manifest_path"].as_str().unwrap_or_default());
        let dir = roots
            .iter()
            .find_map(|r| manifest.parent().and_then(|d| d.strip_prefix(r).ok()))
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bins = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str().map(String::from))
            .collect();
        // Path dependencies are the workspace crates (normal and build ones; dev ones are not built in).
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() && d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str().map(String::from))
            .collect();
        crates.insert(name, Crate { dir, deps, bins });
    }
    Ok(Workspace {
        crates,
        target_dir: PathBuf::from(v["target_directory"].as_str().unwrap_or("target")),
        roots,
    })
}

/// What each function crate was compiled from (repo-relative files), or None when no dep-info of
/// its binary exists in this target dir. The strings are notes for stderr: where the inputs came
/// from, and for each function without dep-info that the conservative rule applies and how to avoid it.
pub fn inputs(
    m: &Manifests,
    ws: &Workspace,
) -> (BTreeMap<String, Option<BTreeSet<String>>>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut notes = Vec::new();
    for (_, krate) in super::artifacts::function_crates(m) {
        if out.contains_key(&krate) {
            continue;
        }
        let bins = ws
            .crates
            .get(&krate)
            .map(|c| c.bins.clone())
            .unwrap_or_default();
        let mut files = BTreeSet::new();
        let mut sources = Vec::new();
        let mut foreign = Vec::new();
        for bin in &bins {
            let r = depinfo::read(&ws.target_dir, bin, &ws.roots);
            files.extend(r.files);
            sources.extend(r.sources);
            foreign.extend(r.foreign);
        }
        if sources.is_empty() {
            let why = if foreign.is_empty() {
                format!(
                    "no dep-info for its binary under {}",
                    ws.target_dir.display()
                )
            } else {
                format!(
                    "the dep-info under {} was written for another checkout",
                    ws.target_dir.display()
                )
            };
            notes.push(format!(
                "affected: crate '{krate}': {why}; counting every changed file outside the workspace crates' folders (datasets/, ...) as its input. Build it first (`cargo build -p {krate}` or `cargo lambda build`) for the exact answer"
            ));
            out.insert(krate, None);
        } else {
            notes.push(format!(
                "affected: crate '{krate}': {} input file(s) from {}",
                files.len(),
                sources
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            out.insert(krate, Some(files));
        }
    }
    (out, notes)
}

fn closure(crates: &BTreeMap<String, Crate>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(c) = todo.pop() {
        if seen.insert(c.clone())
            && let Some(k) = crates.get(&c)
        {
            todo.extend(k.deps.iter().cloned());
        }
    }
    seen
}

fn under(file: &str, dir: &str) -> bool {
    !dir.is_empty() && (file == dir || file.starts_with(&format!("{dir}/")))
}

/// Prefix and bucket entries that differ between two versions of prefixes.yaml, plus whether the
/// project or stages changed.
fn prefix_changes(
    old: Option<&PrefixesDoc>,
    new: &PrefixesDoc,
) -> (bool, BTreeSet<String>, BTreeSet<String>) {
    let Some(old) = old else {
        return (true, BTreeSet::new(), BTreeSet::new());
    };
    let global = old.project.value != new.project.value
        || format!(
            "{:?}",
            old.stages
                .iter()
                .map(|(n, s)| (n, s.memory_cap_mb.as_ref().map(|c| c.value)))
                .collect::<Vec<_>>()
        ) != format!(
            "{:?}",
            new.stages
                .iter()
                .map(|(n, s)| (n, s.memory_cap_mb.as_ref().map(|c| c.value)))
                .collect::<Vec<_>>()
        );
    let sig = |d: &PrefixesDoc| -> BTreeMap<String, (String, String)> {
        let mut m = BTreeMap::new();
        for (b, bd) in d.buckets.iter() {
            for (p, pd) in bd.prefixes.iter() {
                let r: Vec<&str> = pd.readers.iter().map(|x| x.value.as_str()).collect();
                let w: Vec<&str> = pd.writers.iter().map(|x| x.value.as_str()).collect();
                m.insert(
                    p.to_string(),
                    (b.to_string(), format!("{}|{r:?}|{w:?}", pd.key.value)),
                );
            }
        }
        m
    };
    let bsig = |d: &PrefixesDoc| -> BTreeMap<String, String> {
        d.buckets
            .iter()
            .map(|(b, bd)| (b.to_string(), format!("{}|{}", bd.owner.value, bd.retain)))
            .collect()
    };
    let (so, sn) = (sig(old), sig(new));
    let prefixes: BTreeSet<String> = so
        .keys()
        .chain(sn.keys())
        .filter(|k| so.get(*k) != sn.get(*k))
        .cloned()
        .collect();
    let (bo, bn) = (bsig(old), bsig(new));
    let buckets: BTreeSet<String> = bo
        .keys()
        .chain(bn.keys())
        .filter(|k| bo.get(*k) != bn.get(*k))
        .cloned()
        .collect();
    (global, prefixes, buckets)
}

/// The affected features, in dependency order. `compiled` is [`inputs`]' map: a function crate's
/// compiled files, or None (no dep-info) for the conservative rule.
pub fn affected(
    m: &Manifests,
    changed: &[String],
    old_prefixes: Option<&PrefixesDoc>,
    ws: &Workspace,
    compiled: &BTreeMap<String, Option<BTreeSet<String>>>,
) -> Vec<String> {
    let crate_dirs: Vec<&str> = ws.crates.values().map(|c| c.dir.as_str()).collect();
    let outside_crates: Vec<&String> = changed
        .iter()
        .filter(|c| !crate_dirs.iter().any(|d| under(c, d)))
        .collect();
    let everything = changed
        .iter()
        .any(|f| f == "Cargo.lock" || f == "Cargo.toml" || under(f, "infra-gen"));
    let prefixes_changed = changed.iter().any(|f| f == "prefixes.yaml");
    let (global, changed_prefixes, changed_buckets) = if prefixes_changed {
        prefix_changes(old_prefixes, &m.prefixes)
    } else {
        (false, BTreeSet::new(), BTreeSet::new())
    };
    let mut out = Vec::new();
    for f in m.deploy_order() {
        let manifest_dir = format!("features/{}", f.name);
        let mut hit = everything || global || changed.iter().any(|c| under(c, &manifest_dir));
        for (fname, doc) in f.doc.functions.iter() {
            let krate = doc.crate_name.as_ref().map_or(fname, |c| c.value.as_str());
            let dirs: Vec<&str> = closure(&ws.crates, krate)
                .iter()
                .filter_map(|c| ws.crates.get(c).map(|k| k.dir.as_str()))
                .collect();
            hit |= changed.iter().any(|c| dirs.iter().any(|d| under(c, d)));
            hit |= match compiled.get(krate) {
                Some(Some(files)) => changed
                    .iter()
                    .any(|c| files.iter().any(|f| depinfo::touches(c, f))),
                // No dep-info: anything outside the crates' folders may be compiled in.
                Some(None) | None => !outside_crates.is_empty(),
            };
            let uses = |p: &str, old: Option<&PrefixesDoc>| -> bool {
                let in_doc = |d: &PrefixesDoc| {
                    d.buckets.iter().any(|(_, b)| {
                        b.prefixes.iter().any(|(n, pd)| {
                            n == p
                                && pd
                                    .readers
                                    .iter()
                                    .chain(pd.writers.iter())
                                    .any(|x| x.value == fname)
                        })
                    })
                };
                in_doc(&m.prefixes) || old.is_some_and(in_doc)
            };
            hit |= changed_prefixes.iter().any(|p| uses(p, old_prefixes));
        }
        for (b, bd) in m.prefixes.buckets.iter() {
            if bd.owner.value == f.name
                && (changed_buckets.contains(b)
                    || bd
                        .prefixes
                        .iter()
                        .any(|(p, _)| changed_prefixes.contains(p)))
            {
                // Only the owner's bucket resource changes with prefixes when triggers change; be exact:
                hit |= changed_buckets.contains(b);
            }
        }
        if hit {
            out.push(f.name.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::from_texts;

    const P: &str = "project: civic\nstages:\n  dev: {}\nbuckets:\n  data:\n    owner: a\n    prefixes:\n      raw:\n        key: \"raw/\"\n        writers: [fa]\n        readers: [fb]\n      out:\n        key: \"out/\"\n        writers: [fb]\n";
    const A: &str = "functions:\n  fa:\n    memory_mb: 512\n    timeout_s: 60\n";
    const B: &str = "depends_on: [a]\nfunctions:\n  fb:\n    memory_mb: 512\n    timeout_s: 60\n";

    fn ws() -> Workspace {
        let k = |dir: &str, deps: &[&str], bins: &[&str]| Crate {
            dir: dir.into(),
            deps: deps.iter().map(|d| d.to_string()).collect(),
            bins: bins.iter().map(|b| b.to_string()).collect(),
        };
        let mut crates = BTreeMap::new();
        crates.insert("fa".into(), k("functions/fa", &["shared"], &["fa"]));
        crates.insert("fb".into(), k("functions/fb", &[], &["fb"]));
        crates.insert("shared".into(), k("crates/shared", &[], &[]));
        Workspace {
            crates,
            ..Workspace::default()
        }
    }

    /// What dep-info says each function was compiled from: fb embeds a dataset file.
    fn compiled() -> BTreeMap<String, Option<BTreeSet<String>>> {
        let set = |files: &[&str]| Some(files.iter().map(|f| f.to_string()).collect());
        let mut c = BTreeMap::new();
        c.insert(
            "fa".into(),
            set(&["functions/fa/src/main.rs", "crates/shared/src/lib.rs"]),
        );
        c.insert(
            "fb".into(),
            set(&["functions/fb/src/main.rs", "datasets/x/mapping.yaml"]),
        );
        c
    }

    fn run_with(
        changed: &[&str],
        compiled: &BTreeMap<String, Option<BTreeSet<String>>>,
    ) -> Vec<String> {
        let m = from_texts(P, &[("a", A), ("b", B)]).unwrap();
        let old = parse_prefixes(Path::new("prefixes.yaml"), P).unwrap();
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        affected(&m, &changed, Some(&old), &ws(), compiled)
    }

    fn run(changed: &[&str], old: Option<&str>, new: &str) -> Vec<String> {
        let m = from_texts(new, &[("a", A), ("b", B)]).unwrap();
        let old = old.map(|o| parse_prefixes(Path::new("prefixes.yaml"), o).unwrap());
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        affected(&m, &changed, old.as_ref(), &ws(), &compiled())
    }

    #[test]
    fn a_file_embedded_with_include_str_touches_the_functions_compiled_from_it() {
        assert_eq!(run_with(&["datasets/x/mapping.yaml"], &compiled()), ["b"]);
        // Another dataset file is compiled into nothing.
        assert_eq!(
            run_with(&["datasets/y/other.yaml"], &compiled()),
            Vec::<String>::new()
        );
        // A rerun-if-changed folder (a build script embedding everything under it) covers its files.
        let mut c = compiled();
        c.insert(
            "fa".into(),
            Some(
                ["functions/fa/src/main.rs", "datasets"]
                    .map(String::from)
                    .into(),
            ),
        );
        assert_eq!(run_with(&["datasets/y/other.yaml"], &c), ["a"]);
    }

    #[test]
    fn without_dep_info_files_outside_the_crates_count_as_inputs() {
        let mut c = compiled();
        c.insert("fa".into(), None);
        assert_eq!(run_with(&["datasets/y/other.yaml"], &c), ["a"]);
        assert_eq!(run_with(&["README.md"], &c), ["a"]);
        // Files inside another crate's folder still follow the dependency graph.
        assert_eq!(run_with(&["functions/fb/src/lib.rs"], &c), ["b"]);
    }

    #[test]
    fn one_function_crate_touches_one_feature() {
        assert_eq!(run(&["functions/fb/src/lib.rs"], Some(P), P), ["b"]);
        assert_eq!(run(&["functions/fa/src/main.rs"], Some(P), P), ["a"]);
    }

    #[test]
    fn a_shared_dependency_touches_its_dependents() {
        assert_eq!(run(&["crates/shared/src/lib.rs"], Some(P), P), ["a"]);
    }

    #[test]
    fn manifests_and_prefix_grants() {
        assert_eq!(run(&["features/b/feature.yaml"], Some(P), P), ["b"]);
        let new = P.replace("readers: [fb]", "readers: [fb, fa]");
        assert_eq!(run(&["prefixes.yaml"], Some(P), &new), ["a", "b"]);
        let new = P.replace("key: \"out/\"", "key: \"out2/\"");
        assert_eq!(run(&["prefixes.yaml"], Some(P), &new), ["b"]);
        assert_eq!(run(&["README.md"], Some(P), P), Vec::<String>::new());
        assert_eq!(run(&["Cargo.lock"], Some(P), P), ["a", "b"]);
    }
}
