//! The CPU and memory of a Fargate task, limited to the pairs Fargate offers.

use std::fmt;

/// CPU and memory pairs Fargate offers, as (CPU units, smallest memory, largest memory, memory step),
/// all in MiB. 0.25 vCPU is the one size whose steps are uneven; see [`accepts`].
const SIZES: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Whether Fargate offers `cpu` units with `memory` MiB; usable in constants.
const fn accepts(cpu: u32, memory: u32) -> bool {
    // 0.25 vCPU takes 0.5, 1 or 2 GB.
    if cpu == 256 {
        return memory == 512 || memory == 1024 || memory == 2048;
    }
    let mut index = 0;
    while index < SIZES.len() {
        let (size_cpu, low, high, step) = SIZES[index];
        if size_cpu == cpu && memory >= low && memory <= high && (memory - low) % step == 0 {
            return true;
        }
        index += 1;
    }
    false
}

/// A task's CPU units and memory (MiB), one of the pairs Fargate offers. Default: 256 and 512.
///
/// From values known when the program is written, [`FargateSize::of`] refuses an invalid pair at
/// compile time:
///
/// ```
/// use cfn_synth::constructs::compute::FargateSize;
/// let size = FargateSize::of::<512, 1024>();
/// assert_eq!((size.cpu(), size.memory()), (512, 1024));
/// ```
///
/// ```compile_fail
/// use cfn_synth::constructs::compute::FargateSize;
/// // Fargate has no 0.25 vCPU task with 3000 MiB: this does not build.
/// let size = FargateSize::of::<256, 3000>();
/// ```
///
/// From values read at run time (a config file), [`FargateSize::new`] returns an error instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FargateSize {
    cpu: u32,
    memory: u32,
}

/// A CPU and memory pair Fargate does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Fargate does not offer {cpu} CPU units with {memory} MiB")]
pub struct InvalidFargateSize {
    /// The CPU units asked for.
    pub cpu: i64,
    /// The memory asked for, in MiB.
    pub memory: i64,
}

impl FargateSize {
    /// `cpu` units with `memory` MiB, checked when the program compiles.
    pub const fn of<const CPU: u32, const MEMORY: u32>() -> Self {
        const { assert!(accepts(CPU, MEMORY), "Fargate does not offer this CPU and memory pair") };
        Self { cpu: CPU, memory: MEMORY }
    }

    /// `cpu` units with `memory` MiB, if Fargate offers the pair.
    pub fn new(cpu: i64, memory: i64) -> Result<Self, InvalidFargateSize> {
        let invalid = InvalidFargateSize { cpu, memory };
        let cpu32 = u32::try_from(cpu).map_err(|_| invalid.clone())?;
        let memory32 = u32::try_from(memory).map_err(|_| invalid.clone())?;
        if accepts(cpu32, memory32) {
            Ok(Self { cpu: cpu32, memory: memory32 })
        } else {
            Err(invalid)
        }
    }

    /// CPU units (1024 per vCPU).
    pub fn cpu(self) -> u32 {
        self.cpu
    }

    /// Memory in MiB.
    pub fn memory(self) -> u32 {
        self.memory
    }
}

impl Default for FargateSize {
    fn default() -> Self {
        Self::of::<256, 512>()
    }
}

impl fmt::Display for FargateSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CPU units with {} MiB", self.cpu, self.memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_pairs_are_sizes() {
        for (cpu, memory) in [(256, 512), (256, 2048), (1024, 3072), (4096, 30720), (16384, 122880), (8192, 20480)] {
            assert!(FargateSize::new(cpu, memory).is_ok(), "{cpu}/{memory}");
        }
        for (cpu, memory) in [(256, 1536), (512, 512), (1024, 9216), (8192, 18432), (300, 1024), (-1, 512)] {
            assert_eq!(FargateSize::new(cpu, memory), Err(InvalidFargateSize { cpu, memory }), "{cpu}/{memory}");
        }
        assert_eq!(FargateSize::default(), FargateSize::new(256, 512).unwrap());
    }
}
