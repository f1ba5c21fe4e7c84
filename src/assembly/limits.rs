//! CloudFormation's per-template quotas, checked before anything is written: a template past one of
//! them fails at deploy time, after the stacks before it in the deploy order have changed.

use serde_json::Value as Json;

use super::AssemblyError;
use crate::construct::SynthesizedStack;

/// The largest template `aws cloudformation deploy --template-file` accepts without an S3 bucket.
pub const MAX_INLINE_TEMPLATE_BYTES: usize = 51_200;

/// The largest template CloudFormation accepts at all, uploaded through S3.
pub const MAX_S3_TEMPLATE_BYTES: usize = 1_048_576;

/// CloudFormation's quotas on a template's sections: resources, outputs, parameters and mappings.
pub const SECTION_LIMITS: [(&str, &str, usize); 4] = [
    ("Resources", "resources", 500),
    ("Outputs", "outputs", 200),
    ("Parameters", "parameters", 200),
    ("Mappings", "mappings", 200),
];

/// Checks a stack's sections against [`SECTION_LIMITS`] and its rendered size (`bytes`) against the
/// size limits, naming the stack, the count or size, the limit, and what to do.
pub fn check(stack: &SynthesizedStack, bytes: usize) -> Result<(), AssemblyError> {
    for (section, what, limit) in SECTION_LIMITS {
        let count = stack.template.get(section).and_then(Json::as_object).map_or(0, |entries| entries.len());
        if count > limit {
            return Err(AssemblyError::OverLimit { stack: stack.name.clone(), what, count, limit });
        }
    }
    if bytes > MAX_S3_TEMPLATE_BYTES {
        return Err(AssemblyError::TemplateTooLarge {
            stack: stack.name.clone(),
            bytes,
            limit: MAX_S3_TEMPLATE_BYTES,
            remedy: "the most CloudFormation accepts even from S3; split the stack",
        });
    }
    if bytes > MAX_INLINE_TEMPLATE_BYTES {
        return Err(AssemblyError::TemplateTooLarge {
            stack: stack.name.clone(),
            bytes,
            limit: MAX_INLINE_TEMPLATE_BYTES,
            remedy: "the limit of `aws cloudformation deploy --template-file` without an S3 bucket; split the \
                     stack, or move large inline payloads out of it",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;

    fn stack(template: Json) -> SynthesizedStack {
        SynthesizedStack {
            name: "App-Primary-Compute".into(),
            region: "us-east-1".into(),
            tags: IndexMap::new(),
            parameters: IndexMap::new(),
            template,
            depends_on: vec![],
        }
    }

    /// `count` entries named `<prefix><n>`.
    fn entries(prefix: &str, count: usize, entry: &Json) -> Json {
        Json::Object((0..count).map(|n| (format!("{prefix}{n}"), entry.clone())).collect())
    }

    #[test]
    fn each_section_may_reach_its_quota_and_not_pass_it() {
        let entry = json!({"Type": "AWS::SQS::Queue"});
        for (section, what, limit) in SECTION_LIMITS {
            let at = stack(json!({ section: entries("E", limit, &entry) }));
            assert!(check(&at, 1_000).is_ok(), "{section} at {limit}");
            let over = stack(json!({ section: entries("E", limit + 1, &entry) }));
            let err = check(&over, 1_000).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "stack App-Primary-Compute: {} {what}, over CloudFormation's limit of {limit} a template; \
                     split the stack",
                    limit + 1
                )
            );
        }
    }

    #[test]
    fn a_template_past_the_inline_or_the_s3_size_says_which_and_what_to_do() {
        let small = stack(json!({"Resources": {}}));
        assert!(check(&small, MAX_INLINE_TEMPLATE_BYTES).is_ok());
        let inline = check(&small, MAX_INLINE_TEMPLATE_BYTES + 1).unwrap_err().to_string();
        assert!(
            inline.starts_with("stack App-Primary-Compute: the template is 51201 bytes, over 51200 bytes,"),
            "{inline}"
        );
        assert!(inline.contains("split the stack, or move large inline payloads out of it"), "{inline}");
        let s3 = check(&small, MAX_S3_TEMPLATE_BYTES + 1).unwrap_err().to_string();
        assert!(s3.contains("over 1048576 bytes, the most CloudFormation accepts even from S3"), "{s3}");
    }
}
