//! Rust names for schema names: modules, types, fields, methods and enum variants.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Words Rust reserves; as a field or method name they get a raw identifier (`r#type`).
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait",
    "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore.
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self"];

/// `AWS::ElasticLoadBalancingV2` → `elasticloadbalancingv2`, the way AWS SDK crates name services.
pub fn service_module(namespace: &str) -> String {
    namespace.rsplit("::").next().unwrap_or(namespace).to_ascii_lowercase()
}

/// `VPCGatewayAttachment` → `VpcGatewayAttachment`.
pub fn type_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    let camel = cleaned.to_upper_camel_case();
    if camel.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{camel}")
    } else if camel.is_empty() {
        "Empty".to_owned()
    } else {
        camel
    }
}

/// `DBInstanceClass` → `db_instance_class`, as a usable identifier.
pub fn field_name(name: &str) -> String {
    let cleaned: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let snake = cleaned.to_snake_case();
    let snake = if snake.starts_with(|c: char| c.is_ascii_digit()) { format!("n{snake}") } else { snake };
    identifier(&snake)
}

/// A snake-case word as an identifier, escaping keywords.
pub fn identifier(word: &str) -> String {
    if NOT_RAW.contains(&word) {
        format!("{word}_")
    } else if KEYWORDS.contains(&word) {
        format!("r#{word}")
    } else {
        word.to_owned()
    }
}

/// `db_instance` for a resource struct `DbInstance`.
pub fn module_name(struct_name: &str) -> String {
    identifier(&struct_name.to_snake_case())
}

/// Makes `candidate` unique among `taken` by appending a number, and records it.
pub fn unique(candidate: String, taken: &mut Vec<String>) -> String {
    let mut name = candidate.clone();
    let mut counter = 2;
    while taken.contains(&name) {
        name = format!("{candidate}{counter}");
        counter += 1;
    }
    taken.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(service_module("AWS::ElasticLoadBalancingV2"), "elasticloadbalancingv2");
        assert_eq!(type_name("VPCGatewayAttachment"), "VpcGatewayAttachment");
        assert_eq!(type_name("DBInstance"), "DbInstance");
        assert_eq!(type_name("t3.micro"), "T3Micro");
        assert_eq!(type_name("0"), "V0");
        assert_eq!(field_name("MultiAZ"), "multi_az");
        assert_eq!(field_name("Type"), "r#type");
        assert_eq!(field_name("Self"), "self_");
        assert_eq!(module_name("WebAcl"), "web_acl");
        let mut taken = vec!["A".to_owned()];
        assert_eq!(unique("A".into(), &mut taken), "A2");
    }
}
