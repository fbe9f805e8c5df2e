//! Which features a change touches, so CI rolls out only those stacks.
//!
//! A feature is affected when, since the git ref: its manifest changed; the crate of one of its
//! functions changed, or any workspace crate that crate depends on (from `cargo metadata`); a prefix
//! or bucket it uses or owns changed in prefixes.yaml; or something every template depends on changed
//! (project/stages in prefixes.yaml, infra-gen itself, the root Cargo.toml or Cargo.lock).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::manifest::{Manifests, PrefixesDoc, parse_prefixes};

/// Files changed between `since` and the working tree, relative to the repository root.
pub fn changed_files(root: &Path, since: &str) -> anyhow::Result<Vec<String>> {
    let out = Command::new("git")
        .current_dir(root)
        .args(["diff", "--name-only", "--relative", since, "--"])
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

/// Workspace crate name -> (directory relative to root, workspace crates it depends on for building).
pub fn workspace_graph(root: &Path) -> anyhow::Result<BTreeMap<String, (String, Vec<String>)>> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--offline"])
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
    let members: BTreeSet<&str> = v["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut name_of = BTreeMap::new();
    let mut graph = BTreeMap::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        let id = p["id"].as_str().unwrap_or_default();
        if !members.contains(id) {
            continue;
        }
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let manifest = Path::new(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .parent()
            .and_then(|d| d.strip_prefix(&root_abs).ok())
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        name_of.insert(id.to_string(), name.clone());
        graph.insert(name, (dir, Vec::new()));
    }
    for node in v["resolve"]["nodes"].as_array().into_iter().flatten() {
        let Some(name) = node["id"].as_str().and_then(|id| name_of.get(id)) else {
            continue;
        };
        let deps: Vec<String> = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"].as_str() != Some("dev"))
            })
            .filter_map(|d| d["pkg"].as_str().and_then(|id| name_of.get(id)).cloned())
            .collect();
        if let Some(entry) = graph.get_mut(name) {
            entry.1 = deps;
        }
    }
    Ok(graph)
}

fn closure(graph: &BTreeMap<String, (String, Vec<String>)>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(c) = todo.pop() {
        if seen.insert(c.clone())
            && let Some((_, deps)) = graph.get(&c)
        {
            todo.extend(deps.iter().cloned());
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

/// The affected features, in dependency order.
pub fn affected(
    m: &Manifests,
    changed: &[String],
    old_prefixes: Option<&PrefixesDoc>,
    graph: &BTreeMap<String, (String, Vec<String>)>,
) -> Vec<String> {
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
            let dirs: Vec<&str> = closure(graph, krate)
                .iter()
                .filter_map(|c| graph.get(c).map(|(d, _)| d.as_str()))
                .collect();
            hit |= changed.iter().any(|c| dirs.iter().any(|d| under(c, d)));
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

    fn graph() -> BTreeMap<String, (String, Vec<String>)> {
        let mut g = BTreeMap::new();
        g.insert("fa".into(), ("functions/fa".into(), vec!["shared".into()]));
        g.insert("fb".into(), ("functions/fb".into(), vec![]));
        g.insert("shared".into(), ("crates/shared".into(), vec![]));
        g
    }

    fn run(changed: &[&str], old: Option<&str>, new: &str) -> Vec<String> {
        let m = from_texts(new, &[("a", A), ("b", B)]).unwrap();
        let old = old.map(|o| parse_prefixes(Path::new("prefixes.yaml"), o).unwrap());
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        affected(&m, &changed, old.as_ref(), &graph())
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
