//! The subnet plan of a VPC: which CIDR block each subnet of each tier gets.
//!
//! Explicit blocks are taken as given (after checking that they fit and do not overlap). The rest are
//! carved out of the VPC block with `ipnet`, largest prefix first so that smaller blocks fill the gaps the
//! larger ones leave, each at the lowest free aligned address. The result depends only on the request,
//! so the same config always gives the same subnets.

use std::fmt;

use indexmap::IndexMap;
use ipnet::Ipv4Net;

/// The smallest subnet AWS allows.
pub const MAX_SUBNET_PREFIX: u8 = 28;

/// The largest subnet AWS allows.
pub const MIN_SUBNET_PREFIX: u8 = 16;

/// A subnet tier: what may reach the subnet and where it may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubnetTier {
    /// Routes to an internet gateway: load balancers and NAT gateways.
    Public,
    /// Routes out through NAT only: application tasks.
    PrivateApp,
    /// No route beyond the VPC: databases and caches.
    Isolated,
}

impl SubnetTier {
    /// The three tiers in plan order.
    pub const ALL: [SubnetTier; 3] = [SubnetTier::Public, SubnetTier::PrivateApp, SubnetTier::Isolated];

    /// The tier's construct id prefix (`PublicSubnet1`).
    pub fn id(self) -> &'static str {
        match self {
            SubnetTier::Public => "Public",
            SubnetTier::PrivateApp => "PrivateApp",
            SubnetTier::Isolated => "Isolated",
        }
    }
}

impl fmt::Display for SubnetTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubnetTier::Public => "public",
            SubnetTier::PrivateApp => "private-app",
            SubnetTier::Isolated => "isolated",
        })
    }
}

/// What one tier asks for: a subnet per AZ of a given size, or explicit blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRequest {
    /// The tier.
    pub tier: SubnetTier,
    /// The prefix length of each subnet.
    pub prefix_length: u8,
    /// Explicit blocks, one per AZ, or `None` to compute them.
    pub cidrs: Option<Vec<Ipv4Net>>,
}

/// A subnet plan that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CidrPlanError {
    /// The tier at fault, or `None` when the VPC block itself is.
    pub tier: Option<SubnetTier>,
    /// What is wrong.
    pub message: String,
}

fn plan_error(tier: SubnetTier, message: String) -> CidrPlanError {
    CidrPlanError { tier: Some(tier), message }
}

/// The blocks of each tier, one per AZ in AZ order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetPlan {
    blocks: IndexMap<SubnetTier, Vec<Ipv4Net>>,
}

impl SubnetPlan {
    /// Plans `az_count` subnets for each requested tier inside `vpc`.
    pub fn new(vpc: Ipv4Net, az_count: usize, requests: &[TierRequest]) -> Result<Self, CidrPlanError> {
        let mut taken: Vec<(Ipv4Net, SubnetTier)> = Vec::new();
        let mut blocks: IndexMap<SubnetTier, Vec<Ipv4Net>> = IndexMap::new();

        for request in requests {
            let tier = request.tier;
            let prefix = request.prefix_length;
            if !(MIN_SUBNET_PREFIX..=MAX_SUBNET_PREFIX).contains(&prefix) {
                return Err(plan_error(
                    tier,
                    format!("a subnet prefix must be from /{MIN_SUBNET_PREFIX} to /{MAX_SUBNET_PREFIX}, not /{prefix}"),
                ));
            }
            if prefix < vpc.prefix_len() {
                return Err(plan_error(tier, format!("a /{prefix} subnet cannot fit in the VPC block {vpc}")));
            }
            let Some(cidrs) = &request.cidrs else { continue };
            if cidrs.len() != az_count {
                return Err(plan_error(
                    tier,
                    format!("{} blocks given for {az_count} availability zones", cidrs.len()),
                ));
            }
            for cidr in cidrs {
                if *cidr != cidr.trunc() {
                    return Err(plan_error(tier, format!("{cidr} has host bits set; did you mean {}?", cidr.trunc())));
                }
                if cidr.prefix_len() != prefix {
                    return Err(plan_error(tier, format!("{cidr} is not a /{prefix} block as prefixLength says")));
                }
                if !vpc.contains(cidr) {
                    return Err(plan_error(tier, format!("{cidr} lies outside the VPC block {vpc}")));
                }
                if let Some((other, other_tier)) = taken.iter().find(|(other, _)| overlaps(*other, *cidr)) {
                    return Err(plan_error(tier, format!("{cidr} overlaps {other} of the {other_tier} tier")));
                }
                taken.push((*cidr, tier));
            }
            blocks.insert(tier, cidrs.clone());
        }

        let mut computed: Vec<&TierRequest> = requests.iter().filter(|request| request.cidrs.is_none()).collect();
        computed.sort_by_key(|request| request.prefix_length);
        for request in computed {
            let mut tier_blocks = Vec::with_capacity(az_count);
            for az in 0..az_count {
                let free = vpc
                    .subnets(request.prefix_length)
                    .expect("the prefix was checked against the VPC block")
                    .find(|candidate| taken.iter().all(|(other, _)| !overlaps(*other, *candidate)));
                let Some(block) = free else {
                    let needed: u64 = requests.iter().map(|r| az_count as u64 * block_size(r.prefix_length)).sum();
                    return Err(plan_error(
                        request.tier,
                        format!(
                            "no free /{} block left in {vpc} for {} subnet {} of {az_count}: the tiers need {needed} addresses \
                             and the VPC has {}; use a larger VPC block or smaller subnets",
                            request.prefix_length,
                            request.tier,
                            az + 1,
                            block_size(vpc.prefix_len())
                        ),
                    ));
                };
                taken.push((block, request.tier));
                tier_blocks.push(block);
            }
            blocks.insert(request.tier, tier_blocks);
        }

        blocks.sort_by(|a, _, b, _| a.cmp(b));
        Ok(Self { blocks })
    }

    /// The blocks of a tier, one per AZ; empty if the tier was not requested.
    pub fn blocks(&self, tier: SubnetTier) -> &[Ipv4Net] {
        self.blocks.get(&tier).map_or(&[], Vec::as_slice)
    }

    /// Every tier with its blocks, in tier order.
    pub fn tiers(&self) -> impl Iterator<Item = (SubnetTier, &[Ipv4Net])> {
        self.blocks.iter().map(|(tier, blocks)| (*tier, blocks.as_slice()))
    }
}

fn block_size(prefix: u8) -> u64 {
    1u64 << (32 - u32::from(prefix))
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Ipv4Net {
        text.parse().unwrap()
    }

    fn sized(tier: SubnetTier, prefix_length: u8) -> TierRequest {
        TierRequest { tier, prefix_length, cidrs: None }
    }

    fn default_requests() -> Vec<TierRequest> {
        vec![sized(SubnetTier::Public, 24), sized(SubnetTier::PrivateApp, 20), sized(SubnetTier::Isolated, 24)]
    }

    #[test]
    fn large_blocks_are_placed_first_and_small_ones_fill_the_rest() {
        let plan = SubnetPlan::new(net("10.10.0.0/16"), 3, &default_requests()).unwrap();
        let text = |tier| plan.blocks(tier).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(text(SubnetTier::PrivateApp), ["10.10.0.0/20", "10.10.16.0/20", "10.10.32.0/20"]);
        assert_eq!(text(SubnetTier::Public), ["10.10.48.0/24", "10.10.49.0/24", "10.10.50.0/24"]);
        assert_eq!(text(SubnetTier::Isolated), ["10.10.51.0/24", "10.10.52.0/24", "10.10.53.0/24"]);
        assert_eq!(plan.tiers().map(|(tier, _)| tier).collect::<Vec<_>>(), SubnetTier::ALL);
    }

    #[test]
    fn no_two_blocks_overlap_and_all_lie_in_the_vpc() {
        for (vpc, prefixes) in
            [("10.0.0.0/16", [24, 20, 24]), ("10.0.0.0/20", [26, 24, 28]), ("172.16.0.0/22", [27, 26, 28])]
        {
            let requests: Vec<_> = SubnetTier::ALL.iter().zip(prefixes).map(|(tier, p)| sized(*tier, p)).collect();
            let plan = SubnetPlan::new(net(vpc), 3, &requests).unwrap();
            let all: Vec<Ipv4Net> = plan.tiers().flat_map(|(_, blocks)| blocks.to_vec()).collect();
            assert_eq!(all.len(), 9);
            for (i, a) in all.iter().enumerate() {
                assert!(net(vpc).contains(a), "{a} outside {vpc}");
                for b in &all[i + 1..] {
                    assert!(!overlaps(*a, *b), "{a} overlaps {b}");
                }
            }
        }
    }

    #[test]
    fn an_impossible_plan_says_what_does_not_fit() {
        let err = SubnetPlan::new(net("10.0.0.0/22"), 3, &default_requests()).unwrap_err();
        assert_eq!(err.tier, Some(SubnetTier::PrivateApp));
        assert_eq!(err.message, "a /20 subnet cannot fit in the VPC block 10.0.0.0/22");

        let err = SubnetPlan::new(net("10.0.0.0/20"), 3, &default_requests()).unwrap_err();
        assert_eq!(err.tier, Some(SubnetTier::PrivateApp));
        assert!(
            err.message.starts_with("no free /20 block left in 10.0.0.0/20 for private-app subnet 2 of 3"),
            "{}",
            err.message
        );
    }

    #[test]
    fn explicit_blocks_are_checked_and_kept() {
        let mut requests = default_requests();
        requests[0].cidrs = Some(vec![net("10.0.0.0/24"), net("10.0.1.0/24"), net("10.0.2.0/24")]);
        let plan = SubnetPlan::new(net("10.0.0.0/16"), 3, &requests).unwrap();
        assert_eq!(plan.blocks(SubnetTier::Public)[0], net("10.0.0.0/24"));
        assert_eq!(plan.blocks(SubnetTier::PrivateApp)[0], net("10.0.16.0/20"), "computed blocks avoid explicit ones");

        let mut overlapping = default_requests();
        overlapping[0].cidrs = Some(vec![net("10.0.0.0/24"), net("10.0.1.0/24"), net("10.0.2.0/24")]);
        overlapping[2].cidrs = Some(vec![net("10.0.3.0/24"), net("10.0.1.0/24"), net("10.0.4.0/24")]);
        let err = SubnetPlan::new(net("10.0.0.0/16"), 3, &overlapping).unwrap_err();
        assert_eq!(err, plan_error(SubnetTier::Isolated, "10.0.1.0/24 overlaps 10.0.1.0/24 of the public tier".into()));

        let mut outside = default_requests();
        outside[2].cidrs = Some(vec![net("10.1.0.0/24"), net("10.0.1.0/24"), net("10.0.2.0/24")]);
        let err = SubnetPlan::new(net("10.0.0.0/16"), 3, &outside).unwrap_err();
        assert_eq!(err.message, "10.1.0.0/24 lies outside the VPC block 10.0.0.0/16");

        let mut too_few = default_requests();
        too_few[1].cidrs = Some(vec![net("10.0.16.0/20")]);
        let err = SubnetPlan::new(net("10.0.0.0/16"), 3, &too_few).unwrap_err();
        assert_eq!(err.message, "1 blocks given for 3 availability zones");
    }

    #[test]
    fn prefixes_outside_what_aws_allows_are_rejected() {
        let err = SubnetPlan::new(net("10.0.0.0/16"), 3, &[sized(SubnetTier::Public, 29)]).unwrap_err();
        assert_eq!(err.message, "a subnet prefix must be from /16 to /28, not /29");
    }
}
