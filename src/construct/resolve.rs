//! Turns reference placeholders into CloudFormation intrinsics, stack by stack.
//!
//! A reference to the consumer's own stack becomes `Ref` / `Fn::GetAtt`. A reference to another stack in
//! the same region becomes `Fn::ImportValue` of an export that this pass adds to the producer. A reference
//! to a stack in another region becomes `Fn::GetStackOutput` (with `Region`) of an output this pass adds,
//! CloudFormation's own cross-region reference: no Lambda custom resource, no SSM parameter writer. Every
//! reference to another stack also makes the consumer depend on the producer.

use indexmap::{IndexMap, IndexSet};
use serde_json::{json, Map, Value as Json};

use super::error::ConstructError;
use super::made_together;
use super::stack::{export_name, Stack};
use crate::fast_hash::{FastHashMap, FastIndexMap, FastIndexSet};
use crate::template::expr::ReferencePlaceholder;

/// Resolved template documents and the stack dependencies the references implied.
#[derive(Debug)]
pub(crate) struct Resolution {
    /// Each stack's template document, in app order.
    pub documents: IndexMap<String, Json>,
    /// Each stack's dependencies, explicit and implied, in app order.
    pub dependencies: IndexMap<String, IndexSet<String>>,
}

/// An output this pass adds to a producer so that another stack can read one of its values.
#[derive(Debug)]
struct GeneratedOutput {
    value: Json,
    description: String,
    exported: bool,
}

/// Resolves every stack of an app. `stacks` is in app order.
///
/// With `consume`, each stack's template is taken out of the stack ([`Stack::take_template`]) and
/// dropped once it is a document, so that the app and its documents are never both held whole: the
/// stacks are of no further use after a consuming synthesis. A small app's documents are made on two
/// threads while the pass resolves them ([`makes_together`]); a large one's as the pass comes to each
/// stack.
pub(crate) fn resolve(stacks: &FastIndexMap<String, Stack>, consume: bool) -> Result<Resolution, ConstructError> {
    check_removal_policies(stacks)?;
    let mut dependencies = IndexMap::new();
    for stack in stacks.values() {
        for needed in stack.explicit_dependencies().iter() {
            if !stacks.contains_key(needed) {
                return Err(ConstructError::DanglingReference {
                    from: format!("the dependencies of stack {}", stack.name()),
                    target: format!("stack {needed}"),
                });
            }
        }
        dependencies.insert(stack.name().to_owned(), stack.explicit_dependencies().clone());
    }

    let mut generated: FastIndexMap<String, FastIndexMap<String, GeneratedOutput>> = FastIndexMap::default();
    let mut explicit = FastHashMap::default();
    let mut documents = IndexMap::new();
    // Each stack resolved in app order, after its own checks; a pass stack by stack meets the errors in
    // this order, and so does one whose documents are made on two threads.
    let mut resolve_one = |stack: &Stack, mut document: Json| -> Result<(), ConstructError> {
        let mut resolver = Resolver {
            stacks,
            consumer: stack,
            generated: &mut generated,
            explicit: &mut explicit,
            needs: FastIndexSet::default(),
        };
        resolver.rewrite_document(&mut document)?;
        let needs = resolver.needs;
        dependencies[stack.name()].extend(needs);
        documents.insert(stack.name().to_owned(), document);
        Ok(())
    };
    if consume && makes_together(stacks) {
        // The checks read the templates, so they come before the templates are taken.
        let mut checked: Vec<_> = stacks.values().map(check_own).collect();
        let templates = stacks.values().map(Stack::take_template).collect();
        made_together::in_order(templates, |index, document| {
            std::mem::replace(&mut checked[index], Ok(()))?;
            resolve_one(&stacks[index], document)
        })?;
    } else {
        for stack in stacks.values() {
            check_own(stack)?;
            let document = if consume { stack.take_template().into_document() } else { stack.template().to_document() };
            resolve_one(stack, document)?;
        }
    }

    for (producer, outputs) in generated {
        let document = documents.get_mut(&producer).expect("producers are stacks of the app");
        let section = document
            .as_object_mut()
            .expect("templates are objects")
            .entry("Outputs")
            .or_insert_with(|| Json::Object(Map::new()))
            .as_object_mut()
            .expect("Outputs is an object");
        for (output_id, output) in outputs {
            let mut entry = Map::new();
            entry.insert("Description".into(), Json::String(output.description));
            entry.insert("Value".into(), output.value);
            if output.exported {
                entry.insert("Export".into(), json!({ "Name": export_name(&producer, &output_id) }));
            }
            section.insert(output_id, Json::Object(entry));
        }
    }
    Ok(Resolution { documents, dependencies })
}

/// Whether a consuming synthesis makes the documents of `stacks` on two threads while it resolves
/// them ([`made_together`]): an app of 2 to [`MAX_STACKS_MADE_TOGETHER`] stacks and at most
/// [`MAX_RESOURCES_MADE_TOGETHER`] resources. Any other makes each as the pass comes to it.
pub(super) fn makes_together(stacks: &FastIndexMap<String, Stack>) -> bool {
    (2..=MAX_STACKS_MADE_TOGETHER).contains(&stacks.len())
        && stacks.values().map(|stack| stack.template().resources.len()).sum::<usize>() <= MAX_RESOURCES_MADE_TOGETHER
}

/// The most stacks whose documents are made on two threads. A larger app's rendering already keeps
/// every core busy, and resolving the million-resource benchmark's 41,667 stacks on every core (the
/// branch `experiment/two-thread-resolve`) cost it time and memory.
pub(super) const MAX_STACKS_MADE_TOGETHER: usize = 64;

/// The most resources whose documents are made on two threads. The second thread allocates the
/// documents it makes in fresh memory, where the calling thread would have reused what each stack's
/// constructs gave back; the kernel clears that memory as it is first touched. Measured in turn on
/// this 2-core machine: the default platform (563 resources) took 5 to 7% less time end to end (huge
/// pages cleared: 7.3 → 7.75 a run), `stacks/large.yaml` (2,388 resources) 5% more (18.4 → 22.9, and
/// 11% more CPU time).
pub(super) const MAX_RESOURCES_MADE_TOGETHER: usize = 1_000;

/// A stack's own checks, which need no other stack: its `DependsOn` and its parameter values.
fn check_own(stack: &Stack) -> Result<(), ConstructError> {
    check_depends_on(stack)?;
    check_parameter_values(stack)
}

fn check_removal_policies(stacks: &FastIndexMap<String, Stack>) -> Result<(), ConstructError> {
    for stack in stacks.values() {
        for (logical_id, resource) in &stack.template().resources {
            let decided = resource.get_deletion_policy().is_some() && resource.get_update_replace_policy().is_some();
            if resource.is_stateful() && !decided {
                return Err(ConstructError::MissingRemovalPolicy {
                    path: resource_path(stack, logical_id),
                    resource_type: resource.resource_type().to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn check_depends_on(stack: &Stack) -> Result<(), ConstructError> {
    for (logical_id, resource) in &stack.template().resources {
        for needed in resource.dependencies() {
            if !stack.template().resources.contains_key(needed) {
                return Err(ConstructError::DanglingReference {
                    from: format!("{} (DependsOn)", resource_path(stack, logical_id)),
                    target: format!("resource {needed} in stack {}", stack.name()),
                });
            }
        }
    }
    Ok(())
}

fn check_parameter_values(stack: &Stack) -> Result<(), ConstructError> {
    match stack.parameter_values().keys().find(|name| !stack.template().parameters.contains_key(*name)) {
        Some(name) => Err(ConstructError::DanglingReference {
            from: format!("the parameter values of stack {}", stack.name()),
            target: format!("parameter {name}"),
        }),
        None => Ok(()),
    }
}

fn resource_path(stack: &Stack, logical_id: &str) -> String {
    stack.path_of(logical_id).map_or_else(|| format!("{}/{logical_id}", stack.name()), |path| path.to_string())
}

/// One step down a template entry: an object key or an array index.
enum Step<'n> {
    Key(&'n str),
    Index(usize),
}

/// `Properties.SecurityGroupIds.0`: a way down, as error messages spell it.
fn spell(location: &[Step<'_>]) -> String {
    let steps: Vec<String> = location
        .iter()
        .map(|step| match step {
            Step::Key(key) => (*key).to_owned(),
            Step::Index(index) => index.to_string(),
        })
        .collect();
    steps.join(".")
}

/// Why a placeholder was not resolved: a reference to nothing or an object that is no placeholder
/// (both located by the caller, which knows where they were found), or another error.
enum Failure {
    Dangling {
        target: String,
        location: String,
    },
    /// An object under the placeholder key that is no placeholder: left, it would reach the template.
    Malformed {
        found: String,
        location: String,
    },
    Error(ConstructError),
}

struct Resolver<'a> {
    stacks: &'a FastIndexMap<String, Stack>,
    consumer: &'a Stack,
    generated: &'a mut FastIndexMap<String, FastIndexMap<String, GeneratedOutput>>,
    /// Each producer's own outputs that carry a reference, read once per producer.
    explicit: &'a mut FastHashMap<String, Vec<ExplicitOutput>>,
    needs: FastIndexSet<String>,
}

/// An output a stack declares itself whose value is a reference into it: another stack reads the
/// value through it instead of through a generated one.
struct ExplicitOutput {
    reference: ReferencePlaceholder,
    output_id: String,
    /// `None`: not exported. `Some(None)`: exported under a computed name, which an import cannot use.
    export: Option<Option<String>>,
}

/// [`ExplicitOutput`]s of `producer`, in template order.
fn explicit_outputs(producer: &Stack) -> Vec<ExplicitOutput> {
    producer
        .template()
        .outputs
        .iter()
        .filter_map(|(output_id, output)| {
            Some(ExplicitOutput {
                reference: ReferencePlaceholder::from_json(&output.value)?,
                output_id: output_id.clone(),
                export: output.export.as_ref().map(|export| export.name.as_str().map(str::to_owned)),
            })
        })
        .collect()
}

impl Resolver<'_> {
    fn rewrite_document(&mut self, document: &mut Json) -> Result<(), ConstructError> {
        let consumer = self.consumer;
        let sections = document.as_object_mut().expect("templates are objects");
        for (section, entries) in sections.iter_mut() {
            let Some(entries) = entries.as_object_mut() else { continue };
            for (id, entry) in entries.iter_mut() {
                self.rewrite(entry, &mut Vec::new()).map_err(|failure| {
                    let base = || {
                        if section == "Resources" {
                            resource_path(consumer, id)
                        } else {
                            format!("{}/{section}/{id}", consumer.name())
                        }
                    };
                    match failure {
                        Failure::Dangling { target, location } => {
                            ConstructError::DanglingReference { from: format!("{} ({location})", base()), target }
                        }
                        Failure::Malformed { found, location } => {
                            ConstructError::MalformedReference { from: format!("{} ({location})", base()), found }
                        }
                        Failure::Error(error) => error,
                    }
                })?;
            }
        }
        Ok(())
    }

    /// Replaces every placeholder under `node`. `location` is the way down from the entry, kept as
    /// borrowed keys (a template has tens of thousands of them) and spelled out only for an error.
    fn rewrite<'n>(&mut self, node: &'n mut Json, location: &mut Vec<Step<'n>>) -> Result<(), Failure> {
        if ReferencePlaceholder::is_shaped(node) {
            // Taken out, so that its strings move into what replaces it. On an error the node is left
            // empty: the documents of a failed synthesis are not kept.
            let placeholder = ReferencePlaceholder::take_from_json(std::mem::take(node))
                .map_err(|found| Failure::Malformed { found: found.to_string(), location: spell(location) })?;
            *node = self.resolve(placeholder).map_err(|failure| match failure {
                Failure::Dangling { target, .. } => Failure::Dangling { target, location: spell(location) },
                other => other,
            })?;
            return Ok(());
        }
        match node {
            Json::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    location.push(Step::Index(index));
                    self.rewrite(item, location)?;
                    location.pop();
                }
            }
            Json::Object(map) => {
                for (key, value) in map.iter_mut() {
                    location.push(Step::Key(key));
                    self.rewrite(value, location)?;
                    location.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn resolve(&mut self, reference: ReferencePlaceholder) -> Result<Json, Failure> {
        let dangling = |target: String| Failure::Dangling { target, location: String::new() };
        let producer =
            self.stacks.get(&reference.stack).ok_or_else(|| dangling(format!("stack {}", reference.stack)))?;
        if !producer.has_logical_id(&reference.logical_id) {
            return Err(dangling(format!("{} in stack {}", reference.logical_id, reference.stack)));
        }
        if producer.name() == self.consumer.name() {
            return Ok(into_local_form(reference));
        }
        if !self.needs.contains(producer.name()) {
            self.needs.insert(producer.name().to_owned());
        }
        if producer.region() == self.consumer.region() {
            let (_, export) = self.output_for(producer, &reference, true).map_err(Failure::Error)?;
            let export = export.expect("an exported output has an export name");
            Ok(json!({ "Fn::ImportValue": export }))
        } else {
            let (output_id, _) = self.output_for(producer, &reference, false).map_err(Failure::Error)?;
            Ok(json!({ "Fn::GetStackOutput": {
                "StackName": producer.name(),
                "OutputName": output_id,
                "Region": producer.region(),
            }}))
        }
    }

    /// The producer output that carries a referenced value: an explicit one with the same value when
    /// there is one, otherwise one generated for the purpose. Returns its ID and, when wanted, its export.
    fn output_for(
        &mut self,
        producer: &Stack,
        reference: &ReferencePlaceholder,
        exported: bool,
    ) -> Result<(String, Option<String>), ConstructError> {
        if !self.explicit.contains_key(producer.name()) {
            self.explicit.insert(producer.name().to_owned(), explicit_outputs(producer));
        }
        for output in self.explicit[producer.name()].iter().filter(|output| &output.reference == reference) {
            match &output.export {
                Some(Some(name)) => return Ok((output.output_id.clone(), Some(name.clone()))),
                None if !exported => return Ok((output.output_id.clone(), None)),
                _ => {}
            }
        }

        // Built by hand, not by `format!`: one of these per reference, and `format!` costs several
        // times the copying.
        let output_id = match &reference.attribute {
            None => ["Ref", &reference.logical_id].concat(),
            Some(attribute) => {
                let mut id = String::with_capacity(6 + reference.logical_id.len() + attribute.len());
                id.push_str("GetAtt");
                id.push_str(&reference.logical_id);
                id.extend(attribute.chars().filter(char::is_ascii_alphanumeric));
                id
            }
        };
        if producer.template().outputs.contains_key(&output_id) {
            return Err(ConstructError::DuplicateOutput { stack: producer.name().to_owned(), output_id });
        }
        if !self.generated.contains_key(producer.name()) {
            self.generated.insert(producer.name().to_owned(), FastIndexMap::default());
        }
        let outputs = &mut self.generated[producer.name()];
        let output = outputs.entry(output_id.clone()).or_insert_with(|| GeneratedOutput {
            value: into_local_form(reference.clone()),
            description: format!(
                "{}{} for other stacks",
                reference.logical_id,
                reference.attribute.as_ref().map(|a| format!(".{a}")).unwrap_or_default()
            ),
            exported: false,
        });
        output.exported |= exported;
        let export = exported.then(|| export_name(producer.name(), &output_id));
        Ok((output_id, export))
    }
}

/// `Ref` or `Fn::GetAtt` inside the producer's own template, the reference's strings moved into it.
fn into_local_form(reference: ReferencePlaceholder) -> Json {
    let (key, value) = match reference.attribute {
        None => ("Ref", Json::String(reference.logical_id)),
        Some(attribute) => {
            ("Fn::GetAtt", Json::Array(vec![Json::String(reference.logical_id), Json::String(attribute)]))
        }
    };
    let mut form = Map::with_capacity(1);
    form.insert(key.to_owned(), value);
    Json::Object(form)
}
