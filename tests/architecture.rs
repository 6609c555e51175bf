//! The layering of ARCHITECTURE.md, checked on the sources: no front (the Python binding, the server, the gRPC client,
//! the REST client) names another front or the store, and the core names no front. `connect` is the one
//! module that knows every registry and server, for the fronts.
//!
//! Modules are found by their paths from the crate root (`crate::store`, `crate::server::...`), and by
//! `super::` chains that climb out of a front's directory.

use std::path::{Path, PathBuf};

/// The fronts: modules that translate between the operations and the outside world.
const FRONTS: &[&str] = &["python", "server", "remote", "grpc_client"];
/// What only `connect` may name besides the fronts.
const STORE: &str = "store";
const COMPOSITION: &str = "connect";

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top module a file belongs to: `src/server/mod.rs` -> `server`, `src/connect.rs` -> `connect`.
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("a file under src");
    let first = relative
        .components()
        .next()
        .expect("a non-empty path")
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The top modules a file names through `crate::`, and through `super::` chains that leave its top module.
fn named_modules(src: &Path, file: &Path, text: &str) -> Vec<String> {
    let mut named = Vec::new();
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() && rest.starts_with('{') {
            // `use crate::{a, b::c}`: every top name in the braces.
            let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for item in inner.split(',') {
                let item: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                named.push(item);
            }
        } else {
            named.push(name);
        }
    }
    // A file `depth` directories below src may climb out of its top module with that many `super::`.
    let depth = file
        .strip_prefix(src)
        .expect("a file under src")
        .components()
        .count()
        - 1;
    let file_name = file.file_name().unwrap_or_default();
    let own_module_levels = if file_name == "mod.rs" {
        depth
    } else {
        depth + 1
    };
    if own_module_levels > 0 {
        let escape = "super::".repeat(own_module_levels);
        for (at, _) in code.match_indices(escape.as_str()) {
            let name: String = code[at + escape.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            named.push(name);
        }
    }
    named
}

#[test]
fn fronts_name_no_other_front_nor_the_store_and_the_core_names_no_front() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 30, "the sources were not found: {files:?}");
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source");
        let module = top_module(&src, file);
        for named in named_modules(&src, file, &text) {
            let refused = if FRONTS.contains(&module.as_str()) {
                named != module && (FRONTS.contains(&named.as_str()) || named == STORE)
            } else if module == COMPOSITION || module == "lib" {
                false
            } else {
                FRONTS.contains(&named.as_str()) || named == COMPOSITION
            };
            if refused {
                broken.push(format!("{} names `{named}`", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

#[test]
fn the_check_sees_what_it_refuses() {
    let src = Path::new("/x/src");
    let file = Path::new("/x/src/server/translate.rs");
    let names = named_modules(
        src,
        file,
        "use crate::store::Store;\nuse crate::{ops, remote::X};\nuse super::super::python::Y;\n// crate::python",
    );
    assert_eq!(names, ["store", "ops", "remote", "python"]);
}
