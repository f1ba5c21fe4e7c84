//! An output directory as `diff` compares it: each stack's template parsed, the manifest, and the
//! other files as text. Read from disk for the earlier side, taken from memory for the fresh one.

use std::fs;
use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use serde_json::Value;

use crate::assembly::{Assembly, MANIFEST_FILE};
use crate::checks::readiness::load::read_document;
use crate::construct::SynthesizedApp;

/// Why an earlier output directory could not be read: the error of `validate --templates`, which
/// reads the same directories.
pub use crate::checks::readiness::load::LoadError as DiffError;

/// One stack of an output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputStack {
    /// Its region.
    pub region: String,
    /// Its template file, relative to the output directory.
    pub file: String,
    /// Its template.
    pub template: Value,
}

/// An output directory's contents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    /// The stacks by name, in the manifest's order.
    pub stacks: IndexMap<String, OutputStack>,
    /// `manifest.json`.
    pub manifest: Value,
    /// Every other file's bytes by relative path (`/`-separated), sorted. Compared as bytes: a file
    /// someone put beside the templates need not be text.
    pub files: IndexMap<String, Vec<u8>>,
}

impl Output {
    /// The output an assembly of `app` would write, without writing it (or parsing it back: the
    /// templates are the app's own documents, moved here).
    pub fn of_assembly(app: SynthesizedApp, assembly: &Assembly) -> Self {
        let mut output = Output {
            manifest: serde_json::to_value(&assembly.manifest).expect("manifests serialize"),
            ..Output::default()
        };
        for (stack, entry) in app.stacks.into_iter().zip(&assembly.manifest.stacks) {
            debug_assert_eq!(stack.name, entry.name);
            let file = entry.template_file.clone();
            output.stacks.insert(stack.name, OutputStack { region: stack.region, file, template: stack.template });
        }
        let templates: IndexSet<&str> = assembly.manifest.stacks.iter().map(|s| s.template_file.as_str()).collect();
        for (file, text) in &assembly.files {
            if file != MANIFEST_FILE && !templates.contains(file.as_str()) {
                output.files.insert(file.clone(), text.as_bytes().to_vec());
            }
        }
        output.files.sort_keys();
        output
    }

    /// Reads an earlier output directory: its manifest names the stacks and their template files.
    pub fn read(directory: &Path) -> Result<Self, DiffError> {
        let manifest_path = directory.join(MANIFEST_FILE);
        let manifest = read_document(&manifest_path)?;
        let Some(stacks) = manifest["stacks"].as_array() else {
            return Err(located(&manifest_path, "the manifest has no \"stacks\" list: not a cfn-synth output"));
        };
        let mut output = Output::default();
        for (index, stack) in stacks.iter().enumerate() {
            let field = |key: &str| {
                stack[key]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| located(&manifest_path, &format!("stacks[{index}] has no string \"{key}\"")))
            };
            let (name, region, file) = (field("name")?, field("region")?, field("templateFile")?);
            let path = directory.join(&file);
            let template = read_document(&path)?;
            output.stacks.insert(name, OutputStack { region, file, template });
        }
        let mut others = Vec::new();
        collect_files(directory, directory, &mut others)?;
        let templates: IndexSet<String> = output.stacks.values().map(|stack| stack.file.clone()).collect();
        for (relative, path) in others {
            if relative != MANIFEST_FILE && !templates.contains(&relative) {
                let bytes = fs::read(&path).map_err(|source| DiffError::Io { path: path.clone(), source })?;
                output.files.insert(relative, bytes);
            }
        }
        output.files.sort_keys();
        output.manifest = manifest;
        Ok(output)
    }
}

fn located(path: &Path, message: &str) -> DiffError {
    DiffError::Parse { path: path.to_owned(), line: 0, column: 0, message: message.to_owned() }
}

fn collect_files(root: &Path, directory: &Path, found: &mut Vec<(String, PathBuf)>) -> Result<(), DiffError> {
    let entries = fs::read_dir(directory).map_err(|source| DiffError::Io { path: directory.to_owned(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| DiffError::Io { path: directory.to_owned(), source })?;
        let path = entry.path();
        if path.is_dir() {
            collect_files(root, &path, found)?;
        } else {
            let relative = path.strip_prefix(root).expect("walked from the root");
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            found.push((relative, path));
        }
    }
    Ok(())
}
