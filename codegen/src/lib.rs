//! Generates cfn-synth's L1 layer, the crate `crates/l1/` (`cfn_synth::cfn`), from the registry
//! schemas vendored in `schemas/`.
//!
//! `cargo codegen` writes the files; `cargo codegen -- --check` (and this crate's test) fails when the
//! checked-in files differ from a fresh generation.

mod emit;
mod fixups;
mod model;
mod names;

use std::fs;
use std::path::Path;

use anyhow::{Context as _, Result};
use indexmap::IndexMap;

use model::ResourceType;

/// Where the generated L1 crate's sources go, relative to the workspace root.
pub const L1_SOURCES: &str = "crates/l1/src";

/// The L1 crate's manifest, which declares one cargo feature per generated service.
const L1_MANIFEST: &str = "crates/l1/Cargo.toml";

/// Every file of the L1 crate's sources ([`L1_SOURCES`]), relative to them, with its contents.
pub fn generate(root: &Path) -> Result<Vec<(String, String)>> {
    let schemas = root.join("schemas");
    let source: serde_json::Value = serde_json::from_str(&fs::read_to_string(schemas.join("SOURCE.json"))?)?;
    let date = source["schemaDate"].as_str().unwrap_or_default();
    let provenance = format!(
        "the CloudFormation registry schemas in schemas/ ({} {}, schema date {})",
        source["package"].as_str().unwrap_or_default(),
        source["version"].as_str().unwrap_or_default(),
        date.split('T').next().unwrap_or(date)
    );

    let types = fs::read_to_string(schemas.join("types.txt"))?;
    let mut services: IndexMap<String, Vec<ResourceType>> = IndexMap::new();
    let mut namespaces: IndexMap<String, String> = IndexMap::new();
    let mut patched_schemas = Vec::new();
    for type_name in types.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        let path = schemas.join("resources").join(format!("{}.json", type_name.replace("::", "_")));
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut schema: serde_json::Value = serde_json::from_str(&text)?;
        let file_name = format!("{}.json", type_name.replace("::", "_"));
        let mut resource = if fixups::apply(&mut schema)? {
            let mut resource = ResourceType::from_schema(&schema)?;
            resource.schema_include = format!("schemas/{file_name}");
            patched_schemas.push((format!("schemas/{file_name}"), serde_json::to_string_pretty(&schema)? + "\n"));
            resource
        } else {
            ResourceType::from_schema(&schema)?
        };
        if resource.schema_include.is_empty() {
            resource.schema_include = format!("../../../schemas/resources/{file_name}");
        }
        let namespace = type_name.rsplit_once("::").map_or(type_name, |(namespace, _)| namespace).to_owned();
        let service = names::service_module(&namespace);
        namespaces.insert(service.clone(), namespace);
        services.entry(service).or_default().push(resource);
    }
    services.sort_keys();
    for resources in services.values_mut() {
        resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    }

    let mut files = vec![("lib.rs".to_owned(), emit::root_module(&provenance, &services))];
    for (service, resources) in &services {
        files.push((format!("{service}.rs"), emit::service_module(&provenance, &namespaces[service], resources)));
    }
    files.extend(patched_schemas);
    Ok(files)
}

/// The files of [`L1_SOURCES`] that differ from a fresh generation, missing or extra ones included.
pub fn stale_files(root: &Path) -> Result<Vec<String>> {
    let generated = generate(root)?;
    let directory = root.join(L1_SOURCES);
    let mut stale = Vec::new();
    for (name, contents) in &generated {
        if fs::read_to_string(directory.join(name)).ok().as_deref() != Some(contents.as_str()) {
            stale.push(name.clone());
        }
    }
    for name in files_below(&directory, "") {
        if !generated.iter().any(|(generated, _)| *generated == name) {
            stale.push(name);
        }
    }
    stale.sort();
    Ok(stale)
}

/// Services whose cargo feature is missing: each generated module is compiled only with its feature,
/// declared by the L1 crate (`<service> = []` in `crates/l1/Cargo.toml`) and forwarded by the root
/// crate (`<service> = ["cfn-synth-l1/<service>"]`), and both `all-services` lists name it.
pub fn missing_features(root: &Path) -> Result<Vec<String>> {
    let l1 = fs::read_to_string(root.join(L1_MANIFEST))?;
    let top = fs::read_to_string(root.join("Cargo.toml"))?;
    let all_services = |manifest: &str, name: &str| -> Result<String> {
        let line = manifest.lines().find(|line| line.starts_with("all-services = ["));
        Ok(line.with_context(|| format!("{name} has no all-services feature"))?.to_owned())
    };
    let (l1_all, top_all) = (all_services(&l1, L1_MANIFEST)?, all_services(&top, "Cargo.toml")?);
    let mut missing = Vec::new();
    for (name, _) in generate(root)? {
        let Some(service) = name.strip_suffix(".rs").filter(|service| *service != "lib") else { continue };
        let declared = l1.lines().any(|line| line == format!("{service} = []"));
        let forwarded = top.lines().any(|line| line == format!("{service} = [\"cfn-synth-l1/{service}\"]"));
        let listed = [&l1_all, &top_all].iter().all(|list| list.contains(&format!("\"{service}\"")));
        if !declared || !forwarded || !listed {
            missing.push(service.to_owned());
        }
    }
    Ok(missing)
}

/// Writes [`L1_SOURCES`] afresh, removing files no longer generated.
pub fn write(root: &Path) -> Result<usize> {
    let generated = generate(root)?;
    let directory = root.join(L1_SOURCES);
    if directory.exists() {
        fs::remove_dir_all(&directory)?;
    }
    fs::create_dir_all(&directory)?;
    for (name, contents) in &generated {
        let path = directory.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, contents)?;
    }
    Ok(generated.len())
}

/// Every file below `directory`, as paths relative to it.
fn files_below(directory: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = fs::read_dir(directory) else { return Vec::new() };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            files.extend(files_below(&entry.path(), &format!("{name}/")));
        } else {
            files.push(name);
        }
    }
    files
}
