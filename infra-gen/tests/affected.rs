//! `infra-gen affected --since HEAD~1` on a copy of this repository whose last commit changes only a
//! dataset file that `harmonize` embeds with `include_str!` (no crate folder, no manifest changes).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A copy of the working tree (tracked and untracked, not ignored files) in a fresh git repository
/// with one commit, then a second commit that changes only `datasets/la311/canonical.yaml`.
fn repo_with_dataset_only_commit() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let list = Command::new("git")
        .current_dir(root())
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .unwrap();
    assert!(list.status.success());
    for rel in list.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).unwrap());
        let from = root().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let yaml = dir.path().join("datasets/la311/canonical.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    text.push_str("# a mapping change\n");
    std::fs::write(&yaml, text).unwrap();
    git(&["commit", "-q", "-am", "change one mapping"]);
    dir
}

fn affected(repo: &Path, target: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infra-gen"))
        .current_dir(repo)
        .env("CARGO_TARGET_DIR", target)
        .args(["affected", "--since", "HEAD~1"])
        .output()
        .unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// A dep-info file as cargo writes it for `bin`, listing `files` (repo-relative) under `repo`.
fn write_dep_info(target: &Path, profile: &str, repo: &Path, bin: &str, files: &[&str]) {
    let dir = target.join(profile);
    std::fs::create_dir_all(&dir).unwrap();
    let deps: Vec<String> = files
        .iter()
        .map(|f| repo.join(f).display().to_string().replace(' ', "\\ "))
        .collect();
    let artifact = dir.join(bin).display().to_string();
    std::fs::write(
        dir.join(format!("{bin}.d")),
        format!("{artifact}: {}\n", deps.join(" ")),
    )
    .unwrap();
}

#[test]
fn a_dataset_only_commit_marks_the_features_compiled_from_it() {
    let repo = repo_with_dataset_only_commit();
    let target = repo.path().join("target");
    let repo_path: PathBuf = repo.path().canonicalize().unwrap();
    // What cargo lists for the three binaries: ingest and process embed the canonical mapping
    // through harmonize (the path as include_str! spells it), ledger-api does not.
    let harmonize = [
        "crates/harmonize/src/lib.rs",
        "crates/harmonize/src/load.rs",
        "crates/harmonize/src/../../../datasets/la311/canonical.yaml",
    ];
    let mut process = vec![
        "functions/process/src/main.rs",
        "functions/process/src/lib.rs",
    ];
    process.extend(harmonize);
    let mut ingest = vec![
        "functions/ingest/src/main.rs",
        "functions/ingest/src/lib.rs",
    ];
    ingest.extend(harmonize);
    write_dep_info(&target, "debug", &repo_path, "process", &process);
    write_dep_info(
        &target,
        "aarch64-unknown-linux-gnu/release",
        &repo_path,
        "ingest",
        &ingest,
    );
    write_dep_info(
        &target,
        "debug",
        &repo_path,
        "ledger-api",
        &[
            "functions/ledger-api/src/main.rs",
            "crates/ledger/src/lib.rs",
        ],
    );
    let out = affected(repo.path(), &target);
    assert_eq!(lines(&out), ["ingestion", "processing"], "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("crate 'process': ") && stderr.contains("process.d"),
        "{stderr}"
    );
}

#[test]
fn without_dep_info_a_dataset_only_commit_still_marks_processing_and_says_why() {
    let repo = repo_with_dataset_only_commit();
    let empty_target = repo.path().join("no-build-yet");
    let out = affected(repo.path(), &empty_target);
    let features = lines(&out);
    assert!(features.contains(&"processing".to_string()), "{features:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("crate 'process': no dep-info for its binary")
            && stderr.contains("cargo build -p process"),
        "{stderr}"
    );
}

#[test]
fn dep_info_of_another_checkout_is_not_trusted() {
    let repo = repo_with_dataset_only_commit();
    let target = repo.path().join("target");
    // Written by a build of a different folder: none of its paths is inside this repository.
    for bin in ["process", "ingest", "ledger-api"] {
        write_dep_info(
            &target,
            "debug",
            Path::new("/elsewhere/checkout"),
            bin,
            &["functions/x/src/main.rs"],
        );
    }
    let out = affected(repo.path(), &target);
    assert!(lines(&out).contains(&"processing".to_string()), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("written for another checkout"), "{stderr}");
}
