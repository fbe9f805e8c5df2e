//! Validation: every rule over the parsed manifests, reporting all problems at once with locations.
//!
//! Pure: reads only [`Manifests`]. Each rule has its own test in `tests/validate.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::keytemplate::KeyTemplate;
use crate::manifest::{Manifests, PrefixDoc, Spanned, Trigger, loc};
use crate::naming::{self, Names};

/// Lambda's maximum timeout, in seconds.
pub const MAX_TIMEOUT_S: u32 = 900;
/// SQS's maximum visibility timeout, in seconds.
pub const MAX_VISIBILITY_S: u32 = 43_200;
/// Retention values CloudWatch Logs accepts.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some('a'..='z'))
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn known(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "none declared".into()
    } else {
        format!("known: {}", v.join(", "))
    }
}

struct Ctx<'m> {
    m: &'m Manifests,
    diags: Diagnostics,
}

impl Ctx<'_> {
    fn err<T>(
        &mut self,
        file: &Path,
        at: &Spanned<T>,
        msg: impl Into<String>,
        hint: impl Into<String>,
    ) {
        let hint = hint.into();
        let mut d = Diagnostic::new(loc(file, at), msg);
        if !hint.is_empty() {
            d = d.hint(hint);
        }
        self.diags.push(d);
    }
}

/// Check every rule. Returns all problems, sorted by file and line.
/// Seconds a continuing function keeps free before its timeout to close its files and write its
/// checkpoint (the `ingest` function uses the same margin).
pub const CONTINUE_MARGIN_S: u32 = 120;
/// Smallest timeout of a continuing function: the margin plus as much time again for work.
pub const MIN_CONTINUING_TIMEOUT_S: u32 = 2 * CONTINUE_MARGIN_S;

pub fn validate(m: &Manifests) -> Result<(), Diagnostics> {
    let mut cx = Ctx {
        m,
        diags: Diagnostics::default(),
    };
    check_project(&mut cx);
    check_buckets(&mut cx);
    check_features(&mut cx);
    check_functions(&mut cx);
    check_parameters(&mut cx);
    check_queues(&mut cx);
    check_dataset_schedules(&mut cx);
    check_name_lengths(&mut cx);
    if cx.diags.is_empty() {
        Ok(())
    } else {
        Err(cx.diags.sorted())
    }
}

/// A schedule's expression and input; an input naming a `dataset` must name one of the dataset catalog's.
fn check_schedule(cx: &mut Ctx, file: &Path, s: &crate::manifest::ScheduleTrigger) {
    let e = &s.expression.value;
    if !((e.starts_with("rate(") || e.starts_with("cron(")) && e.ends_with(')')) {
        cx.err(
            file,
            &s.expression,
            format!("schedule expression '{e}' is neither rate(...) nor cron(...)"),
            "",
        );
    }
    let Some(input) = &s.input else { return };
    match serde_json::from_str::<serde_json::Value>(&input.value) {
        Err(err) => cx.err(
            file,
            input,
            format!("schedule input is not valid JSON: {err}"),
            "",
        ),
        Ok(v) => {
            if let Some(ds) = v.get("dataset") {
                let catalog = datasets::Catalog::builtin();
                match ds.as_str() {
                    Some(id) if catalog.dataset(id).is_ok() => {}
                    _ => cx.err(
                        file,
                        input,
                        format!(
                            "schedule input names dataset {ds}, which is not in the dataset catalog (datasets/: {})",
                            catalog.ids().collect::<Vec<_>>().join(", ")
                        ),
                        "each schedule's `dataset` is a folder under datasets/",
                    ),
                }
            }
        }
    }
}

/// Every dataset of the catalog is scheduled by some function once any schedule names a dataset.
fn check_dataset_schedules(cx: &mut Ctx) {
    let m = cx.m;
    let mut named: Vec<(String, &Path)> = Vec::new();
    for feature in &m.features {
        for (_, f) in feature.doc.functions.iter() {
            let schedules: Vec<&crate::manifest::ScheduleTrigger> = match &f.trigger {
                Some(Trigger::Schedule(s)) => vec![s],
                Some(Trigger::Schedules(all)) => all.iter().map(|(_, s)| s).collect(),
                _ => continue,
            };
            for s in schedules {
                let ds = s
                    .input
                    .as_ref()
                    .and_then(|i| serde_json::from_str::<serde_json::Value>(&i.value).ok())
                    .and_then(|v| v.get("dataset").and_then(|d| d.as_str().map(str::to_owned)));
                if let Some(ds) = ds {
                    named.push((ds, feature.file.as_path()));
                }
            }
        }
    }
    let Some((_, file)) = named.first() else {
        return;
    };
    let file = file.to_path_buf();
    for id in datasets::Catalog::builtin().ids() {
        if !named.iter().any(|(d, _)| d == id) {
            cx.diags.push(
                Diagnostic::new(
                    Loc::new(&file, 1, 1),
                    format!("dataset '{id}' (datasets/{id}/) has no schedule"),
                )
                .hint("add a named entry for it under the ingest function's `trigger: schedules:`"),
            );
        }
    }
}

fn check_project(cx: &mut Ctx) {
    let m = cx.m;
    let file = &m.prefixes_file;
    let p = &m.prefixes.project;
    if !valid_name(&p.value) || p.value.len() > 20 {
        cx.err(file, p, format!("project name '{}' must be lower-case letters, digits and '-', at most 20 characters", p.value), "");
    }
    if m.prefixes.stages.0.is_empty() {
        cx.diags.push(
            Diagnostic::new(Loc::new(file, 1, 1), "no stages declared")
                .hint("add `stages: { dev: {} }` to prefixes.yaml"),
        );
    }
    for (name, stage) in &m.prefixes.stages.0 {
        if !valid_name(&name.value) {
            cx.err(
                file,
                name,
                format!(
                    "stage name '{}' must be lower-case letters, digits and '-'",
                    name.value
                ),
                "",
            );
        }
        if let Some(cap) = &stage.memory_cap_mb
            && cap.value < 128
        {
            cx.err(
                file,
                cap,
                format!(
                    "memory_cap_mb {} is below Lambda's minimum of 128",
                    cap.value
                ),
                "",
            );
        }
    }
}

fn check_buckets(cx: &mut Ctx) {
    let m = cx.m;
    let file = m.prefixes_file.clone();
    let features: Vec<&str> = m.features.iter().map(|f| f.name.as_str()).collect();
    let functions: Vec<&str> = m.functions().map(|f| f.name).collect();
    let mut seen_prefixes: BTreeMap<&str, &Spanned<String>> = BTreeMap::new();
    for (bname, bucket) in &m.prefixes.buckets.0 {
        if !valid_name(&bname.value) {
            cx.err(
                &file,
                bname,
                format!(
                    "bucket name '{}' must be lower-case letters, digits and '-'",
                    bname.value
                ),
                "",
            );
        }
        if bname.value == "assets" {
            cx.err(
                &file,
                bname,
                "bucket name 'assets' is reserved for the bootstrap stack's package bucket",
                "choose another name",
            );
        }
        if !features.contains(&bucket.owner.value.as_str()) {
            cx.err(
                &file,
                &bucket.owner,
                format!(
                    "unknown feature '{}' as owner of bucket '{}' ({})",
                    bucket.owner.value,
                    bname.value,
                    known(&features)
                ),
                "the owner is the feature whose stack creates the bucket: a folder under features/",
            );
        }
        let mut parsed: Vec<(&Spanned<String>, &Spanned<String>, KeyTemplate, bool)> = Vec::new();
        for (pname, prefix) in &bucket.prefixes.0 {
            if !valid_name(&pname.value) {
                cx.err(
                    &file,
                    pname,
                    format!(
                        "prefix name '{}' must be lower-case letters, digits and '-'",
                        pname.value
                    ),
                    "",
                );
            }
            if let Some(first) = seen_prefixes.insert(&pname.value, pname) {
                cx.err(
                    &file,
                    pname,
                    format!(
                        "duplicate prefix name '{}' (first declared on line {})",
                        pname.value,
                        first.referenced.line()
                    ),
                    "prefix names are unique across all buckets; rename one",
                );
            }
            match KeyTemplate::parse(&prefix.key.value) {
                Ok(t) => {
                    objects(cx, &file, pname, prefix, &t);
                    parsed.push((pname, &prefix.key, t, !prefix.writers.is_empty()));
                }
                Err(e) => cx.err(
                    &file,
                    &prefix.key,
                    format!("bad key template '{}' at character {}: {}", prefix.key.value, e.offset + 1, e.message),
                    "placeholders look like {name} or {name:u16}; literal text uses letters, digits and / = . _ -",
                ),
            }
            for (role, list) in [("readers", &prefix.readers), ("writers", &prefix.writers)] {
                let mut seen = BTreeSet::new();
                for f in list {
                    if !functions.contains(&f.value.as_str()) {
                        cx.err(
                            &file,
                            f,
                            format!(
                                "unknown function '{}' in {role} of prefix '{}' ({})",
                                f.value,
                                pname.value,
                                known(&functions)
                            ),
                            "functions are declared under `functions:` in features/*/feature.yaml",
                        );
                    }
                    if !seen.insert(&f.value) {
                        cx.err(
                            &file,
                            f,
                            format!(
                                "function '{}' is listed twice in {role} of prefix '{}'",
                                f.value, pname.value
                            ),
                            "",
                        );
                    }
                }
            }
        }
        for (i, (name_b, key_b, t_b, w_b)) in parsed.iter().enumerate() {
            for (name_a, _, t_a, w_a) in &parsed[..i] {
                if (*w_a || *w_b) && t_a.overlaps(t_b) {
                    cx.err(
                        &file,
                        key_b,
                        format!(
                            "prefix '{}' ({}) overlaps prefix '{}' ({}) in bucket '{}': a writer of one could write into the other",
                            name_b.value, t_b.source, name_a.value, t_a.source, bname.value
                        ),
                        "give each prefix its own leading folder, e.g. 'raw/...' and 'canonical/...'",
                    );
                }
            }
        }
    }
}

fn check_features(cx: &mut Ctx) {
    let m = cx.m;
    let names: Vec<&str> = m.features.iter().map(|f| f.name.as_str()).collect();
    for f in &m.features {
        if !valid_name(&f.name) {
            cx.diags.push(Diagnostic::new(
                Loc::new(&f.file, 1, 1),
                format!(
                    "feature folder name '{}' must be lower-case letters, digits and '-'",
                    f.name
                ),
            ));
        }
        for d in &f.doc.depends_on {
            if d.value == f.name {
                cx.err(
                    &f.file,
                    d,
                    format!("feature '{}' depends on itself", f.name),
                    "",
                );
            } else if !names.contains(&d.value.as_str()) {
                cx.err(
                    &f.file,
                    d,
                    format!(
                        "unknown feature '{}' in depends_on ({})",
                        d.value,
                        known(&names)
                    ),
                    "",
                );
            }
        }
    }
    // Cycles: depth-first search from every feature; report each cycle once, at the edge closing it.
    let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in &m.features {
        let mut stack: Vec<(&str, usize)> = vec![(start.name.as_str(), 0)];
        let mut path: Vec<&str> = vec![&start.name];
        while let Some((node, idx)) = stack.pop() {
            let Some(feature) = m.feature(node) else {
                path.pop();
                continue;
            };
            let deps = &feature.doc.depends_on;
            if idx >= deps.len() {
                path.pop();
                continue;
            }
            stack.push((node, idx + 1));
            let dep = &deps[idx];
            if dep.value == start.name && node != dep.value {
                let mut cycle: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    cycle.push(start.name.clone());
                    cx.err(
                        &feature.file,
                        dep,
                        format!("depends_on cycle: {}", cycle.join(" -> ")),
                        "features deploy in dependency order; break the cycle (names are deterministic, so a function can reach another feature's bucket or queue without depending on it)",
                    );
                }
            } else if !path.contains(&dep.value.as_str()) && m.feature(&dep.value).is_some() {
                path.push(&dep.value);
                stack.push((&dep.value, 0));
            }
        }
    }
}

fn check_functions(cx: &mut Ctx) {
    let m = cx.m;
    let queues: Vec<&str> = m.queues().map(|q| q.name).collect();
    let prefixes: Vec<&str> = m.prefixes().map(|p| p.name).collect();
    let stages = m.stage_names();
    let mut seen: BTreeMap<&str, (&Path, u64)> = BTreeMap::new();
    for f in &m.features {
        let file = f.file.as_path();
        for (name, func) in &f.doc.functions.0 {
            if !valid_name(&name.value) {
                cx.err(
                    file,
                    name,
                    format!(
                        "function name '{}' must be lower-case letters, digits and '-'",
                        name.value
                    ),
                    "",
                );
            }
            if let Some((other, line)) = seen.insert(&name.value, (file, name.referenced.line())) {
                cx.err(
                    file,
                    name,
                    format!(
                        "duplicate function name '{}' (also declared at {}:{line})",
                        name.value,
                        other.display()
                    ),
                    "function names are unique across features",
                );
            }
            let mem = &func.memory_mb;
            let over: Vec<String> = stages
                .iter()
                .filter(|s| mem.value > m.memory_cap(s))
                .map(|s| format!("{s} ({} MB)", m.memory_cap(s)))
                .collect();
            if !over.is_empty() {
                cx.err(
                    file,
                    mem,
                    format!("memory_mb {} is above the account's Lambda memory cap for stage {}", mem.value, over.join(", ")),
                    "lower memory_mb, or raise `memory_cap_mb` of the stage in prefixes.yaml after a quota increase",
                );
            } else if mem.value < 128 {
                cx.err(
                    file,
                    mem,
                    format!("memory_mb {} is below Lambda's minimum of 128", mem.value),
                    "",
                );
            }
            let t = &func.timeout_s;
            if t.value == 0 || t.value > MAX_TIMEOUT_S {
                cx.err(
                    file,
                    t,
                    format!(
                        "timeout_s {} is outside Lambda's range of 1 to {MAX_TIMEOUT_S} seconds",
                        t.value
                    ),
                    "work that needs longer must checkpoint and continue in a new invocation",
                );
            }
            if let Some(c) = &func.concurrency
                && c.value == 0
            {
                cx.err(
                    file,
                    c,
                    "concurrency 0 would throttle every invocation",
                    "use at least 1",
                );
            }
            if let Some(r) = &func.log_retention_days
                && !LOG_RETENTION_DAYS.contains(&r.value)
            {
                cx.err(
                    file,
                    r,
                    format!(
                        "log_retention_days {} is not a value CloudWatch Logs accepts",
                        r.value
                    ),
                    format!("use one of {LOG_RETENTION_DAYS:?}"),
                );
            }
            for s in &func.sends_to {
                if !queues.contains(&s.value.as_str()) {
                    cx.err(
                        file,
                        s,
                        format!(
                            "unknown queue '{}' in sends_to of function '{}' ({})",
                            s.value,
                            name.value,
                            known(&queues)
                        ),
                        "queues are declared under `queues:` in a feature.yaml",
                    );
                }
            }
            check_trigger(cx, f.name.as_str(), file, name, func, &queues, &prefixes);
        }
    }
}

/// SSM parameters: names usable as the last segment of `/<project>/<stage>/<feature>/<name>` and as an
/// env var suffix, one declaration per physical name, and no reserved `aws`/`ssm` leading segment.
fn check_parameters(cx: &mut Ctx) {
    let m = cx.m;
    let project = m.project().to_string();
    for f in &m.features {
        let file = f.file.as_path();
        let mut seen: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
        for (fname, func) in &f.doc.functions.0 {
            for (pname, _) in &func.parameters.0 {
                let example = Names::new(&project, "<stage>").parameter(&f.name, &pname.value);
                if !valid_name(&pname.value) {
                    cx.err(
                        file,
                        pname,
                        format!(
                            "parameter name '{}' must be lower-case letters, digits and '-'",
                            pname.value
                        ),
                        format!(
                            "the name is the last segment of the SSM parameter {example} and of the env var {}",
                            naming::env_parameter(&project, &pname.value.replace('_', "-"))
                        ),
                    );
                }
                if let Some((other, line)) =
                    seen.insert(&pname.value, (&fname.value, pname.referenced.line()))
                {
                    cx.err(
                        file,
                        pname,
                        format!(
                            "parameter '{}' of function '{}' is also declared by function '{other}' (line {line}); both would read {example}",
                            pname.value, fname.value
                        ),
                        "parameter names are unique within a feature; rename one",
                    );
                }
                let lower = project.to_ascii_lowercase();
                if lower.starts_with("aws") || lower.starts_with("ssm") {
                    cx.err(
                        file,
                        pname,
                        format!(
                            "parameter '{}' would be named {example}, but SSM reserves names starting with 'aws' or 'ssm'",
                            pname.value
                        ),
                        "rename the project in prefixes.yaml",
                    );
                }
            }
        }
    }
}

fn check_trigger(
    cx: &mut Ctx,
    feature: &str,
    file: &Path,
    name: &Spanned<String>,
    func: &crate::manifest::FunctionDoc,
    queues: &[&str],
    prefixes: &[&str],
) {
    let m = cx.m;
    if let Some(rec) = &func.recursive
        && rec.value
        && !matches!(func.trigger, Some(Trigger::Queue(_)))
    {
        cx.err(
            file,
            rec,
            format!(
                "function '{}' is recursive but not triggered by a queue",
                name.value
            ),
            "recursive: true is for worklist consumers (trigger: { queue: ... })",
        );
    }
    if let Some(c) = &func.continues
        && c.value
        && func.timeout_s.value < MIN_CONTINUING_TIMEOUT_S
    {
        cx.err(
            file,
            c,
            format!(
                "function '{}' continues itself but its timeout_s is {} s",
                name.value, func.timeout_s.value
            ),
            format!(
                "a continuing function stops {CONTINUE_MARGIN_S} s before its timeout to write its \
                 checkpoint: give it timeout_s of at least {MIN_CONTINUING_TIMEOUT_S}"
            ),
        );
    }
    match &func.trigger {
        Some(Trigger::Queue(q)) => {
            match m.queue(&q.name.value) {
                None => cx.err(
                    file,
                    &q.name,
                    format!(
                        "unknown queue '{}' in trigger of function '{}' ({})",
                        q.name.value,
                        name.value,
                        known(queues)
                    ),
                    "",
                ),
                Some(queue) if queue.feature.name != feature => cx.err(
                    file,
                    &q.name,
                    format!(
                        "function '{}' is triggered by queue '{}' of feature '{}'",
                        name.value, q.name.value, queue.feature.name
                    ),
                    "a queue and its consumer live in one feature; move the queue",
                ),
                Some(queue) => {
                    if let Some(other) = m.consumer_of(queue.name).filter(|c| c.name != name.value)
                    {
                        cx.err(
                            file,
                            &q.name,
                            format!(
                                "queue '{}' already has consumer '{}'",
                                q.name.value, other.name
                            ),
                            "one consumer per queue; declare a second queue",
                        );
                    }
                    if func.is_recursive() {
                        if queue.doc.dlq.is_none() {
                            cx.err(
                                file,
                                &q.name,
                                format!("recursive consumer '{}' reads queue '{}', which has no dlq", name.value, q.name.value),
                                "add `dlq: { max_receives: 5 }` to the queue: a poison message must not loop forever",
                            );
                        }
                        if !func.sends_to.iter().any(|s| s.value == q.name.value) {
                            cx.err(file, &q.name, format!("recursive consumer '{}' does not list its queue '{}' in sends_to", name.value, q.name.value), "the continuation message goes back to the same queue");
                        }
                    }
                }
            }
            if let Some(b) = &q.batch_size
                && (b.value == 0 || b.value > 10)
            {
                cx.err(
                    file,
                    b,
                    format!("batch_size {} is outside 1 to 10", b.value),
                    "",
                );
            }
        }
        Some(Trigger::Schedule(s)) => check_schedule(cx, file, s),
        Some(Trigger::Schedules(all)) => {
            if all.0.is_empty() {
                cx.diags.push(
                    Diagnostic::new(
                        Loc::new(file, 1, 1),
                        format!("function '{}' declares an empty `schedules:`", name.value),
                    )
                    .hint("list at least one named schedule, or use `schedule:`"),
                );
            }
            for (entry, s) in &all.0 {
                if !valid_name(&entry.value.replace('_', "-")) {
                    cx.err(
                        file,
                        entry,
                        format!(
                            "schedule name '{}' must be lower-case letters, digits, '-' and '_'",
                            entry.value
                        ),
                        "",
                    );
                }
                check_schedule(cx, file, s);
            }
        }
        Some(Trigger::S3(s)) => match m.prefix(&s.prefix.value) {
            None => cx.err(
                file,
                &s.prefix,
                format!(
                    "unknown prefix '{}' in trigger of function '{}' ({})",
                    s.prefix.value,
                    name.value,
                    known(prefixes)
                ),
                "",
            ),
            Some(_) => {
                let grants = m.grants(&name.value);
                let g = grants.iter().find(|g| g.prefix.name == s.prefix.value);
                match g {
                    Some(g) if g.access.writes() => cx.err(
                        file,
                        &s.prefix,
                        format!("function '{}' is triggered by prefix '{}' that it also writes: an S3 event loop", name.value, s.prefix.value),
                        "write to a different prefix than the one that triggers the function",
                    ),
                    Some(g) if g.access.reads() => {}
                    _ => cx.err(
                        file,
                        &s.prefix,
                        format!("function '{}' uses prefix '{}', which prefixes.yaml does not grant it", name.value, s.prefix.value),
                        format!("add '{}' to the readers of prefix '{}' in prefixes.yaml", name.value, s.prefix.value),
                    ),
                }
            }
        },
        Some(Trigger::Http(_)) | None => {}
    }
}

fn check_queues(cx: &mut Ctx) {
    let m = cx.m;
    let mut seen: BTreeMap<&str, (&Path, u64)> = BTreeMap::new();
    for q in m.queues() {
        let file = q.feature.file.as_path();
        let name = q
            .feature
            .doc
            .queues
            .names()
            .find(|n| n.value == q.name)
            .expect("queue from its own map");
        if !valid_name(q.name) {
            cx.err(
                file,
                name,
                format!(
                    "queue name '{}' must be lower-case letters, digits and '-'",
                    q.name
                ),
                "",
            );
        }
        if let Some((other, line)) = seen.insert(q.name, (file, name.referenced.line())) {
            cx.err(
                file,
                name,
                format!(
                    "duplicate queue name '{}' (also declared at {}:{line})",
                    q.name,
                    other.display()
                ),
                "queue names are unique across features",
            );
        }
        let vis = &q.doc.visibility_timeout_s;
        if vis.value > MAX_VISIBILITY_S {
            cx.err(
                file,
                vis,
                format!(
                    "visibility_timeout_s {} is above the SQS maximum of {MAX_VISIBILITY_S}",
                    vis.value
                ),
                "",
            );
        }
        match m.consumer_of(q.name) {
            Some(c) => {
                let need = 6 * c.doc.timeout_s.value;
                if vis.value < need {
                    cx.err(
                        file,
                        vis,
                        format!(
                            "visibility_timeout_s {} of queue '{}' is less than 6 x the timeout of its consumer '{}' ({} s)",
                            vis.value, q.name, c.name, c.doc.timeout_s.value
                        ),
                        format!("set visibility_timeout_s to at least {need}, or the message reappears while it is still being processed"),
                    );
                }
            }
            None => cx.err(file, name, format!("queue '{}' has no consumer", q.name), "add `trigger: { queue: { name: ... } }` to a function of this feature, or remove the queue"),
        }
        if let Some(r) = &q.doc.retention_days
            && (r.value == 0 || r.value > 14)
        {
            cx.err(
                file,
                r,
                format!("retention_days {} is outside SQS's 1 to 14 days", r.value),
                "",
            );
        }
        if let Some(d) = &q.doc.dlq
            && (d.max_receives.value == 0 || d.max_receives.value > 1000)
        {
            cx.err(
                file,
                &d.max_receives,
                format!("max_receives {} is outside 1 to 1000", d.max_receives.value),
                "",
            );
        }
        if let Some(l) = &q.doc.lanes
            && l.value == 0
        {
            cx.err(file, l, "lanes must be at least 1", "");
        }
        let mut layers = BTreeSet::new();
        for l in &q.doc.layers {
            if !layers.insert(&l.value) {
                cx.err(file, l, format!("layer '{}' is listed twice", l.value), "");
            }
        }
    }
}

fn check_name_lengths(cx: &mut Ctx) {
    let m = cx.m;
    let project = m.project().to_string();
    let stages: Vec<String> = m.stage_names().into_iter().map(String::from).collect();
    let pfile = m.prefixes_file.clone();
    let too_long = |kind: &str, stage: &str, example: String, len: usize, max: usize| {
        format!(
            "{kind} name '{example}' for stage '{stage}' is {len} characters, over the AWS limit of {max}"
        )
    };
    for stage in &stages {
        let n = Names::new(&project, stage);
        for (bname, _) in &m.prefixes.buckets.0 {
            let len = n.bucket_max_len(&bname.value);
            if len > naming::MAX_BUCKET {
                let example = format!("{}-123456789012-ap-southeast-3", n.stack(&bname.value));
                cx.err(
                    &pfile,
                    bname,
                    too_long("bucket", stage, example, len, naming::MAX_BUCKET),
                    "shorten the project, stage or bucket name",
                );
            }
        }
        for f in &m.features {
            for (fname, _) in &f.doc.functions.0 {
                if fname.value == naming::SERVICE_ROLE && stage == &stages[0] {
                    cx.err(
                        &f.file,
                        fname,
                        format!(
                            "function name '{}' is reserved: its role name is the bootstrap stack's CloudFormation service role",
                            naming::SERVICE_ROLE
                        ),
                        "choose another name",
                    );
                }
                let func = n.function(&fname.value);
                if func.len() > naming::MAX_FUNCTION {
                    cx.err(
                        &f.file,
                        fname,
                        too_long(
                            "function",
                            stage,
                            func.clone(),
                            func.len(),
                            naming::MAX_FUNCTION,
                        ),
                        "shorten the function, project or stage name",
                    );
                }
                let role = n.role_max_len(&fname.value);
                if role > naming::MAX_ROLE {
                    let example = format!("{func}-ap-southeast-3");
                    cx.err(
                        &f.file,
                        fname,
                        too_long("IAM role", stage, example, role, naming::MAX_ROLE),
                        "shorten the function, project or stage name",
                    );
                }
                let rule = n.rule(&fname.value);
                if rule.len() > naming::MAX_RULE {
                    cx.err(
                        &f.file,
                        fname,
                        too_long(
                            "EventBridge rule",
                            stage,
                            rule.clone(),
                            rule.len(),
                            naming::MAX_RULE,
                        ),
                        "shorten the function, project or stage name",
                    );
                }
            }
            for (qname, _) in &f.doc.queues.0 {
                let dlq = n.dlq(&qname.value);
                if dlq.len() > naming::MAX_QUEUE {
                    cx.err(
                        &f.file,
                        qname,
                        too_long("queue", stage, dlq.clone(), dlq.len(), naming::MAX_QUEUE),
                        "shorten the queue, project or stage name",
                    );
                }
            }
        }
    }
}

/// The `objects:` of one prefix: valid names, object name templates that parse, placeholders that do
/// not repeat the prefix's, and no two templates that could name the same object.
fn objects(
    cx: &mut Ctx<'_>,
    file: &Path,
    pname: &Spanned<String>,
    prefix: &PrefixDoc,
    key: &KeyTemplate,
) {
    let taken: BTreeSet<&str> = key.placeholders().map(|(n, _)| n).collect();
    let mut seen: Vec<(&Spanned<String>, KeyTemplate)> = Vec::new();
    for (oname, template) in &prefix.objects.0 {
        if !valid_name(&oname.value.replace('_', "-")) {
            cx.err(
                file,
                oname,
                format!(
                    "object name '{}' of prefix '{}' must be lower-case letters, digits and '-'",
                    oname.value, pname.value
                ),
                "",
            );
        }
        if let Some((first, _)) = seen.iter().find(|(n, _)| n.value == oname.value) {
            cx.err(
                file,
                oname,
                format!(
                    "object '{}' of prefix '{}' is declared twice (first on line {})",
                    oname.value,
                    pname.value,
                    first.referenced.line()
                ),
                "",
            );
        }
        let t = match KeyTemplate::parse_object(&template.value) {
            Ok(t) => t,
            Err(e) => {
                cx.err(
                    file,
                    template,
                    format!(
                        "bad object name template '{}' at character {}: {}",
                        template.value,
                        e.offset + 1,
                        e.message
                    ),
                    "an object name is relative to its prefix: `manifest.json`, `part-{part:u32:05}.parquet`, `{layer}/jobs/{job}.json`",
                );
                continue;
            }
        };
        for (n, _) in t.placeholders() {
            if taken.contains(n) {
                cx.err(
                    file,
                    template,
                    format!(
                        "placeholder '{n}' of object '{}' repeats a placeholder of prefix '{}' ({})",
                        oname.value, pname.value, key.source
                    ),
                    "rename the object's placeholder; the prefix's value is already part of the key",
                );
            }
        }
        for (other, ot) in &seen {
            if ot.overlaps(&t) && object_overlap(ot, &t) {
                cx.err(
                    file,
                    template,
                    format!(
                        "object '{}' ({}) could name the same object as '{}' ({}) of prefix '{}'",
                        oname.value, template.value, other.value, ot.source, pname.value
                    ),
                    "give each object a distinct literal name or extension",
                );
            }
        }
        seen.push((oname, t));
    }
}

/// Two object templates of the same number of segments whose segments are pairwise compatible.
fn object_overlap(a: &KeyTemplate, b: &KeyTemplate) -> bool {
    a.source.split('/').count() == b.source.split('/').count()
}
