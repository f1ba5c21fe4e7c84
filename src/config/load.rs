//! Reading a configuration file, with every error located at a file, line and column.

use std::fmt;
use std::path::Path;

use super::model::PlatformConfig;
use super::source_map::{Location, SourceMap};
use super::validate::validate;

/// The default configuration, embedded in the binary.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../stacks/platform.yaml");

/// The name under which the embedded default is reported in errors.
pub const EMBEDDED_DEFAULT_NAME: &str = "stacks/platform.yaml (embedded)";

/// A configuration problem, located in its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The path as given.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML, or does not match the config's shape (unknown key, wrong type).
    #[error("{file}:{location}: {message}")]
    Parse {
        /// The file name as given.
        file: String,
        /// Where.
        location: DisplayLocation,
        /// What serde said, without its own position suffix.
        message: String,
    },
    /// A value that parses but makes no sense, alone or with others (overlapping CIDRs, say).
    #[error("{file}:{location}: {key}: {message}")]
    Invalid {
        /// The file name as given.
        file: String,
        /// Where.
        location: DisplayLocation,
        /// The key path, as serde writes it (`regions[1].network.vpcCidr`).
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// A position printed as `line:column`; an error serde could not place points at the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayLocation(pub Option<Location>);

impl fmt::Display for DisplayLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(Location { line, column }) => write!(f, "{line}:{column}"),
            None => f.write_str("1:1"),
        }
    }
}

/// A parsed and validated configuration, with what is needed to locate later errors in its text.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    name: String,
    /// The text, mapped to locations only when an error needs one: mapping parses the YAML a second
    /// time, which a run without errors never needs.
    text: String,
    config: PlatformConfig,
}

impl ConfigFile {
    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: name.clone(), source })?;
        Self::parse(name, &text)
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Result<Self, ConfigError> {
        Self::parse(EMBEDDED_DEFAULT_NAME.to_owned(), EMBEDDED_DEFAULT)
    }

    /// Parses and validates a text; `name` is how errors refer to it.
    pub fn parse(name: String, text: &str) -> Result<Self, ConfigError> {
        let config: PlatformConfig = serde_yaml::from_str(text).map_err(|error| {
            let location = error.location().map(|l| Location { line: l.line(), column: l.column() });
            let mut message = error.to_string();
            if let Some(at) = message.rfind(" at line ").or_else(|| message.rfind(" at position ")) {
                message.truncate(at);
            }
            ConfigError::Parse { file: name.clone(), location: DisplayLocation(location), message }
        })?;
        let file = Self { name, text: text.to_owned(), config };
        if let Err(issue) = validate(&file.config) {
            return Err(file.invalid(&issue.key, issue.message));
        }
        Ok(file)
    }

    /// The configuration.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// The file name used in errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An error about a key of this file, located at the key (or its nearest ancestor).
    pub fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.name.clone(),
            location: DisplayLocation(SourceMap::of(&self.text).locate(key)),
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(text: &str) -> String {
        ConfigFile::parse("cfg.yaml".into(), text).unwrap_err().to_string()
    }

    #[test]
    fn the_embedded_default_is_valid() {
        let file = ConfigFile::embedded_default().unwrap();
        assert_eq!(file.config().app, "integration-platform");
        assert_eq!(file.name(), EMBEDDED_DEFAULT_NAME);
    }

    #[test]
    fn an_unknown_key_is_located_and_named() {
        let text =
            "app: demo\nregions:\n  - role: primary\n    region: us-east-1\n    network:\n      vpcCdir: 10.0.0.0/16\n";
        let message = parse_error(text);
        assert!(message.starts_with("cfg.yaml:6:7: regions[0].network: unknown field `vpcCdir`"), "{message}");
    }

    #[test]
    fn broken_yaml_is_located() {
        let message = parse_error("app: demo\nregions: [\n  - x\n");
        assert!(message.starts_with("cfg.yaml:"), "{message}");
        assert!(!message.contains(" at line "), "the position is given once, up front: {message}");
    }

    #[test]
    fn a_bad_cidr_is_a_located_type_error() {
        let text =
            "app: demo\nregions:\n  - role: primary\n    region: us-east-1\n    network:\n      vpcCidr: 10.0.0.0/33\n";
        let message = parse_error(text);
        assert!(
            message.starts_with("cfg.yaml:6:16: regions[0].network.vpcCidr: invalid IP address syntax"),
            "{message}"
        );
    }

    #[test]
    fn semantic_errors_are_located_at_their_key() {
        let text = "app: demo\nregions:\n  - role: primary\n    region: us-east-1\n    network:\n      vpcCidr: 10.0.0.0/16\n  - role: disaster-recovery\n    region: eu-west-1\n    network:\n      vpcCidr: 10.0.128.0/17\n";
        assert_eq!(
            parse_error(text),
            "cfg.yaml:10:7: regions[1].network.vpcCidr: 10.0.128.0/17 overlaps the VPC of regions[0] (10.0.0.0/16)"
        );
    }
}
