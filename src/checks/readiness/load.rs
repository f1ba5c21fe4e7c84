//! Reading templates cfn-synth did not write: `cfn-synth validate --templates DIR`.
//!
//! Three layouts are understood:
//! - a cfn-synth output directory: `manifest.json` with `stacks` (name, region, templateFile,
//!   dependsOn) in deploy order;
//! - an AWS CDK cloud assembly (`cdk.out`): `manifest.json` with `artifacts`, of which those of type
//!   `aws:cloudformation:stack` name their template, their environment (`aws://account/region`) and
//!   their dependencies;
//! - a plain folder of `*.json`, `*.yaml` or `*.yml` templates, one stack per file named after it,
//!   all in the default region.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::StackTemplate;
use crate::template::Field;

/// Why a directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not JSON or YAML of the expected shape.
    #[error("{}: {message}", located(path, *line, *column))]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, from 1; 0 when the problem is the document's shape, not a place in it.
        line: usize,
        /// The column, from 1; 0 with `line`.
        column: usize,
        /// Why.
        message: String,
    },
    /// A stack has no region and none was given.
    #[error("{stack}: no region is known for it; pass --region")]
    NoRegion {
        /// The stack.
        stack: String,
    },
    /// Nothing to analyse.
    #[error("{0}: no CloudFormation template found")]
    Empty(PathBuf),
}

/// Reads the stacks of `directory`, in deploy order where the layout says it; `default_region` is
/// for stacks whose layout names none.
pub fn from_directory(
    directory: &Path,
    default_region: Option<&str>,
) -> Result<Vec<StackTemplate<'static>>, LoadError> {
    let manifest_path = directory.join("manifest.json");
    let stacks = if manifest_path.is_file() {
        let manifest = read_document(&manifest_path)?;
        if manifest.field("stacks").is_array() {
            from_cfn_synth(directory, &manifest, default_region)?
        } else if manifest.field("artifacts").is_object() {
            from_cloud_assembly(directory, &manifest, default_region)?
        } else {
            return Err(LoadError::Parse {
                path: manifest_path,
                line: 0,
                column: 0,
                message: "neither a cfn-synth manifest (stacks) nor a CDK cloud assembly manifest (artifacts)".into(),
            });
        }
    } else {
        from_plain_folder(directory, default_region)?
    };
    if stacks.is_empty() {
        return Err(LoadError::Empty(directory.to_owned()));
    }
    Ok(stacks)
}

fn from_cfn_synth(
    directory: &Path,
    manifest: &Json,
    default_region: Option<&str>,
) -> Result<Vec<StackTemplate<'static>>, LoadError> {
    let mut stacks = Vec::new();
    for stack in manifest.field("stacks").as_array().into_iter().flatten() {
        let name = stack.field("name").as_str().unwrap_or_default().to_owned();
        let region = region_or(stack.field("region").as_str(), default_region, &name)?;
        let file = directory.join(stack.field("templateFile").as_str().unwrap_or_default());
        let depends_on = strings(stack.field("dependsOn"));
        stacks.push(StackTemplate { template: Cow::Owned(read_document(&file)?), name, region, depends_on });
    }
    Ok(stacks)
}

fn from_cloud_assembly(
    directory: &Path,
    manifest: &Json,
    default_region: Option<&str>,
) -> Result<Vec<StackTemplate<'static>>, LoadError> {
    let artifacts = manifest.field("artifacts").as_object().expect("checked by the caller");
    let is_stack = |id: &str| artifacts.get(id).is_some_and(|a| a.field("type") == "aws:cloudformation:stack");
    let mut stacks = Vec::new();
    for (id, artifact) in artifacts {
        if !is_stack(id) {
            continue;
        }
        let properties = artifact.field("properties");
        let name = properties.field("stackName").as_str().unwrap_or(id).to_owned();
        // `aws://account/region`; CDK writes `unknown-region` for an environment-agnostic stack.
        let region = artifact
            .field("environment")
            .as_str()
            .and_then(|env| env.rsplit('/').next())
            .filter(|r| *r != "unknown-region");
        let region = region_or(region, default_region, &name)?;
        let file = directory.join(properties.field("templateFile").as_str().unwrap_or_default());
        let depends_on = strings(artifact.field("dependencies")).into_iter().filter(|dep| is_stack(dep)).collect();
        stacks.push(StackTemplate { template: Cow::Owned(read_document(&file)?), name, region, depends_on });
    }
    Ok(order_by_dependencies(stacks))
}

fn from_plain_folder(directory: &Path, default_region: Option<&str>) -> Result<Vec<StackTemplate<'static>>, LoadError> {
    let entries = fs::read_dir(directory).map_err(|source| LoadError::Io { path: directory.to_owned(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json" || ext == "yaml" || ext == "yml"))
        .collect();
    files.sort();
    let mut stacks = Vec::new();
    for file in files {
        let template = read_document(&file)?;
        if !template.field("Resources").is_object() {
            continue;
        }
        let stem = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let name = stem.split('.').next().unwrap_or(stem).to_owned();
        let region = region_or(None, default_region, &name)?;
        stacks.push(StackTemplate { template: Cow::Owned(template), name, region, depends_on: vec![] });
    }
    Ok(stacks)
}

/// Stacks after their dependencies, otherwise in the order given.
fn order_by_dependencies(mut pending: Vec<StackTemplate<'static>>) -> Vec<StackTemplate<'static>> {
    let mut ordered: Vec<StackTemplate<'static>> = Vec::new();
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|stack| stack.depends_on.iter().all(|dep| ordered.iter().any(|done| &done.name == dep)))
            .unwrap_or(0);
        ordered.push(pending.remove(ready));
    }
    ordered
}

fn region_or(region: Option<&str>, default_region: Option<&str>, stack: &str) -> Result<String, LoadError> {
    region.or(default_region).map(str::to_owned).ok_or_else(|| LoadError::NoRegion { stack: stack.to_owned() })
}

fn strings(value: &Json) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(Json::as_str).map(str::to_owned).collect()
}

/// `path:line:column`, or the path alone when no place is known.
fn located(path: &Path, line: usize, column: usize) -> String {
    match line {
        0 => path.display().to_string(),
        _ => format!("{}:{line}:{column}", path.display()),
    }
}

/// Reads a template or manifest: YAML by its extension (`.yaml`, `.yml`), JSON otherwise; a syntax
/// error is located at its line and column.
pub fn read_document(path: &Path) -> Result<Json, LoadError> {
    let text = fs::read_to_string(path).map_err(|source| LoadError::Io { path: path.to_owned(), source })?;
    let error = |line, column, message| LoadError::Parse { path: path.to_owned(), line, column, message };
    if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
        serde_yaml::from_str::<Json>(&text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |at| (at.line(), at.column()));
            error(line, column, e.to_string())
        })
    } else {
        serde_json::from_str::<Json>(&text).map_err(|e| error(e.line(), e.column(), e.to_string()))
    }
}
