//! Codegen: the model -> `crates/prefixes/src/generated.rs`, the typed key builders per component.
//!
//! Pure: [`generate`] returns the file's text; `infra-gen codegen` writes it and `codegen --check`
//! (and a test) fails when the committed file differs. Each function gets a module with handles for
//! exactly the prefixes prefixes.yaml grants it, typed by access, so a write to a read-only prefix
//! does not compile; its queues; and the SSM parameters it declares (only for functions that do).

use std::fmt::Write as _;

use crate::keytemplate::{KeyTemplate, Part, PlaceholderType};
use crate::manifest::{Manifests, NamedMap, Spanned};
use crate::model::Access;
use crate::naming::{env_bucket, env_dlq_url, env_queue_url, env_stage, logical, rust_ident};

/// Where the generated file lives, relative to the root.
pub const GENERATED_PATH: &str = "crates/prefixes/src/generated.rs";

fn const_name(name: &str) -> String {
    rust_ident(name).to_ascii_uppercase()
}

/// The text of an integer field, zero-padded when the template says so.
fn int_text(expr: &str, width: usize) -> String {
    if width == 0 {
        format!("{expr}.to_string()")
    } else {
        format!("format!(\"{{:0{width}}}\", {expr})")
    }
}

/// An expression building struct `ty` from the placeholder values in `values` (template order).
fn construct(ty: &str, t: &KeyTemplate, values: &str) -> String {
    let fields: Vec<String> = t
        .placeholders()
        .enumerate()
        .map(|(i, (n, ty))| {
            let at = if i == 0 {
                format!("{values}.first()")
            } else {
                format!("{values}.get({i})")
            };
            match ty {
                PlaceholderType::Str => format!("{n}: {at}.copied()?"),
                _ => format!("{n}: {at}?.parse().ok()?"),
            }
        })
        .collect();
    if fields.is_empty() {
        format!("Some({ty})")
    } else {
        format!("Some({ty} {{ {} }})", fields.join(", "))
    }
}

/// One struct per object declared under a prefix, in `keys::<prefix>`.
fn objects(w: &mut String, prefix: &str, marker: &str, objects: &NamedMap<Spanned<String>>) {
    if objects.0.is_empty() {
        return;
    }
    let _ = writeln!(w, "    /// The objects declared under prefix `{prefix}`.");
    let _ = writeln!(w, "    pub mod {} {{", rust_ident(prefix));
    for (name, template) in objects.iter() {
        let t = KeyTemplate::parse_object(&template.value)
            .expect("object templates are validated before codegen");
        let ty = logical(name);
        let has_str = t.placeholders().any(|(_, ty)| ty == PlaceholderType::Str);
        let (lt, anon) = if has_str { ("<'a>", "<'_>") } else { ("", "") };
        let fields: Vec<String> = t
            .placeholders()
            .map(|(n, ty)| format!("pub {n}: {}", ty.rust_type()))
            .collect();
        let _ = writeln!(
            w,
            "        /// Object `{name}` of prefix `{prefix}`: `{}`.",
            t.source
        );
        let _ = writeln!(w, "        #[derive(Debug, Clone, Copy, PartialEq, Eq)]");
        if fields.is_empty() {
            let _ = writeln!(w, "        pub struct {ty};");
        } else {
            let _ = writeln!(w, "        pub struct {ty}{lt} {{ {} }}", fields.join(", "));
        }
        let _ = writeln!(w, "        impl crate::ObjectName for {ty}{anon} {{");
        let _ = writeln!(w, "            type Prefix = super::{marker};");
        let _ = writeln!(w, "            const NAME: &'static str = {name:?};");
        let _ = writeln!(
            w,
            "            const TEMPLATE: &'static str = {:?};",
            t.source
        );
        if fields.is_empty() {
            let _ = writeln!(
                w,
                "            fn render(&self) -> Result<String, crate::KeyError> {{"
            );
            let _ = writeln!(w, "                Ok({:?}.to_string())", t.source);
        } else {
            let _ = writeln!(
                w,
                "            fn render(&self) -> Result<String, crate::KeyError> {{"
            );
            let _ = writeln!(
                w,
                "                let mut name = String::with_capacity({});",
                t.source.len() + 32
            );
            for part in &t.parts {
                match part {
                    Part::Lit(l) => {
                        let _ = writeln!(w, "                name.push_str({l:?});");
                    }
                    Part::Placeholder {
                        name: n,
                        ty: PlaceholderType::Str,
                        ..
                    } => {
                        let _ = writeln!(
                            w,
                            "                name.push_str(crate::segment({n:?}, self.{n})?);"
                        );
                    }
                    Part::Placeholder { name: n, width, .. } => {
                        let _ = writeln!(
                            w,
                            "                name.push_str(&{});",
                            int_text(&format!("self.{n}"), *width)
                        );
                    }
                }
            }
            let _ = writeln!(w, "                Ok(name)");
        }
        let _ = writeln!(w, "            }}");
        let _ = writeln!(w, "        }}");
        let _ = writeln!(w, "        impl<'a> crate::ParseObject<'a> for {ty}{lt} {{");
        let _ = writeln!(w, "            fn parse(name: &'a str) -> Option<Self> {{");
        if fields.is_empty() {
            let _ = writeln!(
                w,
                "                (name == {:?}).then_some({ty})",
                t.source
            );
        } else {
            let _ = writeln!(
                w,
                "                let (values, rest) = crate::match_template(<Self as crate::ObjectName>::TEMPLATE, name)?;"
            );
            let _ = writeln!(w, "                if !rest.is_empty() {{ return None; }}");
            let _ = writeln!(w, "                {}", construct(&ty, &t, "values"));
        }
        let _ = writeln!(w, "            }}");
        let _ = writeln!(w, "        }}");
    }
    let _ = writeln!(w, "    }}");
}

/// The generated Rust source. Call only on validated manifests.
pub fn generate(m: &Manifests) -> String {
    let mut s = String::new();
    let project = m.project();
    let w = &mut s;
    let _ = writeln!(
        w,
        "// @generated by `cargo run -p infra-gen -- codegen` from prefixes.yaml and features/*/feature.yaml."
    );
    let _ = writeln!(
        w,
        "// Do not edit: change the manifests and regenerate. A test fails when this file is stale."
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "/// The project name; physical names start with `<project>-<stage>-`."
    );
    let _ = writeln!(w, "pub const PROJECT: &str = {project:?};");
    let _ = writeln!(
        w,
        "/// The environment variable that carries the stage name."
    );
    let _ = writeln!(w, "pub const ENV_STAGE: &str = {:?};", env_stage(project));
    let _ = writeln!(w);

    let _ = writeln!(
        w,
        "/// Every bucket, with the environment variable that carries its physical name."
    );
    let _ = writeln!(w, "pub mod buckets {{");
    for (name, doc) in m.prefixes.buckets.iter() {
        if let Some(d) = &doc.description {
            let _ = writeln!(w, "    /// {d}");
        }
        let _ = writeln!(
            w,
            "    pub const {}: crate::Bucket = crate::Bucket {{ name: {name:?}, env: {:?} }};",
            const_name(name),
            env_bucket(project, name)
        );
    }
    let _ = writeln!(w, "}}\n");

    let _ = writeln!(
        w,
        "/// Every queue, with the environment variables that carry its URLs and its worklist settings."
    );
    let _ = writeln!(w, "pub mod queues {{");
    for q in m.queues() {
        let dlq = match q.doc.dlq.as_ref() {
            Some(_) => format!("Some({:?})", env_dlq_url(project, q.name)),
            None => "None".into(),
        };
        let max_receives = match q.doc.dlq.as_ref() {
            Some(d) => format!("Some({})", d.max_receives.value),
            None => "None".into(),
        };
        let layers: Vec<&str> = q.doc.layers.iter().map(|l| l.value.as_str()).collect();
        let _ = writeln!(
            w,
            "    /// Queue `{}` of feature `{}`.",
            q.name, q.feature.name
        );
        let _ = writeln!(
            w,
            "    pub const {}: crate::Queue = crate::Queue {{",
            const_name(q.name)
        );
        let _ = writeln!(w, "        name: {:?},", q.name);
        let _ = writeln!(w, "        env: {:?},", env_queue_url(project, q.name));
        let _ = writeln!(w, "        dlq_env: {dlq},");
        let _ = writeln!(
            w,
            "        visibility_timeout_s: {},",
            q.doc.visibility_timeout_s.value
        );
        let _ = writeln!(w, "        max_receives: {max_receives},");
        let _ = writeln!(
            w,
            "        lanes: {},",
            q.doc.lanes.as_ref().map_or(1, |l| l.value)
        );
        let _ = writeln!(w, "        layers: &{layers:?},");
        let _ = writeln!(w, "    }};");
    }
    let _ = writeln!(w, "}}\n");

    let _ = writeln!(
        w,
        "/// Key specifications: one marker type and one parts struct per prefix."
    );
    let _ = writeln!(w, "pub mod keys {{");
    for p in m.prefixes() {
        let t = p.template();
        let marker = logical(p.name);
        let has_str = t.placeholders().any(|(_, ty)| ty == PlaceholderType::Str);
        let lt = if has_str { "<'a>" } else { "" };
        let _ = writeln!(
            w,
            "    /// Placeholders of prefix `{}` in bucket `{}`: `{}`.",
            p.name, p.bucket, t.source
        );
        let _ = writeln!(w, "    #[derive(Debug, Clone, Copy, PartialEq, Eq)]");
        let fields: Vec<String> = t
            .placeholders()
            .map(|(n, ty)| format!("pub {n}: {}", ty.rust_type()))
            .collect();
        if fields.is_empty() {
            let _ = writeln!(w, "    pub struct {marker}Key;");
        } else {
            let _ = writeln!(
                w,
                "    pub struct {marker}Key{lt} {{ {} }}",
                fields.join(", ")
            );
        }
        if let Some(d) = &p.doc.description {
            let _ = writeln!(w, "    /// Prefix `{}`: {d}", p.name);
        }
        let _ = writeln!(w, "    #[derive(Debug, Clone, Copy, PartialEq, Eq)]");
        let _ = writeln!(w, "    pub enum {marker} {{}}");
        let _ = writeln!(w, "    impl crate::KeySpec for {marker} {{");
        let _ = writeln!(w, "        type Parts<'a> = {marker}Key{lt};");
        let _ = writeln!(w, "        const NAME: &'static str = {:?};", p.name);
        let _ = writeln!(w, "        const TEMPLATE: &'static str = {:?};", t.source);
        let _ = writeln!(
            w,
            "        const ROOT: &'static str = {:?};",
            t.static_head()
        );
        let arg = if fields.is_empty() { "_parts" } else { "parts" };
        let _ = writeln!(
            w,
            "        fn render({arg}: &Self::Parts<'_>) -> Result<String, crate::KeyError> {{"
        );
        let _ = writeln!(
            w,
            "            let mut key = String::with_capacity({});",
            t.source.len() + 32
        );
        for part in &t.parts {
            match part {
                Part::Lit(l) if l.chars().count() == 1 => {
                    let _ = writeln!(
                        w,
                        "            key.push({:?});",
                        l.chars().next().unwrap_or('/')
                    );
                }
                Part::Lit(l) => {
                    let _ = writeln!(w, "            key.push_str({l:?});");
                }
                Part::Placeholder {
                    name,
                    ty: PlaceholderType::Str,
                    ..
                } => {
                    let _ = writeln!(
                        w,
                        "            key.push_str(crate::segment({name:?}, parts.{name})?);"
                    );
                }
                Part::Placeholder { name, width, .. } => {
                    let _ = writeln!(
                        w,
                        "            key.push_str(&{});",
                        int_text(&format!("parts.{name}"), *width)
                    );
                }
            }
        }
        let _ = writeln!(w, "            Ok(key)");
        let _ = writeln!(w, "        }}");
        let names: Vec<&str> = t.placeholders().map(|(n, _)| n).collect();
        let values = if names.is_empty() {
            "_values"
        } else {
            "values"
        };
        let _ = writeln!(
            w,
            "        fn from_values<'a>({values}: &[&'a str]) -> Option<Self::Parts<'a>> {{"
        );
        let _ = writeln!(
            w,
            "            {}",
            construct(&format!("{marker}Key"), &t, "values")
        );
        let _ = writeln!(w, "        }}");
        let _ = writeln!(w, "    }}");
        objects(w, p.name, &marker, &p.doc.objects);
    }
    let _ = writeln!(w, "}}");

    for f in m.functions() {
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "/// What function `{}` (feature `{}`) may use, and nothing else.",
            f.name, f.feature.name
        );
        let _ = writeln!(w, "pub mod {} {{", rust_ident(f.name));
        let parameters = m.parameters_of(f.name);
        let env: Vec<String> = m
            .env_vars(f.name, f.doc)
            .into_iter()
            .map(|v| v.name)
            .collect();
        let doc = if parameters.is_empty() {
            "Environment variables the deployed function receives (the templates set exactly these)."
        } else {
            "Environment variables naming the function's resources (the templates set exactly these, plus the one of each entry in `parameters`)."
        };
        let _ = writeln!(w, "    /// {doc}");
        let _ = writeln!(w, "    pub const ENV: &[&str] = &{env:?};");
        for g in m.grants(f.name) {
            let access = match g.access {
                Access::Read => "Read",
                Access::Write => "Write",
                Access::ReadWrite => "ReadWrite",
            };
            let _ = writeln!(
                w,
                "    /// `{}` in bucket `{}` ({}).",
                g.prefix.doc.key.value,
                g.prefix.bucket,
                access.to_ascii_lowercase()
            );
            let _ = writeln!(
                w,
                "    pub const fn {}() -> crate::Prefix<crate::keys::{}, crate::access::{access}> {{ crate::Prefix::new(crate::buckets::{}) }}",
                rust_ident(g.prefix.name),
                logical(g.prefix.name),
                const_name(g.prefix.bucket)
            );
        }
        let queues = m.queues_of(f.doc);
        if !queues.is_empty() {
            let _ = writeln!(w, "    /// Queues this function consumes or sends to.");
            let _ = writeln!(w, "    pub mod queues {{");
            for q in queues {
                let _ = writeln!(
                    w,
                    "        pub const {0}: crate::Queue = crate::queues::{0};",
                    const_name(q)
                );
            }
            let _ = writeln!(w, "    }}");
        }
        if !parameters.is_empty() {
            let _ = writeln!(
                w,
                "    /// SSM parameters this function reads; each env var holds a parameter's name, never its value."
            );
            let _ = writeln!(w, "    pub mod parameters {{");
            for p in &parameters {
                if let Some(d) = &p.doc.description {
                    let _ = writeln!(w, "        /// {d}");
                }
                let _ = writeln!(
                    w,
                    "        pub const {}: crate::Parameter = crate::Parameter {{ name: {:?}, env: {:?}, optional: {} }};",
                    const_name(p.name),
                    p.name,
                    p.env,
                    p.doc.is_optional()
                );
            }
            let _ = writeln!(w, "    }}");
        }
        let _ = writeln!(w, "}}");
    }
    s
}
