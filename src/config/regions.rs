//! What the config knows of AWS regions: how their codes look, and how many Availability Zones each
//! offers an account, so that a config that could not deploy is refused with the reason.

/// How many Availability Zones `Fn::GetAZs` returns to an account in a region, where known: an
/// `azCount` past it cannot deploy. us-west-1 has three zones, but accounts opened since 2014 see two.
const AVAILABILITY_ZONES: &[(&str, u8)] = &[
    ("ap-northeast-1", 3),
    ("ap-southeast-1", 3),
    ("ap-southeast-2", 3),
    ("ca-central-1", 3),
    ("eu-central-1", 3),
    ("eu-north-1", 3),
    ("eu-west-1", 3),
    ("eu-west-2", 3),
    ("eu-west-3", 3),
    ("sa-east-1", 3),
    ("us-east-1", 6),
    ("us-east-2", 3),
    ("us-west-1", 2),
    ("us-west-2", 4),
];

/// The Availability Zones an account sees in `region`, when the table knows the region.
pub(crate) fn availability_zones(region: &str) -> Option<u8> {
    AVAILABILITY_ZONES.iter().find(|(name, _)| *name == region).map(|(_, zones)| *zones)
}

/// Narrows a region's JSON Schema so that an editor refuses what synth would: for each region of the
/// table with fewer zones than `azCount`'s general maximum, `network.azCount` at most its zones.
pub(crate) fn limit_zones_by_region(schema: &mut schemars::Schema) {
    let limits: Vec<serde_json::Value> = AVAILABILITY_ZONES
        .iter()
        .filter(|(_, zones)| *zones < MAX_AZ_COUNT)
        .map(|(region, zones)| {
            serde_json::json!({
                "if": { "properties": { "region": { "const": region } }, "required": ["region"] },
                "then": { "properties": { "network": { "properties": { "azCount": { "maximum": zones } } } } }
            })
        })
        .collect();
    schema.insert("allOf".to_owned(), serde_json::Value::Array(limits));
}

/// The most Availability Zones a network may span in any region (`azCount`'s schema maximum).
pub(crate) const MAX_AZ_COUNT: u8 = 6;

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: lower-case words joined by '-', ending in a number.
pub fn is_region_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    let Some((number, words)) = parts.split_last() else { return false };
    words.len() >= 2
        && words.iter().all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes_are_recognised() {
        for good in ["us-east-1", "eu-west-1", "us-gov-west-1", "ap-southeast-4"] {
            assert!(is_region_code(good), "{good}");
        }
        for bad in ["", "useast1", "us-east", "US-EAST-1", "us--1", "us-east-x"] {
            assert!(!is_region_code(bad), "{bad}");
        }
    }

    #[test]
    fn the_schema_refuses_more_zones_than_the_region_offers() {
        let schema = crate::config::json_schema();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut config: serde_json::Value =
            serde_yaml::from_str(crate::config::EMBEDDED_DEFAULT).expect("the default config is YAML");
        assert!(validator.is_valid(&config));
        config["regions"][1]["network"]["azCount"] = serde_json::json!(4);
        assert_eq!(config["regions"][1]["region"], "eu-west-1");
        let errors: Vec<String> =
            validator.iter_errors(&config).map(|error| error.instance_path().to_string()).collect();
        assert_eq!(errors, ["/regions/1/network/azCount"]);
        config["regions"][0]["network"]["azCount"] = serde_json::json!(6);
        assert_eq!(config["regions"][0]["region"], "us-east-1");
        assert_eq!(validator.iter_errors(&config).count(), 1, "us-east-1 has six zones");
    }

    #[test]
    fn zones_are_known_for_the_platform_regions() {
        assert_eq!(availability_zones("us-east-1"), Some(6));
        assert_eq!(availability_zones("eu-west-1"), Some(3));
        assert_eq!(availability_zones("xx-nowhere-1"), None);
    }
}
