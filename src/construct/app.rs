//! The app: every stack, and their synthesis into resolved templates in deploy order.

use indexmap::IndexMap;

use super::deploy_order::deploy_order;
use super::error::ConstructError;
use super::resolve::resolve;
use super::stack::Stack;
use crate::fast_hash::FastIndexMap;

/// The root of the construct tree: a named set of stacks, possibly in several regions.
#[derive(Debug, Clone)]
pub struct App {
    name: String,
    stacks: FastIndexMap<String, Stack>,
    artifacts: IndexMap<String, String>,
    uploads: IndexMap<String, Vec<String>>,
    sections: IndexMap<String, serde_json::Value>,
}

/// One stack after synthesis: its template with every reference resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesizedStack {
    /// The stack name.
    pub name: String,
    /// The region it deploys to.
    pub region: String,
    /// Stack-level tags.
    pub tags: IndexMap<String, String>,
    /// Parameter values for deployment.
    pub parameters: IndexMap<String, String>,
    /// The template document, ready to render as JSON or YAML.
    pub template: serde_json::Value,
    /// Stacks that must deploy first, in deploy order.
    pub depends_on: Vec<String>,
}

/// The whole app after synthesis.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthesizedApp {
    /// The app name.
    pub name: String,
    /// The stacks, in deploy order.
    pub stacks: Vec<SynthesizedStack>,
    /// Files written beside the templates (a rendered config or script, say), by relative path.
    pub artifacts: IndexMap<String, String>,
    /// Commands that upload artifacts a stack's template names, to run before it deploys, by stack.
    pub uploads: IndexMap<String, Vec<String>>,
    /// Sections the manifest carries beside its stacks (`release`, say), by key.
    pub sections: IndexMap<String, serde_json::Value>,
}

impl SynthesizedApp {
    /// Stack names in deploy order.
    pub fn deploy_order(&self) -> Vec<String> {
        self.stacks.iter().map(|stack| stack.name.clone()).collect()
    }
}

impl App {
    /// An app with no stacks.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stacks: FastIndexMap::default(),
            artifacts: IndexMap::new(),
            uploads: IndexMap::new(),
            sections: IndexMap::new(),
        }
    }

    /// The app name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a stack and returns its handle; its name must be a valid CloudFormation stack name, unique
    /// in the app.
    pub fn add_stack(&mut self, name: &str, region: &str) -> Result<Stack, ConstructError> {
        if self.stacks.contains_key(name) {
            return Err(ConstructError::DuplicateStack { name: name.to_owned() });
        }
        let stack = Stack::new(name, region, self.stacks.len())?;
        self.stacks.insert(name.to_owned(), stack.clone());
        Ok(stack)
    }

    /// A stack by name.
    pub fn stack(&self, name: &str) -> Option<&Stack> {
        self.stacks.get(name)
    }

    /// The stacks in the order they were added.
    pub fn stacks(&self) -> impl Iterator<Item = &Stack> {
        self.stacks.values()
    }

    /// Adds a file to write beside the templates, at a relative path such as `appspec/Service.yaml`.
    pub fn add_artifact(&mut self, path: impl Into<String>, contents: impl Into<String>) -> Result<(), ConstructError> {
        let path = path.into();
        let valid = !path.is_empty()
            && !path.starts_with('/')
            && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
            && !path.ends_with(".template.json")
            && !path.ends_with(".template.yaml")
            && path != "manifest.json";
        if !valid {
            return Err(ConstructError::InvalidArtifact { path });
        }
        if self.artifacts.contains_key(&path) {
            return Err(ConstructError::DuplicateArtifact { path });
        }
        self.artifacts.insert(path, contents.into());
        Ok(())
    }

    /// Has the artifact at `path` uploaded to `s3://bucket/key` before `stack` deploys: the manifest
    /// lists the `aws s3 cp` command in the stack's `uploadCommands`. The bucket must be in the stack's
    /// region. Keys should name the content (a digest), so that a rollback finds the earlier object.
    pub fn upload_artifact(
        &mut self,
        stack: &Stack,
        path: &str,
        bucket: &str,
        key: &str,
    ) -> Result<(), ConstructError> {
        if !self.artifacts.contains_key(path) {
            return Err(ConstructError::InvalidArtifact { path: path.to_owned() });
        }
        let command = format!("aws s3 cp {path} s3://{bucket}/{key} --region {}", stack.region());
        self.uploads.entry(stack.name().to_owned()).or_default().push(command);
        Ok(())
    }

    /// Sets a section of the manifest beside its stacks, such as `release`: how releases reach the
    /// stacks. The manifest's own keys (`version`, `app`, `stacks`, `deployOrder`) cannot be replaced.
    pub fn set_manifest_section(&mut self, key: &str, value: serde_json::Value) -> Result<(), ConstructError> {
        if ["version", "app", "stacks", "deployOrder"].contains(&key) {
            return Err(ConstructError::InvalidProps {
                path: "manifest.json".to_owned(),
                message: format!("{key:?} is the manifest's own key"),
            });
        }
        self.sections.insert(key.to_owned(), value);
        Ok(())
    }

    /// The resource types the app's stacks hold, each once, in order of first use: what a caller
    /// compiles whole schema validators for ([`SchemaCheck::for_types`](crate::checks::SchemaCheck::for_types)).
    pub fn resource_types(&self) -> Vec<String> {
        let mut types: indexmap::IndexSet<String> = indexmap::IndexSet::new();
        for stack in self.stacks.values() {
            for resource in stack.template().resources.values() {
                if !types.contains(resource.resource_type()) {
                    types.insert(resource.resource_type().to_owned());
                }
            }
        }
        types.into_iter().collect()
    }

    /// Resolves every reference, adds the exports they need, and orders the stacks for deployment.
    /// The app is left as it was, to be changed and synthesized again.
    pub fn synth(&self) -> Result<SynthesizedApp, ConstructError> {
        self.synthesize(false)
    }

    /// [`App::synth`] for the last time: each stack's template is dropped as soon as it is made into
    /// JSON, so that a large app is never held twice, as constructs and as JSON. A small app's
    /// templates are made into JSON on two threads (the calling one and one more) before they are
    /// resolved. The output is the same.
    pub fn into_synth(self) -> Result<SynthesizedApp, ConstructError> {
        self.synthesize(true)
    }

    fn synthesize(&self, consume: bool) -> Result<SynthesizedApp, ConstructError> {
        let resolution = resolve(&self.stacks, consume)?;
        let order = deploy_order(&resolution.dependencies)?;
        let position: IndexMap<&str, usize> = order.iter().enumerate().map(|(i, name)| (name.as_str(), i)).collect();
        // The documents are in app order: each is taken by its app position, not removed from the map
        // (which would shift the rest, once per stack).
        let mut documents: Vec<Option<serde_json::Value>> = resolution.documents.into_values().map(Some).collect();
        let stacks = order
            .iter()
            .map(|name| {
                let (index, _, stack) = self.stacks.get_full(name).expect("the order names the app's stacks");
                let mut depends_on: Vec<String> = resolution.dependencies[name].iter().cloned().collect();
                depends_on.sort_by_key(|dependency| position[dependency.as_str()]);
                let mut template = documents[index].take().expect("every stack is resolved once");
                super::guard::annotate(&mut template);
                SynthesizedStack {
                    name: name.clone(),
                    region: stack.region().to_owned(),
                    tags: stack.tags().clone(),
                    parameters: stack.parameter_values().clone(),
                    template,
                    depends_on,
                }
            })
            .collect();
        Ok(SynthesizedApp {
            name: self.name.clone(),
            stacks,
            artifacts: self.artifacts.clone(),
            uploads: self.uploads.clone(),
            sections: self.sections.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::construct::resolve;
    use crate::template::{RemovalPolicy, Resource, Value};

    /// Two stacks in us-east-1 and one in eu-west-1; the latter two read the first one's VPC.
    fn three_stacks() -> App {
        let mut app = App::new("test");
        let network = app.add_stack("Network", "us-east-1").unwrap();
        let vpc = network.root().add_resource("Vpc", Resource::new("AWS::EC2::VPC")).unwrap();

        let data = app.add_stack("Data", "us-east-1").unwrap();
        data.root()
            .add_resource(
                "Subnets",
                Resource::new("AWS::RDS::DBSubnetGroup")
                    .property("DBSubnetGroupDescription", Value::sub_with("in ${Vpc}", [("Vpc", vpc.ref_value())]))
                    .property("Note", vpc.get_att::<String>("CidrBlock")),
            )
            .unwrap();

        let recovery = app.add_stack("Recovery", "eu-west-1").unwrap();
        recovery
            .root()
            .add_resource("Param", Resource::new("AWS::SSM::Parameter").property("Value", vpc.ref_value()))
            .unwrap();
        app
    }

    #[test]
    fn a_consuming_synthesis_gives_the_same_app() {
        assert_eq!(three_stacks().into_synth().unwrap(), three_stacks().synth().unwrap());
    }

    #[test]
    fn resource_types_are_listed_once_in_order_of_first_use() {
        let app = three_stacks();
        app.stack("Data").unwrap().root().add_resource("Vpc2", Resource::new("AWS::EC2::VPC")).unwrap();
        assert_eq!(app.resource_types(), ["AWS::EC2::VPC", "AWS::RDS::DBSubnetGroup", "AWS::SSM::Parameter"]);
    }

    #[test]
    fn same_region_references_become_exports_and_imports() {
        let synth = three_stacks().synth().unwrap();
        let network = &synth.stacks[0].template;
        assert_eq!(
            network["Outputs"]["RefVpc"],
            json!({"Description": "Vpc for other stacks", "Value": {"Ref": "Vpc"}, "Export": {"Name": "Network:RefVpc"}})
        );
        assert_eq!(network["Outputs"]["GetAttVpcCidrBlock"]["Value"], json!({"Fn::GetAtt": ["Vpc", "CidrBlock"]}));
        let data = &synth.stacks[1];
        assert_eq!(data.depends_on, ["Network"]);
        let properties = &data.template["Resources"]["Subnets"]["Properties"];
        assert_eq!(
            properties["DBSubnetGroupDescription"],
            json!({"Fn::Sub": ["in ${Vpc}", {"Vpc": {"Fn::ImportValue": "Network:RefVpc"}}]})
        );
        assert_eq!(properties["Note"], json!({"Fn::ImportValue": "Network:GetAttVpcCidrBlock"}));
    }

    #[test]
    fn cross_region_references_become_stack_output_lookups() {
        let synth = three_stacks().synth().unwrap();
        let recovery = synth.stacks.iter().find(|stack| stack.name == "Recovery").unwrap();
        assert_eq!(recovery.depends_on, ["Network"]);
        assert_eq!(
            recovery.template["Resources"]["Param"]["Properties"]["Value"],
            json!({"Fn::GetStackOutput": {"StackName": "Network", "OutputName": "RefVpc", "Region": "us-east-1"}})
        );
        assert_eq!(synth.deploy_order(), ["Network", "Data", "Recovery"]);
    }

    #[test]
    fn an_explicit_export_of_the_same_value_is_reused() {
        let mut app = App::new("test");
        let network = app.add_stack("Network", "us-east-1").unwrap();
        let vpc = network.root().add_resource("Vpc", Resource::new("AWS::EC2::VPC")).unwrap();
        network.export_value("VpcId", &vpc.ref_value(), "The VPC").unwrap();
        let data = app.add_stack("Data", "us-east-1").unwrap();
        data.root().add_resource("X", Resource::new("AWS::SNS::Topic").property("TopicName", vpc.ref_value())).unwrap();

        let synth = app.synth().unwrap();
        let outputs = synth.stacks[0].template["Outputs"].as_object().unwrap();
        assert_eq!(outputs.keys().collect::<Vec<_>>(), ["VpcId"]);
        assert_eq!(
            synth.stacks[1].template["Resources"]["X"]["Properties"]["TopicName"],
            json!({"Fn::ImportValue": "Network:VpcId"})
        );
    }

    #[test]
    fn a_reference_to_a_missing_resource_names_where_it_is_used() {
        let mut app = App::new("test");
        let other = crate::construct::Stack::new("Elsewhere", "us-east-1", 0).unwrap();
        let ghost = other.root().add_resource("Ghost", Resource::new("AWS::SNS::Topic")).unwrap();
        let stack = app.add_stack("Main", "us-east-1").unwrap();
        let mut root = stack.root();
        let mut queue = root.child("Queue").unwrap();
        queue
            .add_resource(
                "Resource",
                Resource::new("AWS::SQS::Queue")
                    .property("Tags", vec![json!({"Key": "topic", "Value": ghost.ref_value()})])
                    .removal_policy(RemovalPolicy::Delete),
            )
            .unwrap();
        let err = app.synth().unwrap_err();
        assert_eq!(
            err.to_string(),
            "dangling reference at Main/Queue/Resource (Properties.Tags.0.Value): stack Elsewhere does not exist"
        );
    }

    #[test]
    fn a_dangling_depends_on_is_an_error() {
        let mut app = App::new("test");
        let stack = app.add_stack("Main", "us-east-1").unwrap();
        stack.root().add_resource("Topic", Resource::new("AWS::SNS::Topic").depends_on("Nope")).unwrap();
        let err = app.synth().unwrap_err();
        assert_eq!(
            err.to_string(),
            "dangling reference at Main/Topic (DependsOn): resource Nope in stack Main does not exist"
        );
    }

    #[test]
    fn a_dependency_cycle_between_stacks_is_an_error() {
        let mut app = App::new("test");
        let a = app.add_stack("A", "us-east-1").unwrap();
        let topic_a = a.root().add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
        let b = app.add_stack("B", "us-east-1").unwrap();
        let topic_b = b
            .root()
            .add_resource("Topic", Resource::new("AWS::SNS::Topic").property("DisplayName", topic_a.ref_value()))
            .unwrap();
        a.root()
            .add_resource("Sub", Resource::new("AWS::SNS::Subscription").property("TopicArn", topic_b.ref_value()))
            .unwrap();
        assert_eq!(app.synth().unwrap_err().to_string(), "stack dependency cycle: A -> B -> A");
    }

    #[test]
    fn stateful_resources_must_decide_their_removal_policy() {
        let mut app = App::new("test");
        let stack = app.add_stack("Main", "us-east-1").unwrap();
        stack
            .root()
            .add_resource("Logs", Resource::new("AWS::Logs::LogGroup").deletion_policy(RemovalPolicy::Retain))
            .unwrap();
        let err = app.synth().unwrap_err();
        assert!(matches!(err, ConstructError::MissingRemovalPolicy { ref path, .. } if path == "Main/Logs"), "{err}");
    }

    #[test]
    fn artifacts_have_safe_unique_relative_paths() {
        let mut app = App::new("test");
        app.add_artifact("appspec/Kong.yaml", "version: 0.0").unwrap();
        assert_eq!(
            app.add_artifact("appspec/Kong.yaml", "x").unwrap_err(),
            ConstructError::DuplicateArtifact { path: "appspec/Kong.yaml".into() }
        );
        for bad in ["", "/etc/passwd", "../x", "a//b", "manifest.json", "Stack.template.json"] {
            assert!(matches!(app.add_artifact(bad, "x"), Err(ConstructError::InvalidArtifact { .. })), "{bad}");
        }
        assert_eq!(app.synth().unwrap().artifacts["appspec/Kong.yaml"], "version: 0.0");
    }

    #[test]
    fn parameter_values_must_name_a_parameter() {
        let mut app = App::new("test");
        let stack = app.add_stack("Main", "us-east-1").unwrap();
        stack.root().add_parameter::<String>("ImageTag", crate::template::Parameter::new("String")).unwrap();
        stack.set_parameter_value("ImageTag", "v1");
        assert_eq!(app.synth().unwrap().stacks[0].parameters["ImageTag"], "v1");
        app.stack("Main").unwrap().set_parameter_value("Missing", "x");
        assert_eq!(
            app.synth().unwrap_err().to_string(),
            "dangling reference at the parameter values of stack Main: parameter Missing does not exist"
        );
    }

    #[test]
    fn a_reference_to_nothing_names_the_entry_and_the_way_down_to_it() {
        for consume in [false, true] {
            let mut app = App::new("test");
            let stack = app.add_stack("Main", "us-east-1").unwrap();
            let missing = crate::template::Address { stack: "Main".into(), logical_id: "Missing".into() };
            let ingress = json!([{ "SourceSecurityGroupId": Value::<String>::reference(&missing, None) }]);
            let group = Resource::new("AWS::EC2::SecurityGroup").property("SecurityGroupIngress", ingress);
            stack.root().add_resource("Group", group).unwrap();
            let error = if consume { app.into_synth() } else { app.synth() }.unwrap_err().to_string();
            assert!(error.contains("Main/Group (Properties.SecurityGroupIngress.0.SourceSecurityGroupId)"), "{error}");
            assert!(error.contains("Missing in stack Main"), "{error}");
        }
    }

    /// A placeholder in another shape (built by hand, or in the object form of earlier versions) is
    /// an error naming where it is, never left in a template.
    #[test]
    fn a_malformed_placeholder_is_an_error_not_left_in_the_template() {
        for consume in [false, true] {
            let mut app = App::new("test");
            let stack = app.add_stack("Main", "us-east-1").unwrap();
            let old_form =
                json!({crate::template::expr::REFERENCE_PLACEHOLDER_KEY: {"stack": "Main", "logicalId": "Topic"}});
            stack.root().add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
            let parameter =
                Resource::new("AWS::SSM::Parameter").property("Value", json!({"Fn::Join": ["", [old_form]]}));
            stack.root().add_resource("Parameter", parameter).unwrap();
            let error = if consume { app.into_synth() } else { app.synth() }.unwrap_err();
            assert!(matches!(error, ConstructError::MalformedReference { .. }), "{error}");
            let error = error.to_string();
            assert!(error.contains("Main/Parameter (Properties.Value.Fn::Join.1.0)"), "{error}");
            assert!(error.contains("\"logicalId\":\"Topic\""), "{error}");
        }
    }

    #[test]
    fn unknown_explicit_dependencies_and_duplicate_stacks_are_errors() {
        let mut app = App::new("test");
        app.add_stack("Main", "us-east-1").unwrap().add_dependency("Missing");
        assert!(matches!(app.synth(), Err(ConstructError::DanglingReference { .. })));
        assert_eq!(
            app.add_stack("Main", "eu-west-1").unwrap_err(),
            ConstructError::DuplicateStack { name: "Main".into() }
        );
    }

    /// The outputs a producer gains are ordered by the app order of the consumers that first asked for
    /// them, and an output is exported when any consumer imports it, whichever consumer met it first.
    /// (A resolution that splits the stacks between threads must keep this; one tried did, and lost on
    /// time and memory.)
    #[test]
    fn generated_outputs_follow_the_app_order_of_their_consumers() {
        let mut app = App::new("test");
        let producer = app.add_stack("Producer", "us-east-1").unwrap();
        let topic = producer.root().add_resource("Topic", Resource::new("AWS::SNS::Topic")).unwrap();
        let consumers = [
            ("Far0", "eu-west-1", topic.get_att::<String>("TopicName")),
            ("Near1", "us-east-1", topic.ref_value()),
            ("Far2", "eu-west-1", topic.ref_value()),
            ("Near3", "us-east-1", topic.get_att::<String>("TopicArn")),
        ];
        for (name, region, value) in consumers {
            let stack = app.add_stack(name, region).unwrap();
            for index in 0..3 {
                let parameter = Resource::new("AWS::SSM::Parameter").property("Value", value.clone());
                stack.root().add_resource(&format!("Parameter{index}"), parameter).unwrap();
            }
        }
        for consume in [false, true] {
            let synthesized = if consume { app.clone().into_synth() } else { app.synth() }.unwrap();
            let outputs =
                &synthesized.stacks.iter().find(|stack| stack.name == "Producer").unwrap().template["Outputs"];
            let ids: Vec<&str> = outputs.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(ids, ["GetAttTopicTopicName", "RefTopic", "GetAttTopicTopicArn"], "consume: {consume}");
            assert!(outputs["GetAttTopicTopicName"].get("Export").is_none(), "read across regions only");
            assert_eq!(outputs["RefTopic"]["Export"]["Name"], "Producer:RefTopic", "imported by Near1");
            assert_eq!(outputs["GetAttTopicTopicArn"]["Export"]["Name"], "Producer:GetAttTopicTopicArn");
        }
    }

    /// Of several broken stacks the first in app order is reported, whether its error is a reference
    /// met while resolving or a check of its `DependsOn`, as if each stack were checked and resolved
    /// before the next: also when a consuming synthesis makes a small app's documents on two threads
    /// (8 stacks here), and in a large app, whose are made one by one.
    #[test]
    fn the_first_broken_stack_in_app_order_is_reported() {
        for stacks in [8, resolve::MAX_STACKS_MADE_TOGETHER + 2] {
            first_broken_stack_round(stacks);
        }
    }

    fn first_broken_stack_round(stacks: usize) {
        let missing = crate::template::Address { stack: "Nowhere".into(), logical_id: "Thing".into() };
        let app_with = |broken: &[(usize, &str)]| {
            let mut app = App::new("test");
            for index in 0..stacks {
                let stack = app.add_stack(&format!("S{index}"), "us-east-1").unwrap();
                let mut topic = Resource::new("AWS::SNS::Topic");
                match broken.iter().find(|(at, _)| *at == index).map(|(_, how)| *how) {
                    Some("reference") => {
                        topic = topic.property("DisplayName", Value::<String>::reference(&missing, None))
                    }
                    Some("depends_on") => topic = topic.depends_on("Nope"),
                    _ => {}
                }
                stack.root().add_resource("Topic", topic).unwrap();
            }
            app
        };
        let reported = |broken: &[(usize, &str)]| {
            let app = app_with(broken);
            let shared = app.synth().unwrap_err().to_string();
            assert_eq!(app.into_synth().unwrap_err().to_string(), shared);
            shared
        };
        let at = |stack: &str, error: String| {
            assert!(error.contains(&format!("at {stack}/Topic")), "{stack}: {error}");
        };
        at("S2", reported(&[(2, "reference"), (5, "depends_on"), (6, "reference")]));
        at("S5", reported(&[(5, "depends_on"), (6, "reference"), (7, "reference")]));
        at("S1", reported(&[(1, "depends_on"), (3, "reference")]));
        at("S6", reported(&[(6, "reference"), (7, "depends_on")]));
    }

    /// Two threads make the documents of a small app only: two stacks or more, up to the limits in
    /// stacks and in resources.
    #[test]
    fn only_a_small_app_has_its_documents_made_on_two_threads() {
        let app_of = |stacks: usize, resources: usize| {
            let mut app = App::new("test");
            for index in 0..stacks {
                let stack = app.add_stack(&format!("S{index}"), "us-east-1").unwrap();
                for topic in 0..resources / stacks + usize::from(index < resources % stacks) {
                    stack.root().add_resource(&format!("Topic{topic}"), Resource::new("AWS::SNS::Topic")).unwrap();
                }
            }
            app
        };
        let together = |stacks: usize, resources: usize| resolve::makes_together(&app_of(stacks, resources).stacks);
        assert!(!together(1, 10));
        assert!(together(2, 10));
        assert!(together(resolve::MAX_STACKS_MADE_TOGETHER, resolve::MAX_STACKS_MADE_TOGETHER));
        assert!(!together(resolve::MAX_STACKS_MADE_TOGETHER + 1, resolve::MAX_STACKS_MADE_TOGETHER + 1));
        assert!(together(3, resolve::MAX_RESOURCES_MADE_TOGETHER));
        assert!(!together(3, resolve::MAX_RESOURCES_MADE_TOGETHER + 1));
    }
}
