//! A hash map with a hard bound on its entries, for state kept per attacker-chosen key.
//!
//! When full, an insert first drops stale entries; if none are stale it evicts the lowest
//! ranked eighth of the map in one pass (`select_nth_unstable`), so the cost of eviction is
//! amortized to a constant per insert and the map never holds more than its capacity.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};

#[derive(Debug)]
pub(super) struct BoundedMap<K, V, S = RandomState> {
    map: HashMap<K, V, S>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V, S: BuildHasher + Default> BoundedMap<K, V, S> {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            map: HashMap::default(),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    #[cfg(test)]
    pub(super) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    pub(super) fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    /// Inserts `key`, making room first if the map is full. Returns how many entries were
    /// evicted to make room (stale ones are not counted).
    ///
    /// `is_stale` marks entries that no longer matter; `rank` orders the rest, lowest evicted
    /// first.
    pub(super) fn insert<R: Ord>(
        &mut self,
        key: K,
        value: V,
        is_stale: impl Fn(&V) -> bool,
        rank: impl Fn(&V) -> R,
    ) -> usize {
        let mut evicted = 0;
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.map.retain(|_, v| !is_stale(v));
            if self.map.len() >= self.capacity {
                evicted = self.evict_lowest(rank);
            }
        }
        self.map.insert(key, value);
        evicted
    }

    /// Evicts the lowest ranked eighth of the map (at least one entry).
    fn evict_lowest<R: Ord>(&mut self, rank: impl Fn(&V) -> R) -> usize {
        let count = (self.map.len() / 8).max(1);
        let mut ranked: Vec<(R, K)> = self.map.iter().map(|(k, v)| (rank(v), k.clone())).collect();
        ranked.select_nth_unstable_by(count - 1, |a, b| a.0.cmp(&b.0));
        for (_, key) in ranked.into_iter().take(count) {
            self.map.remove(&key);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_map_evicts_the_lowest_ranked_entries() {
        let mut map: BoundedMap<u32, u32> = BoundedMap::new(16);
        for i in 0..16u32 {
            assert_eq!(map.insert(i, i, |_| false, |v| *v), 0);
        }
        let evicted = map.insert(100, 100, |_| false, |v| *v);
        assert_eq!(evicted, 2);
        assert_eq!(map.len(), 15);
        assert!(map.get(&0).is_none() && map.get(&1).is_none());
        assert!(map.get(&100).is_some() && map.get(&2).is_some());
    }

    #[test]
    fn stale_entries_go_before_any_eviction() {
        let mut map: BoundedMap<u32, u32> = BoundedMap::new(4);
        for i in 0..4u32 {
            map.insert(i, i, |_| false, |v| *v);
        }
        let evicted = map.insert(9, 9, |v| *v == 3, |v| *v);
        assert_eq!(evicted, 0);
        assert!(map.get(&3).is_none() && map.get(&0).is_some());
    }

    #[test]
    fn map_never_exceeds_its_capacity() {
        let mut map: BoundedMap<u32, u32> = BoundedMap::new(100);
        for i in 0..10_000u32 {
            map.insert(i, i, |_| false, |v| *v);
            assert!(map.len() <= 100);
        }
    }
}
