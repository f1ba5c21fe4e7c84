//! CloudFormation's per-template quotas, checked before anything is written: a template past one of
//! them fails at deploy time, after the stacks before it in the deploy order have changed.

use serde_json::Value as Json;

use super::manifest::TemplateUpload;
use super::{AssemblyError, AssemblyOptions};
use crate::construct::SynthesizedStack;
use crate::template::TemplateFormat;

/// The largest template `aws cloudformation deploy --template-file` accepts without an S3 bucket.
pub const MAX_INLINE_TEMPLATE_BYTES: usize = 51_200;

/// The largest template CloudFormation accepts at all, uploaded through S3.
pub const MAX_S3_TEMPLATE_BYTES: usize = 1_048_576;

/// The room a template is rendered into: past the largest inline template, so that rendering one does
/// not grow its text.
const RENDER_BUFFER_BYTES: usize = 64 * 1024;

/// CloudFormation's quotas on a template's sections: resources, outputs, parameters and mappings.
pub const SECTION_LIMITS: [(&str, &str, usize); 4] = [
    ("Resources", "resources", 500),
    ("Outputs", "outputs", 200),
    ("Parameters", "parameters", 200),
    ("Mappings", "mappings", 200),
];

/// Checks a stack's sections against [`SECTION_LIMITS`], naming the stack, the count and the limit.
pub fn check_sections(stack: &SynthesizedStack) -> Result<(), AssemblyError> {
    for (section, what, limit) in SECTION_LIMITS {
        let count = stack.template.get(section).and_then(Json::as_object).map_or(0, |entries| entries.len());
        if count > limit {
            return Err(AssemblyError::OverLimit { stack: stack.name.clone(), what, count, limit });
        }
    }
    Ok(())
}

/// Checks every stack of `app` against every quota, as writing it would, without keeping the texts or
/// drawing the picture (`cfn-synth validate`): each template is rendered, on every core, and dropped.
pub fn check_all(app: &crate::construct::SynthesizedApp, options: &AssemblyOptions) -> Result<(), AssemblyError> {
    use rayon::prelude::*;
    // The first error in deploy order, as a write would meet it.
    let results: Vec<Result<(), AssemblyError>> =
        app.stacks.par_iter().map(|stack| place(stack, options).map(drop)).collect();
    results.into_iter().collect()
}

/// A template's text and how it reaches CloudFormation.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The rendered template.
    pub text: String,
    /// Inline, or uploaded by the AWS CLI to the region's bucket.
    pub upload: TemplateUpload,
}

impl Placement {
    /// The placement with its text's unused room given back, when that is most of it: [`place`]
    /// renders into room for any inline template, which a text held or handed to another thread
    /// should not keep.
    pub fn shrunk(mut self) -> Self {
        if self.text.capacity() > 2 * self.text.len() {
            self.text.shrink_to_fit();
        }
        self
    }
}

/// Renders a stack's template as it can be deployed, checking every quota:
/// - indented, when that fits inline (51,200 bytes) or `options.pretty` forces it;
/// - else compact ([`TemplateFormat::render_compact`]), when that fits inline;
/// - else through the stack region's bucket of `options.buckets`, indented when that is under 1 MB;
/// - else an error naming the stack, the size, the limit and the remedies.
pub fn place(stack: &SynthesizedStack, options: &AssemblyOptions) -> Result<Placement, AssemblyError> {
    check_sections(stack)?;
    let format = options.format;
    // Rendered into room for any inline template and not shrunk (as `render` would): a small app's
    // texts are written and dropped on this thread; a caller that holds them or hands them on shrinks
    // them ([`Placement::shrunk`]).
    let mut pretty = String::with_capacity(RENDER_BUFFER_BYTES);
    format.render_into(&stack.template, &mut pretty);
    let inline = |text: String| Placement { text, upload: TemplateUpload::Inline };
    if pretty.len() <= MAX_INLINE_TEMPLATE_BYTES {
        return Ok(inline(pretty));
    }
    let compact = (!options.pretty && format == TemplateFormat::Json).then(|| format.render_compact(&stack.template));
    if let Some(compact) = &compact {
        if compact.len() <= MAX_INLINE_TEMPLATE_BYTES {
            return Ok(inline(compact.clone()));
        }
    }
    let smallest = compact.unwrap_or_else(|| pretty.clone());
    let Some(bucket) = options.buckets.by_region.get(&stack.region) else {
        return Err(AssemblyError::TemplateTooLarge {
            stack: stack.name.clone(),
            bytes: smallest.len(),
            limit: MAX_INLINE_TEMPLATE_BYTES,
            remedy: if options.pretty {
                "the limit of `aws cloudformation deploy --template-file` without an S3 bucket; leave out \
                 --pretty, pass --s3-bucket REGION=BUCKET for the stack's region (a library user: \
                 AssemblyOptions::buckets), or split the stack"
            } else {
                "the limit of `aws cloudformation deploy --template-file` without an S3 bucket; pass \
                 --s3-bucket REGION=BUCKET for the stack's region (a library user: AssemblyOptions::buckets), \
                 move large inline payloads out of the stack, or split it"
            },
        });
    };
    let upload = TemplateUpload::S3 { bucket: bucket.clone(), prefix: options.buckets.prefix.clone() };
    let text = if pretty.len() <= MAX_S3_TEMPLATE_BYTES { pretty } else { smallest };
    if text.len() > MAX_S3_TEMPLATE_BYTES {
        return Err(AssemblyError::TemplateTooLarge {
            stack: stack.name.clone(),
            bytes: text.len(),
            limit: MAX_S3_TEMPLATE_BYTES,
            remedy: "the most CloudFormation accepts even from S3; split the stack",
        });
    }
    Ok(Placement { text, upload })
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
            assert!(check_sections(&at).is_ok(), "{section} at {limit}");
            let over = stack(json!({ section: entries("E", limit + 1, &entry) }));
            let err = check_sections(&over).unwrap_err();
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

    /// A template of `topics` SNS topics with long display names: about 150 bytes each, compact.
    fn topics(topics: usize) -> SynthesizedStack {
        named_topics(topics, 90)
    }

    fn named_topics(topics: usize, name_length: usize) -> SynthesizedStack {
        let topic = json!({"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "x".repeat(name_length)}});
        stack(json!({"Resources": entries("Topic", topics, &topic)}))
    }

    fn with_bucket(options: AssemblyOptions) -> AssemblyOptions {
        let mut options = options;
        options.buckets.by_region.insert("us-east-1".into(), "templates-us-east-1".into());
        options.buckets.prefix = Some("app".into());
        options
    }

    #[test]
    fn a_template_goes_compact_only_when_indented_it_would_not_fit_inline() {
        let options = AssemblyOptions::default();
        let small = place(&topics(10), &options).unwrap();
        assert_eq!(small.text, TemplateFormat::Json.render(&topics(10).template));
        // About 60 KB indented, 45 KB compact.
        let large = place(&topics(300), &options).unwrap();
        assert_eq!(large.upload, TemplateUpload::Inline);
        assert_eq!(large.text, TemplateFormat::Json.render_compact(&topics(300).template));
        assert!(large.text.len() <= MAX_INLINE_TEMPLATE_BYTES);
        // --pretty forces the indented form, which then needs a bucket.
        let pretty = AssemblyOptions { pretty: true, ..AssemblyOptions::default() };
        let refused = place(&topics(300), &pretty).unwrap_err().to_string();
        assert!(refused.contains("leave out --pretty, pass --s3-bucket REGION=BUCKET"), "{refused}");
        let uploaded = place(&topics(300), &with_bucket(pretty)).unwrap();
        assert_eq!(
            uploaded.upload,
            TemplateUpload::S3 { bucket: "templates-us-east-1".into(), prefix: Some("app".into()) }
        );
        assert_eq!(uploaded.text, TemplateFormat::Json.render(&topics(300).template));
    }

    #[test]
    fn a_template_past_the_inline_or_the_s3_size_says_which_and_what_to_do() {
        let inline = place(&topics(400), &AssemblyOptions::default()).unwrap_err().to_string();
        assert!(inline.starts_with("stack App-Primary-Compute: the template is "), "{inline}");
        assert!(inline.contains("bytes, over 51200 bytes,"), "{inline}");
        assert!(inline.contains("pass --s3-bucket REGION=BUCKET for the stack's region"), "{inline}");
        // A bucket in another region is no help: the CLI uploads to the stack's region.
        let mut elsewhere = AssemblyOptions::default();
        elsewhere.buckets.by_region.insert("eu-west-1".into(), "templates-eu-west-1".into());
        assert!(place(&topics(400), &elsewhere).is_err());
        assert!(matches!(
            place(&topics(400), &with_bucket(AssemblyOptions::default())).unwrap().upload,
            TemplateUpload::S3 { .. }
        ));
        let s3 = place(&named_topics(450, 2_500), &with_bucket(AssemblyOptions::default())).unwrap_err().to_string();
        assert!(s3.contains("over 1048576 bytes, the most CloudFormation accepts even from S3"), "{s3}");
    }
}
