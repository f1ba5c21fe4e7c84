//! A stack (one template, one region) and the scopes through which constructs add resources to it.
//!
//! A [`Stack`] is a shared handle, like a construct node in the CDK: the app, every scope in the stack
//! and every [`ResourceRef`] to one of its resources hold the same stack. So wiring works at any point
//! of a program: a grant adds its policy to the role's stack, and a connection its rules to the later
//! of two stacks, through the handles of the constructs involved, without borrowing the whole app.
//! Each change borrows the stack's contents only while it is made.

use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use indexmap::{IndexMap, IndexSet};

use super::error::ConstructError;
use super::path::ConstructPath;
use crate::fast_hash::{FastIndexMap, FastIndexSet};
use crate::template::{
    Address, CfnResource, Condition, Mapping, Output, Parameter, Reference, Resource, Template, Untyped, Value,
};

/// The longest stack name CloudFormation accepts.
const MAX_STACK_NAME_LENGTH: usize = 128;

/// One CloudFormation stack: a template deployed to one region. Cloning it clones the handle, not
/// the stack.
#[derive(Clone)]
pub struct Stack {
    inner: Rc<StackInner>,
}

/// What never changes about a stack, and what its constructs change.
struct StackInner {
    name: String,
    region: String,
    /// The stack's position in its app, in the order stacks were added.
    position: usize,
    state: RefCell<StackState>,
}

#[derive(Default)]
struct StackState {
    tags: IndexMap<String, String>,
    template: Template,
    /// The path of every construct scope opened in this stack ([`Scope::child`]), to reject two
    /// constructs at one path. Resources and parameters are not repeated here: their paths are in
    /// `logical_ids`, and a million-resource app would hold each twice.
    nodes: FastIndexSet<ConstructPath>,
    /// The construct path behind each logical ID (resources and parameters share one namespace).
    logical_ids: FastIndexMap<String, ConstructPath>,
    explicit_dependencies: IndexSet<String>,
    parameter_values: IndexMap<String, String>,
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack").field("name", &self.inner.name).field("region", &self.inner.region).finish()
    }
}

impl Stack {
    pub(crate) fn new(name: &str, region: &str, position: usize) -> Result<Self, ConstructError> {
        let valid = name.len() <= MAX_STACK_NAME_LENGTH
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(ConstructError::InvalidStackName { name: name.to_owned() });
        }
        let inner = StackInner {
            name: name.to_owned(),
            region: region.to_owned(),
            position,
            state: RefCell::new(StackState::default()),
        };
        Ok(Self { inner: Rc::new(inner) })
    }

    fn state(&self) -> Ref<'_, StackState> {
        self.inner.state.borrow()
    }

    fn state_mut(&self) -> RefMut<'_, StackState> {
        self.inner.state.borrow_mut()
    }

    /// The stack name, which is also the first segment of every construct path in it.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The region the stack deploys to.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The stack's position in its app (the order stacks were added), which decides where a rule
    /// between two stacks goes: to the later one, which may depend on the earlier.
    pub fn position(&self) -> usize {
        self.inner.position
    }

    /// Whether two handles are the same stack.
    pub fn same_as(&self, other: &Stack) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// Stack-level tags; `aws cloudformation deploy --tags` propagates them to every taggable resource.
    pub fn tags(&self) -> Ref<'_, IndexMap<String, String>> {
        Ref::map(self.state(), |state| &state.tags)
    }

    /// Adds or replaces a stack tag.
    pub fn add_tag(&self, key: impl Into<String>, value: impl Into<String>) {
        self.state_mut().tags.insert(key.into(), value.into());
    }

    /// Adds a macro CloudFormation runs on the template before processing it (`Transform`), once.
    pub fn add_transform(&self, transform: &str) {
        let transforms = &mut self.state_mut().template.transforms;
        if !transforms.iter().any(|known| known == transform) {
            transforms.push(transform.to_owned());
        }
    }

    /// Sets the template description.
    pub fn set_description(&self, description: impl Into<String>) {
        self.state_mut().template.description = Some(description.into());
    }

    /// The template as built so far, with references still unresolved. Release it before adding to
    /// the stack: a change while it is held panics.
    pub fn template(&self) -> Ref<'_, Template> {
        Ref::map(self.state(), |state| &state.template)
    }

    /// Takes the template out for a consuming synthesis ([`crate::construct::App::into_synth`]),
    /// leaving its outputs, which later stacks' references are matched against. The construct paths
    /// of its nodes go too; those of its logical IDs stay, for references and error messages.
    pub(crate) fn take_template(&self) -> Template {
        let mut state = self.state_mut();
        let outputs = state.template.outputs.clone();
        let taken = std::mem::take(&mut state.template);
        state.template.outputs = outputs;
        state.nodes = FastIndexSet::default();
        taken
    }

    /// The typed escape hatch: the L1 value of a resource a construct made, to change a property the
    /// construct does not expose. The stack stays borrowed until the returned guard is dropped.
    ///
    /// ```
    /// use cfn_synth::cfn::ecs;
    /// use cfn_synth::construct::App;
    /// let mut app = App::new("demo");
    /// let stack = app.add_stack("Demo", "us-east-1").unwrap();
    /// let cluster = stack.root().add("Cluster", ecs::Cluster::new()).unwrap();
    /// stack.resource_mut(&cluster).unwrap().cluster_name = Some("demo".into());
    /// assert_eq!(stack.template().resources["Cluster"].properties()["ClusterName"], "demo");
    /// ```
    ///
    /// It fails for a handle of another stack, and for a resource changed at the JSON level since.
    pub fn resource_mut<R: CfnResource + Clone + 'static>(
        &self,
        handle: &ResourceRef<R>,
    ) -> Result<TypedResourceMut<'_, R>, ConstructError> {
        let path = handle.path().to_string();
        let not_here = |message: &str| ConstructError::InvalidProps { path: path.clone(), message: message.into() };
        if !handle.stack().same_as(self) {
            return Err(not_here(&format!("is not a resource of stack {}", self.name())));
        }
        match self.state().template.resources.get(handle.logical_id()) {
            None => return Err(not_here("is not in its stack")),
            Some(entry) if !entry.is_typed::<R>() => {
                return Err(not_here("was changed at the JSON level; use resource_json_mut"));
            }
            Some(_) => {}
        }
        let value = RefMut::map(self.state_mut(), |state| {
            let entry = state.template.resources.get_mut(handle.logical_id()).expect("looked up above");
            entry.typed_mut::<R>().expect("checked above")
        });
        Ok(TypedResourceMut { value })
    }

    /// The JSON-level escape hatch: a resource entry by logical ID, to set what neither a construct nor
    /// the typed [`Stack::resource_mut`] reaches. A last resort: nothing checks what it writes.
    pub fn resource_json_mut(&self, logical_id: &str) -> Option<RefMut<'_, Resource>> {
        RefMut::filter_map(self.state_mut(), |state| state.template.resources.get_mut(logical_id)).ok()
    }

    /// The construct path of a resource or parameter.
    pub fn path_of(&self, logical_id: &str) -> Option<ConstructPath> {
        self.state().logical_ids.get(logical_id).cloned()
    }

    /// Whether a resource or parameter has this logical ID.
    pub fn has_logical_id(&self, logical_id: &str) -> bool {
        self.state().logical_ids.contains_key(logical_id)
    }

    /// The root scope, under which constructs add their children.
    pub fn root(&self) -> Scope {
        Scope { stack: self.clone(), path: ConstructPath::stack_root(&self.inner.name) }
    }

    /// Declares that this stack deploys after another one, beyond what references imply.
    pub fn add_dependency(&self, stack_name: impl Into<String>) {
        self.state_mut().explicit_dependencies.insert(stack_name.into());
    }

    /// Dependencies declared with [`Stack::add_dependency`].
    pub fn explicit_dependencies(&self) -> Ref<'_, IndexSet<String>> {
        Ref::map(self.state(), |state| &state.explicit_dependencies)
    }

    /// Sets the value a parameter gets at deploy time (`--parameter-overrides` in the manifest's deploy
    /// command). Synthesis checks that the parameter exists.
    pub fn set_parameter_value(&self, logical_id: impl Into<String>, value: impl Into<String>) {
        self.state_mut().parameter_values.insert(logical_id.into(), value.into());
    }

    /// The values set with [`Stack::set_parameter_value`].
    pub fn parameter_values(&self) -> Ref<'_, IndexMap<String, String>> {
        Ref::map(self.state(), |state| &state.parameter_values)
    }

    /// Adds a mapping (a two-level lookup table read with `Fn::FindInMap`). Its name must be new.
    pub fn add_mapping(&self, name: impl Into<String>, mapping: Mapping) -> Result<(), ConstructError> {
        let name = name.into();
        let mut state = self.state_mut();
        if state.template.mappings.contains_key(&name) {
            return Err(ConstructError::DuplicateMapping { stack: self.inner.name.clone(), name });
        }
        state.template.mappings.insert(name, mapping);
        Ok(())
    }

    /// Adds a condition (`Conditions` section), which resources and `Fn::If` name. Its name must be new.
    pub fn add_condition(&self, name: impl Into<String>, condition: Condition) -> Result<(), ConstructError> {
        let name = name.into();
        let mut state = self.state_mut();
        if state.template.conditions.contains_key(&name) {
            return Err(ConstructError::DuplicateCondition { stack: self.inner.name.clone(), name });
        }
        state.template.conditions.insert(name, condition);
        Ok(())
    }

    /// Adds an output. Its ID must be new in this stack.
    pub fn add_output(&self, output_id: impl Into<String>, output: Output) -> Result<(), ConstructError> {
        let output_id = output_id.into();
        let mut state = self.state_mut();
        if state.template.outputs.contains_key(&output_id) {
            return Err(ConstructError::DuplicateOutput { stack: self.inner.name.clone(), output_id });
        }
        state.template.outputs.insert(output_id, output);
        Ok(())
    }

    /// Adds an output exported as `<stack name>:<output id>`, the naming every stack of the app shares.
    pub fn export_value<T>(&self, output_id: &str, value: &Value<T>, description: &str) -> Result<(), ConstructError> {
        let export_name = export_name(&self.inner.name, output_id);
        self.add_output(output_id, Output::new(value).description(description).export_as(export_name))
    }

    /// Registers a construct scope's path, refusing one a scope, a resource or a parameter has.
    fn register(&self, path: &ConstructPath) -> Result<(), ConstructError> {
        let mut state = self.state_mut();
        // A resource or parameter at `path` is under the logical ID the path gives.
        let entry_here = state.logical_ids.get(&path.logical_id()).is_some_and(|existing| existing == path);
        if entry_here || !state.nodes.insert(path.clone()) {
            return Err(ConstructError::DuplicatePath { path: path.to_string() });
        }
        Ok(())
    }

    /// The logical ID of a resource or parameter at `path`, refusing a path a scope or another entry
    /// has, and a logical ID another path already gives.
    fn allocate_logical_id(&self, path: &ConstructPath) -> Result<String, ConstructError> {
        let logical_id = path.logical_id();
        let mut state = self.state_mut();
        if state.nodes.contains(path) {
            return Err(ConstructError::DuplicatePath { path: path.to_string() });
        }
        if let Some(existing) = state.logical_ids.get(&logical_id) {
            if existing == path {
                return Err(ConstructError::DuplicatePath { path: path.to_string() });
            }
            return Err(ConstructError::LogicalIdCollision {
                logical_id,
                path: path.to_string(),
                existing: existing.to_string(),
            });
        }
        state.logical_ids.insert(logical_id.clone(), path.clone());
        Ok(logical_id)
    }

    fn address(&self, logical_id: String) -> Address {
        Address { stack: self.inner.name.clone(), logical_id }
    }
}

/// The typed L1 value of a resource, borrowed from its stack by [`Stack::resource_mut`]. A change goes
/// to the resource's typed value itself; its JSON properties are made from it when next read, so
/// that a construct editing the same resource many times (a key policy gaining a statement per
/// grant) serializes it once.
pub struct TypedResourceMut<'a, R: CfnResource + Clone + 'static> {
    value: RefMut<'a, R>,
}

impl<R: CfnResource + Clone + 'static> Deref for TypedResourceMut<'_, R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.value
    }
}

impl<R: CfnResource + Clone + 'static> std::ops::DerefMut for TypedResourceMut<'_, R> {
    fn deref_mut(&mut self) -> &mut R {
        &mut self.value
    }
}

impl<R: CfnResource + Clone + 'static> fmt::Debug for TypedResourceMut<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedResourceMut").field("type", &R::TYPE).finish()
    }
}

/// The export name for an output: `<stack name>:<output id>`.
pub(crate) fn export_name(stack_name: &str, output_id: &str) -> String {
    [stack_name, ":", output_id].concat()
}

/// A place in the construct tree: a stack and a path in it. Constructs take a scope, open a child scope
/// for themselves with [`Scope::child`], and add resources there.
#[derive(Debug)]
pub struct Scope {
    stack: Stack,
    path: ConstructPath,
}

impl Scope {
    /// A child scope, registering the child's path so that no other construct can take it.
    pub fn child(&mut self, id: &str) -> Result<Scope, ConstructError> {
        let path = self.path.child(id)?;
        self.stack.register(&path)?;
        Ok(Scope { stack: self.stack.clone(), path })
    }

    /// This scope's path.
    pub fn path(&self) -> &ConstructPath {
        &self.path
    }

    /// The stack this scope belongs to.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The region of this scope's stack.
    pub fn region(&self) -> &str {
        self.stack.region()
    }

    /// Adds a typed (L1) resource under the child id `id`, allocating its logical ID from the path.
    pub fn add<R: CfnResource + Clone + 'static>(
        &mut self,
        id: &str,
        properties: R,
    ) -> Result<ResourceRef<R>, ConstructError> {
        self.add_with(id, properties, |resource| resource)
    }

    /// Like [`Scope::add`], with resource attributes (`DependsOn`, removal policies, metadata) set by
    /// `attributes` on the resource entry.
    pub fn add_with<R: CfnResource + Clone + 'static>(
        &mut self,
        id: &str,
        properties: R,
        attributes: impl FnOnce(Resource) -> Resource,
    ) -> Result<ResourceRef<R>, ConstructError> {
        let untyped = self.add_resource(id, attributes(Resource::typed(properties)))?;
        Ok(ResourceRef {
            reference: Reference::new(untyped.reference.address().clone()),
            path: untyped.path,
            stack: untyped.stack,
        })
    }

    /// Adds a resource entry built by hand (a type with no generated struct, say) under the child id `id`.
    pub fn add_resource(&mut self, id: &str, mut resource: Resource) -> Result<ResourceRef, ConstructError> {
        let path = self.path.child(id)?;
        let logical_id = self.stack.allocate_logical_id(&path)?;
        resource.record_path(path.text());
        self.stack.state_mut().template.resources.insert(logical_id.clone(), resource);
        let address = self.stack.address(logical_id);
        Ok(ResourceRef { reference: Reference::new(address), path, stack: self.stack.clone() })
    }

    /// Adds a template parameter under the child id `id` and returns a reference to its value.
    pub fn add_parameter<T>(&mut self, id: &str, parameter: Parameter) -> Result<Value<T>, ConstructError> {
        let path = self.path.child(id)?;
        let logical_id = self.stack.allocate_logical_id(&path)?;
        self.stack.state_mut().template.parameters.insert(logical_id.clone(), parameter);
        Ok(Value::reference(&self.stack.address(logical_id), None))
    }
}

/// A handle on a resource added to a stack: enough to reference it from anywhere in the app, and to
/// reach its stack for what a grant or connection adds there.
///
/// It dereferences to [`Reference<R>`], which has `ref_value()`, `get_att()` and, for generated types,
/// typed accessors such as `attr_allocation_id()`.
pub struct ResourceRef<R = Untyped> {
    reference: Reference<R>,
    path: ConstructPath,
    stack: Stack,
}

impl<R> ResourceRef<R> {
    /// The construct path.
    pub fn path(&self) -> &ConstructPath {
        &self.path
    }

    /// The stack the resource is in.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl<R> Deref for ResourceRef<R> {
    type Target = Reference<R>;

    fn deref(&self) -> &Reference<R> {
        &self.reference
    }
}

impl<R> Clone for ResourceRef<R> {
    fn clone(&self) -> Self {
        Self { reference: self.reference.clone(), path: self.path.clone(), stack: self.stack.clone() }
    }
}

impl<R> PartialEq for ResourceRef<R> {
    fn eq(&self, other: &Self) -> bool {
        self.reference == other.reference && self.path == other.path
    }
}

impl<R> fmt::Debug for ResourceRef<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceRef").field("address", self.reference.address()).field("path", &self.path).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_get_logical_ids_from_their_paths() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let mut root = stack.root();
        let mut vpc = root.child("Vpc").unwrap();
        let main = vpc.add_resource("Resource", Resource::new("AWS::EC2::VPC")).unwrap();
        let subnet = vpc.add_resource("public-a", Resource::new("AWS::EC2::Subnet")).unwrap();
        assert_eq!(main.logical_id(), "Vpc");
        assert_eq!(subnet.logical_id(), "VpcPublicA");
        assert_eq!(subnet.path().to_string(), "Net/Vpc/public-a");
        assert_eq!(stack.path_of("VpcPublicA").unwrap().to_string(), "Net/Vpc/public-a");
    }

    #[test]
    fn a_logical_id_collision_names_both_paths() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let mut root = stack.root();
        root.add_resource("Vpc-Main", Resource::new("AWS::EC2::VPC")).unwrap();
        let err = root.add_resource("VpcMain", Resource::new("AWS::EC2::VPC")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "logical ID VpcMain of Net/VpcMain collides with Net/Vpc-Main; rename one of the constructs"
        );
    }

    #[test]
    fn parameters_share_the_logical_id_namespace() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let mut root = stack.root();
        root.add_parameter::<String>("Env", Parameter::new("String")).unwrap();
        let err = root.add_resource("Env", Resource::new("AWS::SNS::Topic")).unwrap_err();
        assert_eq!(err, ConstructError::DuplicatePath { path: "Net/Env".into() });
    }

    #[test]
    fn two_constructs_cannot_share_a_path() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let mut root = stack.root();
        root.child("Vpc").unwrap();
        assert_eq!(root.child("Vpc").unwrap_err(), ConstructError::DuplicatePath { path: "Net/Vpc".into() });
        // A resource and a construct scope cannot share one either, whichever comes first.
        let duplicate = || ConstructError::DuplicatePath { path: "Net/Vpc".into() };
        assert_eq!(root.add_resource("Vpc", Resource::new("AWS::EC2::VPC")).unwrap_err(), duplicate());
        root.add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
        assert_eq!(root.child("Topic").unwrap_err(), ConstructError::DuplicatePath { path: "Net/Topic".into() });
        assert_eq!(
            root.add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap_err(),
            ConstructError::DuplicatePath { path: "Net/Topic".into() }
        );
        // A construct's default child is at a path of its own, under the construct's logical ID.
        let mut queue = root.child("Queue").unwrap();
        queue.add_resource("Resource", Resource::new("AWS::SQS::Queue")).unwrap();
        assert_eq!(stack.path_of("Queue").unwrap().to_string(), "Net/Queue/Resource");
    }

    #[test]
    fn stack_names_follow_cloudformation_rules() {
        assert!(Stack::new("App-Primary-Network", "us-east-1", 0).is_ok());
        for bad in ["1Stack", "has space", "under_score", ""] {
            assert!(matches!(Stack::new(bad, "us-east-1", 0), Err(ConstructError::InvalidStackName { .. })), "{bad}");
        }
    }

    #[test]
    fn the_typed_escape_hatch_writes_back_and_refuses_what_it_cannot_type() {
        use crate::cfn::sns;
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let other = Stack::new("Other", "us-east-1", 1).unwrap();
        let topic = stack.root().add("Topic", sns::Topic::new()).unwrap();
        stack.resource_mut(&topic).unwrap().display_name = Some("alarms".into());
        assert_eq!(stack.template().resources["Topic"].properties()["DisplayName"], "alarms");
        // Still typed after a write-back, so a second change sees the first.
        assert_eq!(stack.resource_mut(&topic).unwrap().display_name, Some("alarms".into()));
        let err = other.resource_mut(&topic).unwrap_err();
        assert_eq!(err.to_string(), "Net/Topic: is not a resource of stack Other");
        stack.resource_json_mut("Topic").unwrap().set_property("TopicName", "t");
        let err = stack.resource_mut(&topic).unwrap_err();
        assert!(err.to_string().contains("changed at the JSON level"), "{err}");
    }

    #[test]
    fn conditions_are_named_once() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        let equals = || Condition::Equals(Value::from("a"), Value::from("b"));
        stack.add_condition("Same", equals()).unwrap();
        assert_eq!(stack.template().conditions["Same"], equals());
        assert_eq!(
            stack.add_condition("Same", equals()).unwrap_err().to_string(),
            "stack Net already has a condition Same"
        );
    }

    #[test]
    fn exported_values_are_named_after_their_stack() {
        let stack = Stack::new("Net", "us-east-1", 0).unwrap();
        stack.export_value("VpcId", &Value::<String>::local_ref("Vpc"), "The VPC").unwrap();
        let export = stack.template().outputs["VpcId"].export.clone().unwrap();
        assert_eq!(export.name, serde_json::json!("Net:VpcId"));
        assert!(stack.export_value("VpcId", &Value::<String>::local_ref("Vpc"), "again").is_err());
    }
}
