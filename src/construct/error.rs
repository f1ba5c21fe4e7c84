//! Errors raised while building or synthesizing the construct tree.

/// A problem in the construct tree, named by construct path or stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConstructError {
    /// A construct's props that cannot work, named by the construct's path.
    #[error("{path}: {message}")]
    InvalidProps {
        /// The construct's path (or, for an imported resource, what it is).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A change an imported resource cannot take, because this app does not own its definition.
    #[error("{resource} is imported, so this app cannot {change}; {remedy}")]
    ImportedResource {
        /// The imported resource, by its identifier.
        resource: String,
        /// The change that was asked for.
        change: String,
        /// What to do instead.
        remedy: String,
    },
    /// A stack name CloudFormation would reject.
    #[error(
        "invalid stack name {name:?}: stack names start with a letter and hold only letters, digits and '-' (at most 128)"
    )]
    InvalidStackName {
        /// The rejected name.
        name: String,
    },
    /// Two stacks with one name.
    #[error("duplicate stack name {name:?}")]
    DuplicateStack {
        /// The repeated name.
        name: String,
    },
    /// A construct id that cannot become part of a logical ID.
    #[error("invalid construct id {id:?} under {parent}: ids are 1 to 128 ASCII letters, digits, '-' or '_'")]
    InvalidId {
        /// The parent's path.
        parent: String,
        /// The rejected id.
        id: String,
    },
    /// Two constructs at one path.
    #[error("there is already a construct at {path}")]
    DuplicatePath {
        /// The repeated path.
        path: String,
    },
    /// Two paths that map to one logical ID.
    #[error("logical ID {logical_id} of {path} collides with {existing}; rename one of the constructs")]
    LogicalIdCollision {
        /// The contested logical ID.
        logical_id: String,
        /// The path being added.
        path: String,
        /// The path that holds the ID already.
        existing: String,
    },
    /// An output whose logical ID is taken.
    #[error("stack {stack} already has an output {output_id}")]
    DuplicateOutput {
        /// The stack.
        stack: String,
        /// The repeated output ID.
        output_id: String,
    },
    /// A condition whose name is taken.
    #[error("stack {stack} already has a condition {name}")]
    DuplicateCondition {
        /// The stack.
        stack: String,
        /// The repeated condition name.
        name: String,
    },
    /// A mapping whose name is taken.
    #[error("stack {stack} already has a mapping {name}")]
    DuplicateMapping {
        /// The stack.
        stack: String,
        /// The repeated mapping name.
        name: String,
    },
    /// An artifact path that could escape the output directory or clash with a template or the manifest.
    #[error("invalid artifact path {path:?}: use a relative path that is not a template or manifest.json")]
    InvalidArtifact {
        /// The rejected path.
        path: String,
    },
    /// Two artifacts at one path.
    #[error("there is already an artifact at {path}")]
    DuplicateArtifact {
        /// The repeated path.
        path: String,
    },
    /// A reference to something that does not exist.
    #[error("dangling reference at {from}: {target} does not exist")]
    DanglingReference {
        /// Where the reference is used (construct path and property path).
        from: String,
        /// What it points at.
        target: String,
    },
    /// An object under the reference placeholder's key that is not a placeholder (one built by hand,
    /// or in an older form): synthesis cannot resolve it, and it must not reach a template.
    #[error(
        "malformed reference at {from}: {found} is not a reference placeholder ([stack, logicalId] or [stack, logicalId, attribute])"
    )]
    MalformedReference {
        /// Where it is (construct path and property path).
        from: String,
        /// The object found.
        found: String,
    },
    /// Stacks that depend on each other in a circle.
    #[error("stack dependency cycle: {}", cycle.join(" -> "))]
    DependencyCycle {
        /// The stacks along the cycle; the first is repeated at the end.
        cycle: Vec<String>,
    },
    /// A stateful resource left on CloudFormation's default of deleting its data.
    #[error(
        "stateful resource {path} ({resource_type}) needs both DeletionPolicy and UpdateReplacePolicy; \
         set them with Resource::removal_policy"
    )]
    MissingRemovalPolicy {
        /// The resource's construct path.
        path: String,
        /// Its CloudFormation type.
        resource_type: String,
    },
}
