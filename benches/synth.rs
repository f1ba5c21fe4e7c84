//! Synthesis speed. Run with `cargo bench --bench synth` (or `scripts/bench`, which also times the
//! release binary end to end).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cfn_synth::assembly::{Assembly, AssemblyOptions, TemplateBuckets};
use cfn_synth::cfn::ssm;
use cfn_synth::cfn::ssm::parameter::ParameterType;
use cfn_synth::config::ConfigFile;
use cfn_synth::construct::App;
use cfn_synth::constructs::network::{Vpc, VpcProps};
use cfn_synth::platform;
use cfn_synth::template::TemplateFormat;
use divan::Bencher;

/// The binary's allocator (src/main.rs): the figures are meant to be the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Each `synth_small_stacks` run's time, by stack count, for the growth ratios printed after the table.
static SMALL_STACK_TIMES: Mutex<BTreeMap<usize, Vec<Duration>>> = Mutex::new(BTreeMap::new());

fn main() {
    divan::main();
    let times = SMALL_STACK_TIMES.lock().unwrap();
    let median = |runs: &Vec<Duration>| {
        let mut sorted = runs.clone();
        sorted.sort();
        sorted[sorted.len() / 2]
    };
    let medians: Vec<(usize, Duration)> = times.iter().map(|(stacks, runs)| (*stacks, median(runs))).collect();
    for pair in medians.windows(2) {
        let ((fewer, before), (more, after)) = (pair[0], pair[1]);
        println!(
            "synth_small_stacks: {more} stacks take {:.2}x the time of {fewer} ({:.3} s against {:.3} s)",
            after.as_secs_f64() / before.as_secs_f64(),
            after.as_secs_f64(),
            before.as_secs_f64()
        );
    }
}

/// Parse and validate the embedded default config.
#[divan::bench]
fn load_default_config() -> ConfigFile {
    ConfigFile::embedded_default().unwrap()
}

/// Config to rendered files: what `cfn-synth synth` does before it writes.
#[divan::bench(args = [TemplateFormat::Json, TemplateFormat::Yaml])]
fn synth_default_platform(format: TemplateFormat) -> Assembly {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    Assembly::new(&app, format).unwrap()
}

/// `stacks/large.yaml` (40 applications, 2,388 resources) to rendered files, its larger templates
/// through the regions' buckets.
#[divan::bench(sample_count = 20)]
fn synth_large_yaml(bencher: Bencher) {
    let mut buckets = TemplateBuckets::default();
    for region in ["us-east-1", "eu-west-1"] {
        buckets.by_region.insert(region.to_owned(), format!("cfn-synth-artifacts-{region}"));
    }
    let options = AssemblyOptions { buckets: buckets.clone(), ..AssemblyOptions::default() };
    bencher.bench_local(|| {
        let config = ConfigFile::parse("stacks/large.yaml".into(), include_str!("../stacks/large.yaml")).unwrap();
        let app = platform::build_with(config.config(), &buckets).unwrap().synth().unwrap();
        Assembly::with_options(&app, &options).unwrap()
    });
}

/// The whole `synth`, including the atomic write of the output directory.
#[divan::bench]
fn synth_and_write_default_platform(bencher: Bencher) {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("cfn.out");
    bencher.bench_local(|| {
        let config = ConfigFile::embedded_default().unwrap();
        let app = platform::build(config.config()).unwrap().synth().unwrap();
        Assembly::new(&app, TemplateFormat::Json).unwrap().write(&target).unwrap();
    });
}

/// `cfn-synth diff --against` its own output: synthesize, read the earlier directory back, compare.
/// Its excess over `synth_and_write_default_platform` is what diffing costs.
#[divan::bench]
fn diff_default_platform_against_itself(bencher: Bencher) {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("cfn.out");
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    Assembly::new(&app, TemplateFormat::Json).unwrap().write(&target).unwrap();
    bencher.bench_local(|| {
        // As the command does it: the earlier output is read while the fresh one is synthesized.
        let (earlier, fresh) = std::thread::scope(|scope| {
            let earlier = scope.spawn(|| cfn_synth::diff::Output::read(&target).unwrap());
            let config = ConfigFile::embedded_default().unwrap();
            let app = platform::build(config.config()).unwrap().synth().unwrap();
            let assembly = Assembly::new(&app, TemplateFormat::Json).unwrap();
            (earlier.join().unwrap(), cfn_synth::diff::Output::of_assembly(app, &assembly))
        });
        let report = cfn_synth::diff::compare(&earlier, &fresh);
        assert!(report.is_empty());
    });
}

/// `cfn-synth validate`'s checks over the default platform, validators compiled afresh each time.
#[divan::bench]
fn validate_default_platform(bencher: Bencher) {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    bencher.bench_local(|| cfn_synth::checks::run(&app));
}

/// The deploy-readiness analysis alone (what `synth` adds to refuse an app that would not run).
#[divan::bench]
fn readiness_analysis_default_platform(bencher: Bencher) {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    bencher.bench_local(|| cfn_synth::checks::readiness::analyse(cfn_synth::checks::stack_templates(&app)));
}

/// Scale of the analysis: the default platform's stacks repeated in `copies` made-up regions (exports
/// are per region, so the copies stay apart), 563 resources a copy.
#[divan::bench(args = [10, 100])]
fn readiness_analysis_platform_copies(bencher: Bencher, copies: usize) {
    let config = ConfigFile::embedded_default().unwrap();
    let app = platform::build(config.config()).unwrap().synth().unwrap();
    let one = cfn_synth::checks::stack_templates(&app);
    let stacks: Vec<_> = (0..copies)
        .flat_map(|copy| {
            one.iter().cloned().map(move |mut stack| {
                stack.region = format!("{}-copy{copy}", stack.region);
                stack.name = format!("{}-copy{copy}", stack.name);
                stack.depends_on = stack.depends_on.iter().map(|name| format!("{name}-copy{copy}")).collect();
                stack
            })
        })
        .collect();
    bencher.bench_local(|| cfn_synth::checks::readiness::analyse(stacks.clone()));
}

/// 100 copies of the default platform, one app per tenant (`app: tenant-NN`, so that stack names and
/// exports differ), each taken through what `cfn-synth synth` does: parse, build, synthesize, the
/// deploy-readiness analysis, render and the atomic write. The copies share the machine's cores
/// (`std::thread::available_parallelism`), as a generator of many tenants' platforms would.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn synth_100_platform_copies(bencher: Bencher) {
    let root = tempfile::tempdir().unwrap();
    let texts: Vec<String> = (0..100)
        .map(|copy| {
            let text = cfn_synth::config::EMBEDDED_DEFAULT.replacen(
                "app: integration-platform",
                &format!("app: tenant-{copy:02}"),
                1,
            );
            assert_ne!(text, cfn_synth::config::EMBEDDED_DEFAULT);
            text
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    bencher.bench_local(|| {
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let copy = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(text) = texts.get(copy) else { break };
                    let config = ConfigFile::parse(format!("tenant-{copy:02}.yaml"), text).unwrap();
                    let app = platform::build(config.config()).unwrap().into_synth().unwrap();
                    let findings = cfn_synth::checks::readiness::analyse(cfn_synth::checks::stack_templates(&app));
                    assert!(findings.iter().all(|finding| finding.severity != cfn_synth::checks::Severity::Error));
                    let target = root.path().join(format!("tenant-{copy:02}"));
                    Assembly::write_streaming(&app, &AssemblyOptions::default(), &target).unwrap();
                });
            }
        });
    });
}

/// Scale in stacks: `stacks` small stacks (a topic and a parameter each), each parameter reading the
/// topic of the stack at half its index through an export: a dependency tree, synthesized and rendered.
/// Compare the medians across the arguments: twice the stacks should cost about twice the time.
#[divan::bench(args = [10_000, 20_000, 40_000], sample_count = 3, sample_size = 1)]
fn synth_small_stacks(bencher: Bencher, stacks: usize) {
    bencher.bench_local(|| {
        let start = Instant::now();
        let mut app = App::new("scale");
        let mut topics = Vec::with_capacity(stacks);
        for index in 0..stacks {
            let stack = app.add_stack(&format!("Scale-{index}"), "us-east-1").unwrap();
            let mut root = stack.root();
            let topic = root.add("Topic", cfn_synth::cfn::sns::Topic::new()).unwrap();
            if index > 0 {
                let parent: &cfn_synth::construct::ResourceRef<cfn_synth::cfn::sns::Topic> = &topics[index / 2];
                root.add("Parent", ssm::Parameter::new(ParameterType::String, parent.ref_value())).unwrap();
            }
            topics.push(topic);
        }
        let assembly = Assembly::new(&app.synth().unwrap(), TemplateFormat::Json).unwrap();
        drop(topics);
        drop(app);
        SMALL_STACK_TIMES.lock().unwrap().entry(stacks).or_default().push(start.elapsed());
        assembly
    });
}

/// Scale: many VPC stacks, each read by a consumer stack through exports.
#[divan::bench(args = [10, 50])]
fn synth_many_vpc_stacks(bencher: Bencher, stacks: usize) {
    bencher.bench_local(|| {
        let mut app = App::new("scale");
        for index in 0..stacks {
            let network = app.add_stack(&format!("Scale-Network{index}"), "us-east-1").unwrap();
            let vpc = Vpc::new(&mut network.root(), "Vpc", VpcProps::default()).unwrap();
            let consumer = app.add_stack(&format!("Scale-Consumer{index}"), "us-east-1").unwrap();
            let parameter = ssm::Parameter::new(ParameterType::String, vpc.vpc_id());
            consumer.root().add("VpcId", parameter).unwrap();
        }
        let synthesized = app.synth().unwrap();
        Assembly::new(&synthesized, TemplateFormat::Json).unwrap()
    });
}
