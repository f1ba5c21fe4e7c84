//! The output directory: one template file per stack and `manifest.json`, checked against
//! CloudFormation's template quotas ([`limits`]) and written atomically.

pub mod limits;
pub(crate) mod manifest;
mod writer;

use std::path::Path;

use indexmap::IndexMap;
use rayon::prelude::*;

pub use manifest::{
    DisasterRecoverySection, Manifest, ManifestStack, RecoveryPointBound, RecoveryStep, ReleaseSection, TemplateUpload,
    MANIFEST_VERSION,
};
pub use writer::{write_directory, Staging, WriteError};

use crate::construct::{SynthesizedApp, SynthesizedStack};
use crate::graph;
use crate::template::TemplateFormat;

/// The manifest's file name inside the output directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The picture of the architecture beside the manifest ([`crate::graph`]).
pub const ARCHITECTURE_FILE: &str = "architecture.svg";

/// The most stacks whose picture an assembly draws: past a few hundred boxes a picture shows nothing a
/// reader can use, and drawing tens of thousands would cost more than synthesizing them. `graph` draws
/// any app on request.
pub const MAX_PICTURED_STACKS: usize = 200;

pub use limits::{MAX_INLINE_TEMPLATE_BYTES, MAX_S3_TEMPLATE_BYTES};

/// Why an output could not be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssemblyError {
    /// A template over a size limit.
    #[error("stack {stack}: the template is {bytes} bytes, over {limit} bytes, {remedy}")]
    TemplateTooLarge {
        /// The stack.
        stack: String,
        /// The rendered size.
        bytes: usize,
        /// The limit.
        limit: usize,
        /// Which limit it is, and what to do.
        remedy: &'static str,
    },
    /// A template with more resources, outputs, parameters or mappings than CloudFormation allows.
    #[error("stack {stack}: {count} {what}, over CloudFormation's limit of {limit} a template; split the stack")]
    OverLimit {
        /// The stack.
        stack: String,
        /// What is counted (`resources`, `outputs` ...).
        what: &'static str,
        /// How many the template has.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A manifest section the app set that the manifest cannot hold.
    #[error("manifest section {key}: {message}")]
    Section {
        /// The section's key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Buckets the AWS CLI uploads templates too large to send inline to: one per region, since the CLI
/// addresses the bucket in the stack's region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateBuckets {
    /// Bucket name by region.
    pub by_region: IndexMap<String, String>,
    /// A key prefix for the uploads.
    pub prefix: Option<String>,
}

/// How an app is rendered into an output directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssemblyOptions {
    /// The template format.
    pub format: TemplateFormat,
    /// Indent every template, even one that then needs a bucket (`synth --pretty`).
    pub pretty: bool,
    /// Where templates too large to send inline go.
    pub buckets: TemplateBuckets,
}

/// The rendered contents of an output directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Assembly {
    /// The manifest.
    pub manifest: Manifest,
    /// Every file: path relative to the output directory, and contents: the templates, the artifacts,
    /// and the manifest last.
    pub files: Vec<(String, String)>,
}

impl Assembly {
    /// Renders a synthesized app in a format, each template indented where it fits inline.
    pub fn new(app: &SynthesizedApp, format: TemplateFormat) -> Result<Self, AssemblyError> {
        Self::with_options(app, &AssemblyOptions { format, ..AssemblyOptions::default() })
    }

    /// Renders a synthesized app, placing each template as [`limits::place`] says and checking every
    /// quota.
    pub fn with_options(app: &SynthesizedApp, options: &AssemblyOptions) -> Result<Self, AssemblyError> {
        let mut files = Vec::with_capacity(app.stacks.len() + 1);
        let manifest = assemble(app, options, Threads::Pool, &mut |path, contents| {
            files.push((path, contents));
            Ok::<(), AssemblyError>(())
        })?;
        Ok(Self { manifest, files })
    }

    /// Renders a synthesized app straight into the directory `target`, each file written as it is
    /// rendered and then dropped, so that a large app's texts are never all held at once. The
    /// directory replaces an earlier output atomically, and only when everything was written: an error
    /// (a template past a quota, say) leaves the earlier output as it was.
    pub fn write_streaming(
        app: &SynthesizedApp,
        options: &AssemblyOptions,
        target: &Path,
    ) -> Result<Manifest, AssemblyError> {
        let (staging, manifest) = Self::stage(app, options, target)?;
        staging.commit()?;
        Ok(manifest)
    }

    /// Renders a synthesized app into a staging directory beside `target`, as
    /// [`Assembly::write_streaming`] does, without moving it into place: the caller commits it
    /// ([`Staging::commit`]) or drops it, which removes it. `synth` stages while its deploy-readiness
    /// analysis runs on the other core, and commits only an app the analysis passes.
    pub fn stage(
        app: &SynthesizedApp,
        options: &AssemblyOptions,
        target: &Path,
    ) -> Result<(Staging, Manifest), AssemblyError> {
        let mut staging = Staging::new(target)?;
        // A small app's templates are rendered and written on the calling thread (the picture is drawn
        // beside them). Their few milliseconds are not worth a hand-off: the kernel wakes a sleeping
        // pool thread on the core it was woken from, so on two cores the pool's work often waited
        // behind `synth`'s analysis (which runs on a thread of its own) while the other core stood
        // idle. Measured on the default platform, 100 runs: the staging's median fell from 5.4 to 4.6 ms.
        if app.stacks.len() <= RENDER_BATCH {
            let manifest = assemble(app, options, Threads::Calling, &mut |path, contents| {
                staging.write(&path, &contents).map_err(AssemblyError::from)
            })?;
            return Ok((staging, manifest));
        }
        // A writer thread takes the files in order while the templates are rendered on the others: on a
        // large app the writing is mostly the kernel's, and the rendering need not wait for it.
        let (files, rendered) = std::sync::mpsc::sync_channel::<(String, String)>(WRITE_QUEUE);
        let (assembled, written) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                let mut staging = staging;
                for (path, contents) in rendered {
                    staging.write(&path, &contents)?;
                }
                Ok::<Staging, WriteError>(staging)
            });
            // A closed queue means the writer stopped at an error, which is the one to report.
            let assembled = assemble(app, options, Threads::Pool, &mut |path, contents| {
                files.send((path, contents)).map_err(|_| Staged::WriterStopped)
            });
            drop(files);
            (assembled, writer.join().expect("the writer does not panic"))
        });
        let staging = written?;
        match assembled {
            Ok(manifest) => Ok((staging, manifest)),
            Err(Staged::Assembly(error)) => Err(error),
            Err(Staged::WriterStopped) => unreachable!("the writer stopped without an error"),
        }
    }

    /// Writes the assembly as the directory `target`, replacing an earlier output atomically.
    pub fn write(&self, target: &Path) -> Result<(), AssemblyError> {
        Ok(write_directory(target, &self.files)?)
    }
}

/// Files the renderer may be ahead of the writer.
const WRITE_QUEUE: usize = 256;

/// Templates rendered at once, on every core (`rayon`), before they go to the sink in order.
const RENDER_BATCH: usize = 64;

/// Where [`assemble`] renders the templates and draws the picture.
#[derive(Debug, Clone, Copy)]
enum Threads {
    /// The templates one after the other on the calling thread, the picture meanwhile on a thread of
    /// its own.
    Calling,
    /// On every core (`rayon`), the picture beside the first batch.
    Pool,
}

/// Why staging stopped: the assembly's own error, or the writer's (reported by the writer).
enum Staged {
    Assembly(AssemblyError),
    WriterStopped,
}

impl From<AssemblyError> for Staged {
    fn from(error: AssemblyError) -> Self {
        Staged::Assembly(error)
    }
}

/// Hands a stack's placed template to `sink` under its file name and records it for the manifest.
fn emit<E: From<AssemblyError>>(
    app: &SynthesizedApp,
    options: &AssemblyOptions,
    stack: &SynthesizedStack,
    placement: Result<limits::Placement, AssemblyError>,
    stacks: &mut Vec<ManifestStack>,
    sink: &mut dyn FnMut(String, String) -> Result<(), E>,
) -> Result<(), E> {
    let placement = placement?;
    let file_name = format!("{}.template.{}", stack.name, options.format.extension());
    let uploads = app.uploads.get(&stack.name).cloned().unwrap_or_default();
    stacks.push(ManifestStack::uploaded(stack, file_name.clone(), placement.upload, uploads));
    sink(file_name, placement.text)
}

/// Renders every file of an app's output into `sink` (relative path, contents): the templates as
/// [`limits::place`] says, the artifacts, the picture, and the manifest last. Returns the manifest.
/// Templates are handed to `sink` in deploy order, so the output does not depend on the threads; the
/// picture is drawn meanwhile.
fn assemble<E: From<AssemblyError>>(
    app: &SynthesizedApp,
    options: &AssemblyOptions,
    threads: Threads,
    sink: &mut dyn FnMut(String, String) -> Result<(), E>,
) -> Result<Manifest, E> {
    let picture =
        || (app.stacks.len() <= MAX_PICTURED_STACKS).then(|| graph::svg::render(&graph::Architecture::of(&app.stacks)));
    let (stacks, svg) = match threads {
        // Drawing the picture is a quarter of staging a small app. On a thread of its own it is drawn
        // while the templates are rendered and written here, instead of after them. (A fresh thread
        // starts on an idle core; a sleeping pool thread is woken where its waker runs.)
        Threads::Calling => std::thread::scope(|scope| {
            let drawing = scope.spawn(picture);
            let mut stacks = Vec::with_capacity(app.stacks.len());
            for stack in &app.stacks {
                emit(app, options, stack, limits::place(stack, options), &mut stacks, sink)?;
            }
            Ok::<_, E>((stacks, drawing.join().expect("drawing does not panic")))
        })?,
        Threads::Pool => {
            let mut stacks = Vec::with_capacity(app.stacks.len());
            let mut drawn = None;
            for (index, batch) in app.stacks.chunks(RENDER_BATCH).enumerate() {
                // Each text given back the room it did not take, on the thread that rendered it: it is
                // held with the batch, or with every file (`Assembly::with_options`), and freed on
                // another thread, which would keep the room from the renderers.
                let render = || {
                    batch
                        .par_iter()
                        .map(|stack| limits::place(stack, options).map(limits::Placement::shrunk))
                        .collect::<Vec<_>>()
                };
                let placements = if index == 0 {
                    let (placements, picture) = rayon::join(render, picture);
                    drawn = Some(picture);
                    placements
                } else {
                    render()
                };
                for (stack, placement) in batch.iter().zip(placements) {
                    emit(app, options, stack, placement, &mut stacks, sink)?;
                }
            }
            (stacks, drawn.unwrap_or_else(picture))
        }
    };
    for (path, contents) in &app.artifacts {
        sink(path.clone(), contents.clone())?;
    }
    if let Some(svg) = svg {
        sink(ARCHITECTURE_FILE.to_owned(), svg)?;
    }
    fn section<T: serde::de::DeserializeOwned>(app: &SynthesizedApp, key: &str) -> Result<Option<T>, AssemblyError> {
        app.sections
            .get(key)
            .map(|section| {
                serde_json::from_value(section.clone())
                    .map_err(|error| AssemblyError::Section { key: key.to_owned(), message: error.to_string() })
            })
            .transpose()
    }
    let release = section(app, "release")?;
    let disaster_recovery = section(app, "disasterRecovery")?;
    if let Some(key) = app.sections.keys().find(|key| !["release", "disasterRecovery"].contains(&key.as_str())) {
        return Err(AssemblyError::Section {
            key: key.clone(),
            message: "the manifest has no such section".to_owned(),
        }
        .into());
    }
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        app: app.name.clone(),
        stacks,
        deploy_order: app.deploy_order(),
        release,
        disaster_recovery,
    };
    let mut manifest_text = serde_json::to_string_pretty(&manifest).expect("manifests serialize");
    manifest_text.push('\n');
    sink(MANIFEST_FILE.to_owned(), manifest_text)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::App;
    use crate::template::{Resource, Value};

    #[test]
    fn an_oversized_template_names_its_stack() {
        let mut app = App::new("big");
        let stack = app.add_stack("Big-Stack", "us-east-1").unwrap();
        for index in 0..400 {
            let topic = Resource::new("AWS::SNS::Topic").property("DisplayName", Value::from("x".repeat(90)));
            stack.root().add_resource(&format!("Topic{index}"), topic).unwrap();
        }
        let err = Assembly::new(&app.synth().unwrap(), TemplateFormat::Json).unwrap_err();
        assert!(err.to_string().starts_with("stack Big-Stack: the template is "), "{err}");
    }

    /// Written as they are rendered, the files are the assembly's; a stack past a quota halfway stops
    /// the write and leaves the earlier output, with no temporary directory behind. Both ways of
    /// staging are held to it: a small app's on the calling thread, a large one's on the pool with a
    /// writer thread.
    #[test]
    fn a_streamed_write_is_the_assembly_and_a_failure_keeps_the_earlier_output() {
        for stacks in [3, RENDER_BATCH + 2] {
            streamed_write_round(stacks);
        }
    }

    fn streamed_write_round(stacks: usize) {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("out");
        let app_with = |stacks: usize| {
            let mut app = App::new("stream");
            for index in 0..stacks {
                let stack = app.add_stack(&format!("S{index:03}"), "us-east-1").unwrap();
                stack.root().add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
            }
            app
        };
        let mut app = app_with(stacks);
        let synthesized = app.synth().unwrap();
        let options = AssemblyOptions::default();
        let manifest = Assembly::write_streaming(&synthesized, &options, &target).unwrap();
        let assembly = Assembly::with_options(&synthesized, &options).unwrap();
        assert_eq!(manifest, assembly.manifest);
        assert_eq!(assembly.files.len(), stacks + 2, "templates, picture and manifest");
        for (name, contents) in &assembly.files {
            assert_eq!(&std::fs::read_to_string(target.join(name)).unwrap(), contents, "{name}");
        }
        let before = std::fs::read(target.join(MANIFEST_FILE)).unwrap();

        let big = app.add_stack("Z-Big", "us-east-1").unwrap();
        for index in 0..400 {
            let topic = Resource::new("AWS::SNS::Topic").property("DisplayName", Value::from("x".repeat(90)));
            big.root().add_resource(&format!("Topic{index}"), topic).unwrap();
        }
        let err = Assembly::write_streaming(&app.synth().unwrap(), &options, &target).unwrap_err();
        assert!(err.to_string().starts_with("stack Z-Big: the template is "), "{err}");
        assert_eq!(std::fs::read(target.join(MANIFEST_FILE)).unwrap(), before);
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["out"]);

        // The writer meets a file where it needs a directory: its error is the one reported, and the
        // renderer, ahead of it, stops.
        let mut clash = app_with(stacks);
        clash.add_artifact("notes", "a file").unwrap();
        clash.add_artifact("notes/more.txt", "under it").unwrap();
        let err = Assembly::write_streaming(&clash.synth().unwrap(), &options, &target).unwrap_err();
        assert!(matches!(err, AssemblyError::Write(_)), "{err}");
        assert!(err.to_string().contains("notes"), "{err}");
        assert_eq!(std::fs::read(target.join(MANIFEST_FILE)).unwrap(), before);
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["out"]);
    }

    #[test]
    fn an_app_of_more_stacks_than_a_picture_can_show_gets_none() {
        let pictured = |stacks: usize| {
            let mut app = App::new("many");
            for index in 0..stacks {
                let stack = app.add_stack(&format!("S{index}"), "us-east-1").unwrap();
                stack.root().add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
            }
            let assembly = Assembly::new(&app.synth().unwrap(), TemplateFormat::Json).unwrap();
            assembly.files.iter().any(|(name, _)| name == ARCHITECTURE_FILE)
        };
        assert!(pictured(MAX_PICTURED_STACKS));
        assert!(!pictured(MAX_PICTURED_STACKS + 1));
    }

    #[test]
    fn files_are_named_by_stack_and_format_with_the_manifest_last() {
        let mut app = App::new("small");
        app.add_stack("Small", "eu-west-1")
            .unwrap()
            .root()
            .add_resource("Topic", Resource::new("AWS::SNS::Topic"))
            .unwrap();
        let synth = app.synth().unwrap();
        let assembly = Assembly::new(&synth, TemplateFormat::Yaml).unwrap();
        let names: Vec<&str> = assembly.files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["Small.template.yaml", ARCHITECTURE_FILE, MANIFEST_FILE]);
        let manifest: serde_json::Value = serde_json::from_str(&assembly.files[2].1).unwrap();
        assert_eq!(manifest["deployOrder"], json!(["Small"]));
        assert_eq!(manifest["stacks"][0]["templateFile"], json!("Small.template.yaml"));
        assert_eq!(manifest["stacks"][0]["resourceCount"], json!(1));
    }
}
