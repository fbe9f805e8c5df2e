//! Conformance of stored objects to prefixes.yaml: which declared prefix and object a key is, and a check
//! of a whole local store (`<store>/<bucket>/<key>`, as `civic` lays buckets out) that every object lies
//! under a key template of its bucket, as one of the objects declared there, and that a function may write it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::manifest::Manifests;

/// Where a key belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement<'m> {
    /// The prefix it lies under.
    pub prefix: &'m str,
    /// The declared object it is.
    pub object: &'m str,
    /// The functions granted write access to that prefix.
    pub writers: Vec<&'m str>,
}

/// The declared prefix and object of `bucket` that `key` is, if any.
pub fn place<'m>(m: &'m Manifests, bucket: &str, key: &str) -> Option<Placement<'m>> {
    m.prefixes().filter(|p| p.bucket == bucket).find_map(|p| {
        let rest = p.template().match_prefix(key)?;
        let (object, _) = p.doc.objects.iter().find(|(_, t)| {
            crate::keytemplate::KeyTemplate::parse_object(&t.value).is_ok_and(|t| t.matches(rest))
        })?;
        Some(Placement {
            prefix: p.name,
            object,
            writers: p.doc.writers.iter().map(|w| w.value.as_str()).collect(),
        })
    })
}

/// What [`check_store`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreReport {
    /// Objects seen.
    pub objects: usize,
    /// Objects per `bucket/prefix/object`.
    pub by_object: BTreeMap<String, usize>,
    /// Every object that is not a declared object of a writable prefix, as `bucket/key: why`.
    pub misplaced: Vec<String>,
}

/// Walk a local store: each folder `<store>/<bucket>` of a bucket of the manifests holds that bucket's keys.
/// Folders that are no bucket (reports, temporary files) are not looked at.
pub fn check_store(m: &Manifests, store: &Path) -> std::io::Result<StoreReport> {
    let mut report = StoreReport::default();
    for (bucket, _) in m.prefixes.buckets.iter() {
        let root = store.join(bucket);
        if !root.is_dir() {
            continue;
        }
        let mut keys = Vec::new();
        walk(&root, &root, &mut keys)?;
        keys.sort();
        for key in keys {
            report.objects += 1;
            match place(m, bucket, &key) {
                Some(p) if !p.writers.is_empty() => {
                    *report
                        .by_object
                        .entry(format!("{bucket}/{}/{}", p.prefix, p.object))
                        .or_default() += 1;
                }
                Some(p) => report.misplaced.push(format!(
                    "{bucket}/{key}: prefix '{}' has no writers",
                    p.prefix
                )),
                None => report.misplaced.push(format!(
                    "{bucket}/{key}: not a declared object of any prefix of bucket '{bucket}'"
                )),
            }
        }
    }
    Ok(report)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(key.join("/"));
        }
    }
    Ok(())
}
