//! The order in which stacks deploy: a topological sort of their dependencies.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use indexmap::{IndexMap, IndexSet};

use super::error::ConstructError;

/// Sorts stacks so that each comes after everything it depends on.
///
/// `dependencies` maps every stack, in app order, to the stacks it needs. Among stacks that are ready
/// at the same time the app order wins, so the result is deterministic and reads like the config. A
/// cycle is an error that names the stacks along it.
///
/// Kahn's algorithm: each stack is looked at once and each dependency twice, and the ready stacks wait
/// in a heap by app position, so the work is O((V + E) log V), not a scan of every stack per placement.
pub fn deploy_order(dependencies: &IndexMap<String, IndexSet<String>>) -> Result<Vec<String>, ConstructError> {
    deploy_order_counting(dependencies, &mut 0)
}

/// [`deploy_order`], adding to `work` one for each stack, dependency or heap operation it handles: what
/// the complexity test counts.
pub(crate) fn deploy_order_counting(
    dependencies: &IndexMap<String, IndexSet<String>>,
    work: &mut u64,
) -> Result<Vec<String>, ConstructError> {
    // Positions in app order; a dependency outside the map is never satisfied (a cycle report finds it).
    let mut waiting_on = vec![0usize; dependencies.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); dependencies.len()];
    for (position, needs) in dependencies.values().enumerate() {
        *work += 1;
        for need in needs {
            *work += 1;
            waiting_on[position] += 1;
            if let Some(needed) = dependencies.get_index_of(need) {
                dependents[needed].push(position);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..dependencies.len()).filter(|&position| waiting_on[position] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(dependencies.len());
    while let Some(Reverse(position)) = ready.pop() {
        *work += 1;
        order.push(position);
        for &dependent in &dependents[position] {
            *work += 1;
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.push(Reverse(dependent));
            }
        }
    }
    if order.len() < dependencies.len() {
        let placed: IndexSet<String> =
            order.iter().map(|&position| dependencies.get_index(position).expect("a position").0.clone()).collect();
        return Err(ConstructError::DependencyCycle { cycle: find_cycle(dependencies, &placed) });
    }
    Ok(order.into_iter().map(|position| dependencies.get_index(position).expect("a position").0.clone()).collect())
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

    /// `stacks` stacks in app order, each after the one at half its index: a tree, as wide as it is deep
    /// in places, like an app of many small stacks that share a few.
    fn tree(stacks: usize) -> IndexMap<String, IndexSet<String>> {
        (0..stacks)
            .map(|index| {
                let needs = if index == 0 { IndexSet::new() } else { IndexSet::from([format!("S{}", index / 2)]) };
                (format!("S{index}"), needs)
            })
            .collect()
    }

    /// Doubling the stacks at most a little more than doubles the work (stacks and dependencies looked
    /// at), counted, not timed.
    #[test]
    fn the_work_grows_linearly_with_the_stacks() {
        let work = |stacks: usize| {
            let mut work = 0;
            let order = deploy_order_counting(&tree(stacks), &mut work).unwrap();
            assert_eq!(order.len(), stacks);
            work
        };
        for stacks in [1_000, 4_000] {
            let (single, double) = (work(stacks), work(2 * stacks));
            let ratio = double as f64 / single as f64;
            eprintln!("{stacks} stacks: {single} steps, {} stacks: {double} steps ({ratio:.2}x)", 2 * stacks);
            assert!(
                ratio <= 2.3,
                "{stacks} stacks: {single} steps, {} stacks: {double} steps ({ratio:.2}x)",
                2 * stacks
            );
        }
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
