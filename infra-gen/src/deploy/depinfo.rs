//! What the compiler read to build each function binary: cargo's dep-info (`<target>/<profile>/<bin>.d`,
//! and `<target>/<triple>/<profile>/<bin>.d` for cross builds such as cargo-lambda's) lists every source
//! file of the binary and of its path dependencies, every `include_str!`/`include_bytes!` target (also
//! those a build script generates) and every build-script `rerun-if-changed` path, as absolute paths.
//!
//! Parsing is pure (`parse`, `repo_relative`); `find` and `read` are the I/O edge.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The dep-info files cargo wrote for binary `bin` under `target_dir`: `<profile>/<bin>.d` and
/// `<triple>/<profile>/<bin>.d` (sorted, so the result does not depend on directory order).
pub fn find(target_dir: &Path, bin: &str) -> Vec<PathBuf> {
    let name = format!("{bin}.d");
    let mut out = Vec::new();
    let Ok(level1) = std::fs::read_dir(target_dir) else {
        return out;
    };
    for d1 in level1.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
        let direct = d1.join(&name);
        if direct.is_file() {
            out.push(direct);
        }
        if let Ok(level2) = std::fs::read_dir(&d1) {
            for d2 in level2.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
                let nested = d2.join(&name);
                if nested.is_file() {
                    out.push(nested);
                }
            }
        }
    }
    out.sort();
    out
}

/// The prerequisites of every rule in a Makefile-style dep-info text (`target: dep dep ...`), with
/// `\ ` unescaped to a space; comment lines (`# env-dep:`) are skipped.
pub fn parse(text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some(deps) = split_rule(line) else {
            continue;
        };
        let mut cur = String::new();
        let mut chars = deps.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek().is_some_and(|n| *n == ' ' || *n == '\\') => {
                    cur.push(chars.next().unwrap_or(' '));
                }
                c if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(PathBuf::from(std::mem::take(&mut cur)));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(PathBuf::from(cur));
        }
    }
    out
}

/// The part of a rule line after its target's `:` (the first `:` followed by a space or the end of
/// line that is not escaped), or None for a line that is no rule.
fn split_rule(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b':' if i + 1 == bytes.len() || bytes[i + 1] == b' ' => return Some(&line[i + 1..]),
            _ => i += 1,
        }
    }
    None
}

/// Remove `.` and resolve `..` without touching the file system (a listed file may be deleted since).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The listed paths inside `root`, relative to it with `/` separators (what `git diff --name-only`
/// prints). Relative paths are taken as relative to `root`; paths outside it (the registry, the
/// toolchain) are dropped. `roots` holds every spelling of the root (as given and canonical).
pub fn repo_relative(paths: &[PathBuf], roots: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in paths {
        let abs = if p.is_absolute() {
            normalize(p)
        } else {
            match roots.first() {
                Some(r) => normalize(&r.join(p)),
                None => continue,
            }
        };
        for root in roots {
            if let Ok(rel) = abs.strip_prefix(normalize(root)) {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if !parts.is_empty() {
                    out.insert(parts.join("/"));
                }
                break;
            }
        }
    }
    out
}

/// What the compiler read for one binary, from every dep-info file found for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// Files (and `rerun-if-changed` folders) inside the repository, relative to its root.
    pub files: BTreeSet<String>,
    /// The dep-info files they come from.
    pub sources: Vec<PathBuf>,
    /// Dep-info files found but listing nothing inside this repository (a target dir shared with
    /// another checkout): not used.
    pub foreign: Vec<PathBuf>,
}

/// Read the dep-info of binary `bin` under `target_dir`, keeping paths inside `roots`.
pub fn read(target_dir: &Path, bin: &str, roots: &[PathBuf]) -> Read {
    let mut r = Read::default();
    for file in find(target_dir, bin) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let files = repo_relative(&parse(&text), roots);
        if files.is_empty() {
            r.foreign.push(file);
        } else {
            r.files.extend(files);
            r.sources.push(file);
        }
    }
    r
}

/// Whether `file` (repo-relative) is `input` or lies under it (an input may be a folder).
pub fn touches(file: &str, input: &str) -> bool {
    file == input
        || (file.len() > input.len()
            && file.starts_with(input)
            && file.as_bytes()[input.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEP_INFO: &str = "/w/repo/target/debug/process: /w/repo/functions/process/src/main.rs /w/repo/crates/harmonize/src/lib.rs /w/repo/crates/datasets/../../datasets/la311/canonical.yaml /w/repo/datasets /home/u/.cargo/registry/src/x/serde-1.0/src/lib.rs /w/repo/odd\\ name.txt\n\n# env-dep:CARGO_PKG_NAME=process\n/w/repo/functions/process/src/main.rs:\n";

    #[test]
    fn dep_info_lists_sources_includes_and_build_script_inputs_inside_the_repository() {
        let files = repo_relative(&parse(DEP_INFO), &[PathBuf::from("/w/repo")]);
        let expected: BTreeSet<String> = [
            "functions/process/src/main.rs",
            "crates/harmonize/src/lib.rs",
            "datasets/la311/canonical.yaml",
            "datasets",
            "odd name.txt",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(files, expected);
    }

    #[test]
    fn a_dep_info_of_another_checkout_lists_nothing_here() {
        let files = repo_relative(&parse(DEP_INFO), &[PathBuf::from("/w/other")]);
        assert!(files.is_empty(), "{files:?}");
    }

    #[test]
    fn a_folder_input_covers_the_files_under_it_only() {
        assert!(touches("datasets/la311/canonical.yaml", "datasets"));
        assert!(touches("datasets", "datasets"));
        assert!(!touches("datasets2/x", "datasets"));
        assert!(!touches("data", "datasets"));
    }

    #[test]
    fn find_reads_host_and_cross_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        for d in [
            "debug",
            "release",
            "aarch64-unknown-linux-gnu/release",
            "debug/deps",
        ] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        std::fs::write(t.join("debug/process.d"), "x: /r/a.rs\n").unwrap();
        std::fs::write(
            t.join("aarch64-unknown-linux-gnu/release/process.d"),
            "x: /r/b.rs\n",
        )
        .unwrap();
        std::fs::write(t.join("debug/deps/process-0123.d"), "x: /r/c.rs\n").unwrap();
        std::fs::write(t.join("release/other.d"), "x: /r/d.rs\n").unwrap();
        let r = read(t, "process", &[PathBuf::from("/r")]);
        assert_eq!(
            r.files.into_iter().collect::<Vec<_>>(),
            ["a.rs", "b.rs"],
            "the per-crate deps/*.d files are not the binary's dep-info"
        );
        assert_eq!(r.sources.len(), 2);
    }
}
