//! The order in which stacks deploy: a topological sort of their dependencies.

use indexmap::{IndexMap, IndexSet};

use super::error::ConstructError;

/// Sorts stacks so that each comes after everything it depends on.
///
/// `dependencies` maps every stack, in app order, to the stacks it needs. Among stacks that are ready
/// at the same time the app order wins, so the result is deterministic and reads like the config. A
/// cycle is an error that names the stacks along it.
pub fn deploy_order(dependencies: &IndexMap<String, IndexSet<String>>) -> Result<Vec<String>, ConstructError> {
    let mut order = Vec::with_capacity(dependencies.len());
    let mut placed = IndexSet::new();
    while order.len() < dependencies.len() {
        let ready = dependencies
            .iter()
            .find(|(name, needs)| !placed.contains(*name) && needs.iter().all(|need| placed.contains(need)));
        match ready {
            Some((name, _)) => {
                placed.insert(name.clone());
                order.push(name.clone());
            }
            None => return Err(ConstructError::DependencyCycle { cycle: find_cycle(dependencies, &placed) }),
        }
    }
    Ok(order)
}

/// Walks dependencies from the first unplaced stack until a stack repeats; that stretch is a cycle.
fn find_cycle(dependencies: &IndexMap<String, IndexSet<String>>, placed: &IndexSet<String>) -> Vec<String> {
    let mut walk: Vec<String> = Vec::new();
    let mut current = dependencies.keys().find(|name| !placed.contains(*name)).cloned();
    while let Some(name) = current {
        if let Some(start) = walk.iter().position(|seen| *seen == name) {
            let mut cycle = walk.split_off(start);
            cycle.push(name);
            return cycle;
        }
        // Every unplaced stack has an unplaced dependency, or it would have been ready.
        current = dependencies[&name].iter().find(|need| !placed.contains(*need)).cloned();
        walk.push(name);
    }
    walk
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> IndexMap<String, IndexSet<String>> {
        edges.iter().map(|(name, needs)| (name.to_string(), needs.iter().map(|n| n.to_string()).collect())).collect()
    }

    #[test]
    fn dependencies_come_first_and_ties_keep_app_order() {
        let order = deploy_order(&graph(&[
            ("Compute", &["Data", "Network"]),
            ("Data", &["Network"]),
            ("Network", &[]),
            ("Dr", &[]),
        ]))
        .unwrap();
        assert_eq!(order, ["Network", "Data", "Compute", "Dr"]);
    }

    #[test]
    fn a_cycle_names_its_stacks() {
        let err = deploy_order(&graph(&[("Edge", &[]), ("A", &["B"]), ("B", &["C"]), ("C", &["A"])])).unwrap_err();
        assert_eq!(err.to_string(), "stack dependency cycle: A -> B -> C -> A");
    }

    #[test]
    fn a_cycle_reached_through_a_tail_names_only_the_cycle() {
        let err = deploy_order(&graph(&[("Tail", &["A"]), ("A", &["B"]), ("B", &["A"])])).unwrap_err();
        assert_eq!(err, ConstructError::DependencyCycle { cycle: vec!["A".into(), "B".into(), "A".into()] });
    }
}
