//! The hasher of the construct layer's own maps: stacks by name, logical IDs, construct paths, the
//! outputs synthesis generates.
//!
//! `std`'s SipHash resists collision attacks from untrusted keys, at about 250 instructions a short
//! key; these keys are our own names, looked up hundreds of times per stack, so foldhash (the hasher
//! of `hashbrown`) serves. Its fixed seed keeps the maps deterministic, though no output depends on
//! a hash order: the maps iterated for what they hold in order are `IndexMap`s, in insertion order.

use indexmap::{IndexMap, IndexSet};

/// The fixed-seed foldhash state.
pub(crate) type FastState = foldhash::fast::FixedState;

/// An insertion-ordered map hashed with [`FastState`].
pub(crate) type FastIndexMap<K, V> = IndexMap<K, V, FastState>;

/// An insertion-ordered set hashed with [`FastState`].
pub(crate) type FastIndexSet<T> = IndexSet<T, FastState>;

/// A map hashed with [`FastState`], for lookups: nothing may depend on the order it iterates in.
pub(crate) type FastHashMap<K, V> = std::collections::HashMap<K, V, FastState>;
