//! Typed CloudFormation values: literals, intrinsic functions, pseudo parameters and dynamic references.
//!
//! A [`Value<T>`] is what CloudFormation will resolve to a `T` at deploy time. The type parameter is a
//! phantom: it exists so that a `Value<i64>` cannot be passed where a `Value<String>` is wanted, and so that
//! list-valued intrinsics (`Fn::GetAZs`, `Fn::Split`, `Fn::Cidr`) produce a `Value<Vec<String>>` that only
//! list-shaped slots accept.
//!
//! References to resources (`Ref`, `Fn::GetAtt`) name their target by stack *and* logical ID. They
//! serialize to a private placeholder object that the construct layer rewrites when it synthesizes a stack:
//! into a plain `Ref` when producer and consumer share a stack, into `Fn::ImportValue` of an automatic
//! export when they share a region, and into `Fn::GetStackOutput` across regions. A placeholder never
//! reaches a written template: synthesis fails if one is left.

use std::fmt;
use std::marker::PhantomData;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// The key of the placeholder object a cross-stack-capable reference serializes to before synthesis.
///
/// It contains characters that CloudFormation property names never do, so it cannot collide with a
/// real property.
pub const REFERENCE_PLACEHOLDER_KEY: &str = "@cfn-synth:reference";

/// The address of a referenceable entity (resource or parameter): its stack and its logical ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// Name of the stack that owns the entity.
    pub stack: String,
    /// The entity's logical ID inside that stack.
    pub logical_id: String,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stack, self.logical_id)
    }
}

/// A reference as it travels through property trees until synthesis resolves it, serialized as
/// `{"@cfn-synth:reference": [stack, logicalId]}` or `[stack, logicalId, attribute]`.
///
/// `attribute: None` is a `Ref`; `Some(name)` is a `Fn::GetAtt`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferencePlaceholder {
    /// The referenced stack.
    pub stack: String,
    /// The referenced logical ID.
    pub logical_id: String,
    /// The attribute for `Fn::GetAtt`, or `None` for `Ref`.
    pub attribute: Option<String>,
}

impl ReferencePlaceholder {
    /// Reads a placeholder back out of a serialized property tree.
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let (stack, logical_id, attribute) = Self::read(value)?;
        Some(Self {
            stack: stack.to_owned(),
            logical_id: logical_id.to_owned(),
            attribute: attribute.map(str::to_owned),
        })
    }

    /// The stack, logical ID and attribute of the placeholder `value` is, borrowed.
    fn read(value: &serde_json::Value) -> Option<(&str, &str, Option<&str>)> {
        if !Self::is_shaped(value) {
            return None;
        }
        let placeholder = value.as_object()?.values().next()?;
        match placeholder.as_array()?.as_slice() {
            [serde_json::Value::String(stack), serde_json::Value::String(logical_id)] => {
                Some((stack, logical_id, None))
            }
            [serde_json::Value::String(stack), serde_json::Value::String(logical_id), serde_json::Value::String(attribute)] => {
                Some((stack, logical_id, Some(attribute)))
            }
            _ => None,
        }
    }

    /// Whether `value` has a placeholder's shape: an object of the placeholder's one key. Its value is
    /// not looked at: [`ReferencePlaceholder::take_from_json`] reads it.
    pub fn is_shaped(value: &serde_json::Value) -> bool {
        // The one key compared as it is, not looked up: synthesis asks this of every object of every
        // template, and most single-key objects are intrinsics (`Ref`, `Fn::GetAtt`, ...).
        value.as_object().is_some_and(|object| {
            object.len() == 1 && object.keys().next().is_some_and(|key| key == REFERENCE_PLACEHOLDER_KEY)
        })
    }

    /// [`ReferencePlaceholder::from_json`] of a value given up for it: the strings are moved out of it
    /// rather than copied. A value that is no placeholder comes back as it was.
    pub fn take_from_json(value: serde_json::Value) -> Result<Self, serde_json::Value> {
        if Self::read(&value).is_none() {
            return Err(value);
        }
        let serde_json::Value::Object(object) = value else { unreachable!("a placeholder is an object") };
        let Some((_, serde_json::Value::Array(parts))) = object.into_iter().next() else {
            unreachable!("a placeholder holds a list")
        };
        let mut parts = parts.into_iter().map(|part| match part {
            serde_json::Value::String(part) => part,
            _ => unreachable!("a placeholder's parts are strings"),
        });
        let (Some(stack), Some(logical_id)) = (parts.next(), parts.next()) else {
            unreachable!("a placeholder names a stack and a logical ID")
        };
        Ok(Self { stack, logical_id, attribute: parts.next() })
    }

    /// Whether `value` is an object of the placeholder's one key that [`ReferencePlaceholder::from_json`]
    /// does not read: not to be left in a template.
    pub fn is_malformed(value: &serde_json::Value) -> bool {
        Self::is_shaped(value) && Self::read(value).is_none()
    }

    /// The placeholder's own value, `[stack, logicalId]` or `[stack, logicalId, attribute]`: a list of
    /// strings rather than an object, since every reference is serialized into its property tree and
    /// read back out, and a list needs no map (keys hashed in, then looked up again).
    fn parts(&self) -> PlaceholderParts<'_> {
        PlaceholderParts(self)
    }

    /// The address of the referenced entity.
    pub fn address(&self) -> Address {
        Address { stack: self.stack.clone(), logical_id: self.logical_id.clone() }
    }
}

/// A placeholder's value as it is serialized: see [`ReferencePlaceholder::parts`].
struct PlaceholderParts<'a>(&'a ReferencePlaceholder);

impl Serialize for PlaceholderParts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ReferencePlaceholder { stack, logical_id, attribute } = self.0;
        let mut parts = serializer.serialize_seq(Some(2 + usize::from(attribute.is_some())))?;
        parts.serialize_element(stack)?;
        parts.serialize_element(logical_id)?;
        if let Some(attribute) = attribute {
            parts.serialize_element(attribute)?;
        }
        parts.end()
    }
}

/// CloudFormation pseudo parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `AWS::AccountId`
    AccountId,
    /// `AWS::NotificationARNs`
    NotificationArns,
    /// `AWS::NoValue`: removes the property it is assigned to (useful inside `Fn::If`).
    NoValue,
    /// `AWS::Partition`
    Partition,
    /// `AWS::Region`
    Region,
    /// `AWS::StackId`
    StackId,
    /// `AWS::StackName`
    StackName,
    /// `AWS::URLSuffix`
    UrlSuffix,
}

impl Pseudo {
    /// The name CloudFormation uses for this pseudo parameter.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }
}

/// A dynamic reference, resolved by CloudFormation at deploy time so that the secret never appears in
/// the template (`{{resolve:...}}`).
#[derive(Debug, Clone, PartialEq)]
pub enum DynamicReference {
    /// `{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`
    SecretsManager {
        /// Name or ARN of the secret; may itself be a `Ref` to a secret in the template.
        secret_id: Value<String>,
        /// The JSON key inside `SecretString`, or `None` for the whole string.
        json_key: Option<String>,
        /// A version stage such as `AWSCURRENT`.
        version_stage: Option<String>,
        /// A version ID.
        version_id: Option<String>,
    },
    /// `{{resolve:ssm:parameter-name:version}}`: a plain SSM parameter.
    Ssm {
        /// The parameter name.
        name: String,
        /// An optional version.
        version: Option<u32>,
    },
    /// `{{resolve:ssm-secure:parameter-name:version}}`: a `SecureString` SSM parameter.
    SsmSecure {
        /// The parameter name.
        name: String,
        /// An optional version.
        version: Option<u32>,
    },
}

/// The untyped expression tree behind a [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(serde_json::Value),
    List(Vec<Expr>),
    Reference(ReferencePlaceholder),
    /// `Ref` to a parameter or resource by bare logical ID, resolved only inside the stack that uses it.
    LocalRef(String),
    Pseudo(Pseudo),
    Sub(String, Vec<(String, Expr)>),
    Join(String, Box<Expr>),
    Select(usize, Box<Expr>),
    GetAzs(Box<Expr>),
    ImportValue(Box<Expr>),
    If(String, Box<Expr>, Box<Expr>),
    Split(String, Box<Expr>),
    Cidr(Box<Expr>, Box<Expr>, Box<Expr>),
    Base64(Box<Expr>),
    FindInMap(String, Box<Expr>, Box<Expr>),
    GetStackOutput {
        stack_name: Box<Expr>,
        output_name: Box<Expr>,
        region: Option<Box<Expr>>,
    },
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn single<S: Serializer, V: Serialize + ?Sized>(
            serializer: S,
            key: &str,
            value: &V,
        ) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(key, value)?;
            map.end()
        }
        match self {
            Expr::Literal(value) => value.serialize(serializer),
            Expr::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Expr::Reference(placeholder) => single(serializer, REFERENCE_PLACEHOLDER_KEY, &placeholder.parts()),
            Expr::LocalRef(name) => single(serializer, "Ref", name),
            Expr::Pseudo(pseudo) => single(serializer, "Ref", pseudo.name()),
            Expr::Sub(template, variables) if variables.is_empty() => single(serializer, "Fn::Sub", template),
            Expr::Sub(template, variables) => {
                let variables: indexmap::IndexMap<&str, &Expr> =
                    variables.iter().map(|(name, expr)| (name.as_str(), expr)).collect();
                single(serializer, "Fn::Sub", &(template, variables))
            }
            Expr::Join(separator, list) => single(serializer, "Fn::Join", &(separator, list)),
            Expr::Select(index, list) => single(serializer, "Fn::Select", &(index, list)),
            Expr::GetAzs(region) => single(serializer, "Fn::GetAZs", region),
            Expr::ImportValue(name) => single(serializer, "Fn::ImportValue", name),
            Expr::If(condition, then, otherwise) => single(serializer, "Fn::If", &(condition, then, otherwise)),
            Expr::Split(separator, source) => single(serializer, "Fn::Split", &(separator, source)),
            Expr::Cidr(block, count, bits) => single(serializer, "Fn::Cidr", &(block, count, bits)),
            Expr::Base64(value) => single(serializer, "Fn::Base64", value),
            Expr::FindInMap(map, top, second) => single(serializer, "Fn::FindInMap", &(map, top, second)),
            Expr::GetStackOutput { stack_name, output_name, region } => {
                let mut args = indexmap::IndexMap::new();
                args.insert("StackName", stack_name);
                args.insert("OutputName", output_name);
                if let Some(region) = region {
                    args.insert("Region", region);
                }
                single(serializer, "Fn::GetStackOutput", &args)
            }
        }
    }
}

/// A CloudFormation value that resolves to a `T`: a literal, an intrinsic function, a pseudo parameter
/// or a dynamic reference.
pub struct Value<T> {
    expr: Expr,
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Value<T> {
    fn clone(&self) -> Self {
        Self::from_expr(self.expr.clone())
    }
}

impl<T> PartialEq for Value<T> {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl<T> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Value").field(&self.expr).finish()
    }
}

impl<T> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.expr.serialize(serializer)
    }
}

impl<T> Value<T> {
    pub(crate) fn from_expr(expr: Expr) -> Self {
        Self { expr, kind: PhantomData }
    }

    /// The expression, for [`crate::IntoJson`] to move.
    pub(crate) fn into_expr(self) -> Expr {
        self.expr
    }

    fn boxed(self) -> Box<Expr> {
        Box::new(self.expr)
    }

    /// `AWS::Region` as a value of a property typed by the region codes it takes (the region of an
    /// alarm a Route 53 health check watches, say).
    pub fn stack_region() -> Self {
        Self::from_expr(Expr::Pseudo(Pseudo::Region))
    }

    /// A reference to an entity in some stack; the construct layer decides how it is rendered.
    pub fn reference(address: &Address, attribute: Option<&str>) -> Self {
        Self::from_expr(Expr::Reference(ReferencePlaceholder {
            stack: address.stack.clone(),
            logical_id: address.logical_id.clone(),
            attribute: attribute.map(str::to_owned),
        }))
    }

    /// `Ref` to a parameter or resource of the *same* stack by logical ID.
    pub fn local_ref(logical_id: impl Into<String>) -> Self {
        Self::from_expr(Expr::LocalRef(logical_id.into()))
    }

    /// `Fn::ImportValue`: the value of an export of another stack in the same region.
    pub fn import_value(export_name: impl Into<Value<String>>) -> Self {
        Self::from_expr(Expr::ImportValue(export_name.into().boxed()))
    }

    /// `Fn::GetStackOutput`: an output of another stack, optionally in another region.
    pub fn get_stack_output(
        stack_name: impl Into<Value<String>>,
        output_name: impl Into<Value<String>>,
        region: Option<Value<String>>,
    ) -> Self {
        Self::from_expr(Expr::GetStackOutput {
            stack_name: stack_name.into().boxed(),
            output_name: output_name.into().boxed(),
            region: region.map(Value::boxed),
        })
    }

    /// `Fn::If`: `then` when the named condition holds, otherwise `otherwise`.
    pub fn if_condition(condition: impl Into<String>, then: Value<T>, otherwise: Value<T>) -> Self {
        Self::from_expr(Expr::If(condition.into(), then.boxed(), otherwise.boxed()))
    }

    /// `Fn::FindInMap`: a value from a mapping of the same stack.
    pub fn find_in_map(
        map_name: impl Into<String>,
        top_level_key: impl Into<Value<String>>,
        second_level_key: impl Into<Value<String>>,
    ) -> Self {
        Self::from_expr(Expr::FindInMap(map_name.into(), top_level_key.into().boxed(), second_level_key.into().boxed()))
    }

    /// `Fn::Select`: the element at `index` of a list.
    pub fn select(index: usize, list: Value<Vec<T>>) -> Self {
        Self::from_expr(Expr::Select(index, list.boxed()))
    }

    /// `Ref: AWS::NoValue`: removes the property (typically one branch of [`Value::if_condition`]).
    pub fn no_value() -> Self {
        Self::from_expr(Expr::Pseudo(Pseudo::NoValue))
    }

    /// A literal string for any string-like type, such as a generated enum.
    pub fn string_literal(value: &str) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::String(value.to_owned())))
    }

    /// The literal JSON if this value is a plain literal, `None` if it is resolved at deploy time.
    pub fn as_literal(&self) -> Option<&serde_json::Value> {
        match &self.expr {
            Expr::Literal(value) => Some(value),
            _ => None,
        }
    }
}

impl Value<String> {
    /// A pseudo parameter such as `AWS::Region`.
    pub fn pseudo(pseudo: Pseudo) -> Self {
        Self::from_expr(Expr::Pseudo(pseudo))
    }

    /// `AWS::Region`.
    pub fn region() -> Self {
        Self::pseudo(Pseudo::Region)
    }

    /// `AWS::AccountId`.
    pub fn account_id() -> Self {
        Self::pseudo(Pseudo::AccountId)
    }

    /// `AWS::Partition`.
    pub fn partition() -> Self {
        Self::pseudo(Pseudo::Partition)
    }

    /// `AWS::URLSuffix`.
    pub fn url_suffix() -> Self {
        Self::pseudo(Pseudo::UrlSuffix)
    }

    /// `AWS::StackName`.
    pub fn stack_name() -> Self {
        Self::pseudo(Pseudo::StackName)
    }

    /// `Fn::Sub` with only pseudo parameters (`${AWS::Region}`) and literal text.
    pub fn sub(template: impl Into<String>) -> Self {
        Self::from_expr(Expr::Sub(template.into(), Vec::new()))
    }

    /// `Fn::Sub` with a variable map. Every `${Name}` that is not a pseudo parameter must be one of the
    /// variables, so references are always explicit and can cross stacks.
    pub fn sub_with<I, K>(template: impl Into<String>, variables: I) -> Self
    where
        I: IntoIterator<Item = (K, Value<String>)>,
        K: Into<String>,
    {
        let variables = variables.into_iter().map(|(name, value)| (name.into(), value.expr)).collect();
        Self::from_expr(Expr::Sub(template.into(), variables))
    }

    /// `Fn::Join`: the elements of a list joined by `separator`.
    pub fn join(separator: impl Into<String>, list: impl Into<Value<Vec<String>>>) -> Self {
        Self::from_expr(Expr::Join(separator.into(), list.into().boxed()))
    }

    /// `Fn::Base64`.
    pub fn base64(value: impl Into<Value<String>>) -> Self {
        Self::from_expr(Expr::Base64(value.into().boxed()))
    }

    /// A dynamic reference (`{{resolve:...}}`), resolved by CloudFormation at deploy time.
    ///
    /// When the secret ID is itself a reference, the result is a `Fn::Sub` with it as a variable, so a
    /// secret created in the same template (or imported) can be referenced.
    pub fn dynamic_reference(reference: DynamicReference) -> Self {
        fn suffix(parts: &[Option<String>]) -> String {
            // Trailing empty segments may be omitted; inner ones must stay as empty strings.
            let last = parts.iter().rposition(Option::is_some);
            match last {
                None => String::new(),
                Some(last) => parts[..=last].iter().map(|part| format!(":{}", part.as_deref().unwrap_or(""))).collect(),
            }
        }
        match reference {
            DynamicReference::Ssm { name, version } => {
                let version = version.map(|v| format!(":{v}")).unwrap_or_default();
                Self::from(format!("{{{{resolve:ssm:{name}{version}}}}}"))
            }
            DynamicReference::SsmSecure { name, version } => {
                let version = version.map(|v| format!(":{v}")).unwrap_or_default();
                Self::from(format!("{{{{resolve:ssm-secure:{name}{version}}}}}"))
            }
            DynamicReference::SecretsManager { secret_id, json_key, version_stage, version_id } => {
                let rest = suffix(&[Some("SecretString".to_owned()), json_key, version_stage, version_id]);
                match secret_id.as_literal().and_then(serde_json::Value::as_str) {
                    Some(id) => Self::from(format!("{{{{resolve:secretsmanager:{id}{rest}}}}}")),
                    None => Self::sub_with(
                        format!("{{{{resolve:secretsmanager:${{SecretId}}{rest}}}}}"),
                        [("SecretId", secret_id)],
                    ),
                }
            }
        }
    }
}

impl Value<Vec<String>> {
    /// `Fn::GetAZs` for the stack's own region.
    pub fn get_azs() -> Self {
        Self::get_azs_in(Value::from(""))
    }

    /// `Fn::GetAZs` for a given region.
    pub fn get_azs_in(region: Value<String>) -> Self {
        Self::from_expr(Expr::GetAzs(region.boxed()))
    }

    /// `Fn::Split`: a string split on `separator`.
    pub fn split(separator: impl Into<String>, source: impl Into<Value<String>>) -> Self {
        Self::from_expr(Expr::Split(separator.into(), source.into().boxed()))
    }

    /// `Fn::Cidr`: `count` CIDR blocks of `2^cidr_bits` addresses each, carved from `ip_block`.
    pub fn cidr(ip_block: impl Into<Value<String>>, count: Value<i64>, cidr_bits: Value<i64>) -> Self {
        Self::from_expr(Expr::Cidr(ip_block.into().boxed(), count.boxed(), cidr_bits.boxed()))
    }
}

impl From<&str> for Value<String> {
    fn from(value: &str) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::String(value.to_owned())))
    }
}

impl From<String> for Value<String> {
    fn from(value: String) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::String(value)))
    }
}

impl From<&String> for Value<String> {
    fn from(value: &String) -> Self {
        Self::from(value.as_str())
    }
}

impl From<i64> for Value<i64> {
    fn from(value: i64) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::from(value)))
    }
}

impl From<bool> for Value<bool> {
    fn from(value: bool) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::Bool(value)))
    }
}

impl From<f64> for Value<f64> {
    fn from(value: f64) -> Self {
        Self::from_expr(Expr::Literal(serde_json::Value::from(value)))
    }
}

impl From<Vec<&str>> for Value<Vec<String>> {
    fn from(items: Vec<&str>) -> Self {
        items.into_iter().map(Value::from).collect::<Vec<_>>().into()
    }
}

impl From<Vec<String>> for Value<Vec<String>> {
    fn from(items: Vec<String>) -> Self {
        items.into_iter().map(Value::from).collect::<Vec<_>>().into()
    }
}

impl<T> From<Vec<Value<T>>> for Value<Vec<T>> {
    fn from(items: Vec<Value<T>>) -> Self {
        Self::from_expr(Expr::List(items.into_iter().map(|item| item.expr).collect()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn render<T>(value: &Value<T>) -> serde_json::Value {
        serde_json::to_value(value).expect("values always serialize")
    }

    #[test]
    fn literals_render_as_plain_json() {
        assert_eq!(render(&Value::from("a")), json!("a"));
        assert_eq!(render(&Value::from(42)), json!(42));
        assert_eq!(render(&Value::from(true)), json!(true));
        assert_eq!(
            render(&Value::<Vec<String>>::from(vec![Value::from("a"), Value::region()])),
            json!(["a", {"Ref": "AWS::Region"}])
        );
    }

    #[test]
    fn every_intrinsic_renders_in_long_form() {
        let azs = Value::<Vec<String>>::get_azs();
        assert_eq!(render(&Value::select(1, azs.clone())), json!({"Fn::Select": [1, {"Fn::GetAZs": ""}]}));
        assert_eq!(render(&Value::join(",", azs)), json!({"Fn::Join": [",", {"Fn::GetAZs": ""}]}));
        assert_eq!(
            render(&Value::sub_with("${A}-${AWS::Region}", [("A", Value::local_ref("Res"))])),
            json!({"Fn::Sub": ["${A}-${AWS::Region}", {"A": {"Ref": "Res"}}]})
        );
        assert_eq!(render(&Value::sub("x-${AWS::AccountId}")), json!({"Fn::Sub": "x-${AWS::AccountId}"}));
        assert_eq!(render(&Value::<String>::import_value("Exp")), json!({"Fn::ImportValue": "Exp"}));
        assert_eq!(
            render(&Value::if_condition("IsProd", Value::from(3), Value::from(1))),
            json!({"Fn::If": ["IsProd", 3, 1]})
        );
        assert_eq!(render(&Value::<Vec<String>>::split(",", Value::from("a,b"))), json!({"Fn::Split": [",", "a,b"]}));
        assert_eq!(
            render(&Value::<Vec<String>>::cidr("10.0.0.0/16", Value::from(3), Value::from(8))),
            json!({"Fn::Cidr": ["10.0.0.0/16", 3, 8]})
        );
        assert_eq!(render(&Value::base64("x")), json!({"Fn::Base64": "x"}));
        assert_eq!(
            render(&Value::<String>::find_in_map("Regions", Value::region(), "PrefixList")),
            json!({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "PrefixList"]})
        );
        assert_eq!(
            render(&Value::<String>::get_stack_output("Net", "VpcId", Some(Value::from("us-east-1")))),
            json!({"Fn::GetStackOutput": {"StackName": "Net", "OutputName": "VpcId", "Region": "us-east-1"}})
        );
        assert_eq!(render(&Value::<String>::no_value()), json!({"Ref": "AWS::NoValue"}));
    }

    #[test]
    fn pseudo_parameters_use_their_cloudformation_names() {
        let names: Vec<_> = [
            Pseudo::AccountId,
            Pseudo::NotificationArns,
            Pseudo::NoValue,
            Pseudo::Partition,
            Pseudo::Region,
            Pseudo::StackId,
            Pseudo::StackName,
            Pseudo::UrlSuffix,
        ]
        .into_iter()
        .map(Pseudo::name)
        .collect();
        assert_eq!(
            names,
            [
                "AWS::AccountId",
                "AWS::NotificationARNs",
                "AWS::NoValue",
                "AWS::Partition",
                "AWS::Region",
                "AWS::StackId",
                "AWS::StackName",
                "AWS::URLSuffix"
            ]
        );
    }

    #[test]
    fn dynamic_references_render_the_resolve_syntax() {
        let literal = Value::dynamic_reference(DynamicReference::SecretsManager {
            secret_id: Value::from("prod/db"),
            json_key: Some("password".into()),
            version_stage: None,
            version_id: None,
        });
        assert_eq!(render(&literal), json!("{{resolve:secretsmanager:prod/db:SecretString:password}}"));

        let stage_only = Value::dynamic_reference(DynamicReference::SecretsManager {
            secret_id: Value::from("s"),
            json_key: None,
            version_stage: Some("AWSCURRENT".into()),
            version_id: None,
        });
        assert_eq!(render(&stage_only), json!("{{resolve:secretsmanager:s:SecretString::AWSCURRENT}}"));

        let address = Address { stack: "Data".into(), logical_id: "AuthToken".into() };
        let referenced = Value::dynamic_reference(DynamicReference::SecretsManager {
            secret_id: Value::reference(&address, None),
            json_key: None,
            version_stage: None,
            version_id: None,
        });
        assert_eq!(
            render(&referenced),
            json!({"Fn::Sub": [
                "{{resolve:secretsmanager:${SecretId}:SecretString}}",
                {"SecretId": {REFERENCE_PLACEHOLDER_KEY: ["Data", "AuthToken"]}}
            ]})
        );

        let ssm = Value::dynamic_reference(DynamicReference::SsmSecure { name: "/db/pw".into(), version: Some(2) });
        assert_eq!(render(&ssm), json!("{{resolve:ssm-secure:/db/pw:2}}"));
        let ssm = Value::dynamic_reference(DynamicReference::Ssm { name: "/ami".into(), version: None });
        assert_eq!(render(&ssm), json!("{{resolve:ssm:/ami}}"));
    }

    #[test]
    fn references_round_trip_through_their_placeholder() {
        let address = Address { stack: "Net".into(), logical_id: "Vpc".into() };
        let value: Value<String> = Value::reference(&address, Some("CidrBlock"));
        let placeholder = ReferencePlaceholder::from_json(&render(&value)).expect("a placeholder");
        assert_eq!(placeholder.address(), address);
        assert_eq!(placeholder.attribute.as_deref(), Some("CidrBlock"));
        assert_eq!(ReferencePlaceholder::from_json(&json!({"Ref": "Vpc"})), None);
        assert!(!ReferencePlaceholder::is_malformed(&render(&value)));
        assert!(!ReferencePlaceholder::is_malformed(&json!({"Ref": "Vpc"})));
        for malformed in [json!(["Net"]), json!({"stack": "Net", "logicalId": "Vpc"}), json!(["Net", 7])] {
            let malformed = json!({REFERENCE_PLACEHOLDER_KEY: malformed});
            assert!(ReferencePlaceholder::is_shaped(&malformed));
            assert!(ReferencePlaceholder::is_malformed(&malformed));
            assert_eq!(ReferencePlaceholder::take_from_json(malformed.clone()), Err(malformed));
        }
    }

    #[test]
    fn a_placeholder_taken_out_of_its_json_is_the_one_read_from_it() {
        let address = Address { stack: "Net".into(), logical_id: "Vpc".into() };
        for attribute in [None, Some("CidrBlock")] {
            let json = render(&Value::<String>::reference(&address, attribute));
            assert!(ReferencePlaceholder::is_shaped(&json));
            assert_eq!(ReferencePlaceholder::take_from_json(json.clone()).ok(), ReferencePlaceholder::from_json(&json));
            assert_eq!(ReferencePlaceholder::take_from_json(json).unwrap().attribute.as_deref(), attribute);
        }
        let intrinsic = json!({"Ref": "Vpc"});
        assert!(!ReferencePlaceholder::is_shaped(&intrinsic));
        assert_eq!(ReferencePlaceholder::take_from_json(intrinsic.clone()), Err(intrinsic));
    }
}
