//! A million resources through the library, synthesized and written: the scale target of issue P12.
//! Run with `cargo bench --bench million`; it prints divan's time and then the process's peak
//! resident memory (`VmHWM`), which is why it is a bench binary of its own.
//!
//! The shape is what CloudFormation's limits force on a real app of that size: 41,667 stacks of 24
//! resources (a 51,200-byte template holds about 25 small resources). Each stack has 23 SNS topics and
//! an SSM parameter that reads a topic of the stack at half its index, so that every stack but the
//! first imports an export and the deploy order is a tree.

use std::sync::Mutex;
use std::time::Instant;

use cfn_synth::assembly::{Assembly, AssemblyOptions};
use cfn_synth::cfn::sns::Topic;
use cfn_synth::cfn::ssm;
use cfn_synth::cfn::ssm::parameter::ParameterType;
use cfn_synth::construct::{App, ResourceRef};

const STACKS: usize = 41_667;
const TOPICS_PER_STACK: usize = 23;

/// The phases of the last run, printed after divan's table.
static PHASES: Mutex<String> = Mutex::new(String::new());

fn main() {
    divan::main();
    println!("{}", PHASES.lock().unwrap());
    match peak_resident_memory() {
        Some(bytes) => println!("peak resident memory: {:.2} GiB ({bytes} bytes)", bytes as f64 / f64::from(1 << 30)),
        None => println!("peak resident memory: unknown (no /proc/self/status)"),
    }
}

/// Builds the app, synthesizes it and writes its output directory, in the system's temporary
/// directory (`TMPDIR`). The phases are printed too: writing 41,667 files is mostly the kernel's
/// work, and on ext4 it varies several-fold with the file system's state, where tmpfs does not.
#[divan::bench(sample_count = 1, sample_size = 1)]
fn million_resources(bencher: divan::Bencher) {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("cfn.out");
    bencher.bench_local(|| {
        let start = Instant::now();
        let app = app();
        let built = start.elapsed();
        let synthesized = app.into_synth().unwrap();
        let resolved = start.elapsed();
        let manifest = Assembly::write_streaming(&synthesized, &AssemblyOptions::default(), &target).unwrap();
        let written = start.elapsed();
        let resources: usize = manifest.stacks.iter().map(|stack| stack.resource_count).sum();
        assert_eq!(resources, STACKS * (TOPICS_PER_STACK + 1) - 1);
        *PHASES.lock().unwrap() = format!(
            "build {:.2} s, synth {:.2} s, render and write {:.2} s (to {})",
            built.as_secs_f64(),
            (resolved - built).as_secs_f64(),
            (written - resolved).as_secs_f64(),
            std::env::temp_dir().display()
        );
    });
}

fn app() -> App {
    let mut app = App::new("million");
    let mut first_topics: Vec<ResourceRef<Topic>> = Vec::with_capacity(STACKS);
    for index in 0..STACKS {
        let stack = app.add_stack(&format!("Million-{index}"), "us-east-1").unwrap();
        let mut root = stack.root();
        for topic in 0..TOPICS_PER_STACK {
            let added = root.add(&format!("Topic{topic}"), Topic::new()).unwrap();
            if topic == 0 {
                first_topics.push(added);
            }
        }
        if index > 0 {
            let parent = &first_topics[index / 2];
            root.add("Parent", ssm::Parameter::new(ParameterType::String, parent.ref_value())).unwrap();
        }
    }
    app
}

/// The high-water mark of the process's resident memory, from Linux's `/proc/self/status`.
fn peak_resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}
