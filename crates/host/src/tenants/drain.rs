//! A node leaving the cluster on SIGTERM hands its orgs over before it stops listening:
//! each to the live node holding the fewest, the loaded ones one at a time (their streams
//! end and their clients reconnect, through any node, to the new one), the resting ones in
//! one statement per node. With no other node alive it gives them up, for the next node to
//! start to take at once. Meanwhile it goes on passing requests on, so no client sees more
//! than a reconnect.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_store::NOBODY;

use super::Tenants;
use crate::hosted::{Hosted, Owner};

impl Tenants {
    /// Hands every org this node serves to the other live nodes (blocking); how many.
    pub(crate) fn drain(self: &Arc<Self>) -> usize {
        let Some(cluster) = self.cluster.clone() else {
            return 0;
        };
        cluster.start_draining();
        if let Err(e) = self.tick() {
            tracing::warn!(error = %e, "Cannot tell the other nodes this one is draining.");
        }
        let mine: Vec<Arc<Hosted>> = self
            .all()
            .into_iter()
            .filter(|m| m.ownership.is_here())
            .collect();
        if mine.is_empty() {
            return 0;
        }
        let mut load: BTreeMap<String, i64> = match cluster.db.live_nodes() {
            Ok(nodes) => nodes
                .into_iter()
                .filter(|n| !n.draining && n.node != cluster.node)
                .map(|n| (n.node, n.orgs))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the live nodes; the orgs are given up.");
                BTreeMap::new()
            }
        };
        tracing::info!(
            orgs = mine.len(),
            nodes = load.len(),
            "Draining: handing this node's orgs over."
        );
        let mut resting: BTreeMap<String, Vec<Arc<Hosted>>> = BTreeMap::new();
        for made in &mine {
            let to = least_loaded(&mut load).unwrap_or_else(|| NOBODY.to_owned());
            made.ownership.hand_over();
            if made.tenancy.open().is_some() {
                self.hand_over(made, &to);
            } else {
                resting.entry(to).or_default().push(made.clone());
            }
        }
        for (to, orgs) in resting {
            let keys: Vec<String> = orgs.iter().map(|m| m.key()).collect();
            if let Err(e) = cluster.db.hand_over(&keys, &cluster.node, &to) {
                tracing::warn!(error = %e, "Cannot hand resting orgs over; they are taken when this node's lease runs out.");
            }
            for made in orgs {
                made.ownership.let_go(Owner::Unknown);
                made.ownership.handed_on();
            }
        }
        tracing::info!(orgs = mine.len(), "Drained.");
        mine.len()
    }
}

/// The node holding the fewest orgs (counting the one it is about to get).
fn least_loaded(load: &mut BTreeMap<String, i64>) -> Option<String> {
    let (node, count) = load.iter_mut().min_by_key(|(_, n)| **n)?;
    *count += 1;
    Some(node.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orgs_go_to_the_least_loaded_node_in_turn() {
        let mut load: BTreeMap<String, i64> = [("a".into(), 3), ("b".into(), 1)].into();
        let got: Vec<String> = (0..4).map(|_| least_loaded(&mut load).unwrap()).collect();
        assert_eq!(got, ["b", "b", "a", "b"]);
        assert_eq!(least_loaded(&mut BTreeMap::new()), None);
    }
}
