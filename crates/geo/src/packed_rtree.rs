//! A static, packed 3-D R-tree (in the manner of Flatbush) over `f32` boxes.
//!
//! Why not `rstar`: its nodes are an enum whose leaf slots are as large as an
//! inner node (a `Vec` plus an envelope), about 56 bytes per point in 3-D,
//! and the camera index keeps two trees. This tree stores leaves in one
//! sorted array and inner boxes in one array per level: 16 bytes per point
//! leaf plus about 2 bytes of inner nodes. The price is that it is rebuilt,
//! not edited, when cameras change; building 100,000 leaves takes a few
//! milliseconds, and camera edits are rare next to queries.
//!
//! Boxes are rounded outwards when narrowed to `f32`, so a query never misses
//! a leaf; callers refine candidates with exact `f64` tests.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

const NODE_SIZE: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aabb {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Aabb {
    pub const EMPTY: Aabb = Aabb { min: [f32::INFINITY; 3], max: [f32::NEG_INFINITY; 3] };

    /// The smallest `f32` box containing the `f64` box `min..=max` grown by `pad`.
    pub fn from_f64(min: [f64; 3], max: [f64; 3], pad: f64) -> Aabb {
        let lo = |v: f64| ((v - pad) as f32).next_down();
        let hi = |v: f64| ((v + pad) as f32).next_up();
        Aabb { min: [lo(min[0]), lo(min[1]), lo(min[2])], max: [hi(max[0]), hi(max[1]), hi(max[2])] }
    }

    pub fn around(p: [f64; 3], pad: f64) -> Aabb {
        Aabb::from_f64(p, p, pad)
    }

    fn extend(&mut self, other: &Aabb) {
        for i in 0..3 {
            self.min[i] = self.min[i].min(other.min[i]);
            self.max[i] = self.max[i].max(other.max[i]);
        }
    }

    pub fn intersects(&self, other: &Aabb) -> bool {
        (0..3).all(|i| self.min[i] <= other.max[i] && other.min[i] <= self.max[i])
    }

    /// Squared distance from `p` to the nearest point of the box (0 inside).
    pub fn distance2_to(&self, p: [f64; 3]) -> f64 {
        (0..3)
            .map(|i| {
                let d = (self.min[i] as f64 - p[i]).max(0.0).max(p[i] - self.max[i] as f64);
                d * d
            })
            .sum()
    }

    fn center(&self) -> [f64; 3] {
        [0, 1, 2].map(|i| (self.min[i] as f64 + self.max[i] as f64) * 0.5)
    }
}

/// Anything stored in the tree.
pub trait Leaf {
    fn bounds(&self) -> Aabb;
}

pub struct PackedTree<T> {
    leaves: Vec<T>,
    /// `levels[0][i]` bounds leaves `i*16 .. i*16+16`; `levels[k+1][i]`
    /// bounds `levels[k][i*16 .. i*16+16]`. The last level has at most 16 boxes.
    levels: Vec<Vec<Aabb>>,
}

impl<T: Leaf> PackedTree<T> {
    pub fn build(mut leaves: Vec<T>) -> Self {
        let mut all = Aabb::EMPTY;
        for l in &leaves {
            all.extend(&l.bounds());
        }
        // Z-order on leaf centres keeps neighbours in the same nodes.
        leaves.sort_by_cached_key(|l| morton3(l.bounds().center(), &all));
        let mut levels: Vec<Vec<Aabb>> = Vec::new();
        let mut below: Vec<Aabb> = leaves.iter().map(Leaf::bounds).collect();
        while below.len() > NODE_SIZE || levels.is_empty() && !below.is_empty() {
            let level: Vec<Aabb> = below
                .chunks(NODE_SIZE)
                .map(|c| {
                    let mut b = Aabb::EMPTY;
                    c.iter().for_each(|x| b.extend(x));
                    b
                })
                .collect();
            below = level.clone();
            levels.push(level);
        }
        levels.iter_mut().for_each(|l| l.shrink_to_fit());
        leaves.shrink_to_fit();
        PackedTree { leaves, levels }
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    pub fn leaves(&self) -> &[T] {
        &self.leaves
    }

    pub fn heap_bytes(&self) -> usize {
        self.leaves.capacity() * std::mem::size_of::<T>()
            + self.levels.iter().map(|l| l.capacity() * std::mem::size_of::<Aabb>()).sum::<usize>()
            + self.levels.capacity() * std::mem::size_of::<Vec<Aabb>>()
    }

    /// Calls `visit` for every leaf whose box intersects `query`.
    pub fn for_each_intersecting(&self, query: &Aabb, mut visit: impl FnMut(&T)) {
        let Some(top) = self.levels.last() else { return };
        let mut stack: Vec<(usize, usize)> = Vec::with_capacity(32);
        for i in 0..top.len() {
            stack.push((self.levels.len() - 1, i));
        }
        while let Some((level, i)) = stack.pop() {
            if !self.levels[level][i].intersects(query) {
                continue;
            }
            let (start, end) = children(i, if level == 0 { self.leaves.len() } else { self.levels[level - 1].len() });
            if level == 0 {
                for leaf in &self.leaves[start..end] {
                    if leaf.bounds().intersects(query) {
                        visit(leaf);
                    }
                }
            } else {
                stack.extend((start..end).map(|c| (level - 1, c)));
            }
        }
    }

    /// Leaves in increasing order of the squared distance from `p` to their
    /// boxes (a lower bound on the distance to anything inside them).
    pub fn nearest_iter(&self, p: [f64; 3]) -> NearestIter<'_, T> {
        let mut heap = BinaryHeap::new();
        if let Some(top) = self.levels.last() {
            let level = self.levels.len() - 1;
            for (i, b) in top.iter().enumerate() {
                heap.push(Reverse(Candidate { d2: b.distance2_to(p), level: level as u32 + 1, index: i as u32 }));
            }
        }
        NearestIter { tree: self, p, heap }
    }
}

fn children(i: usize, len_below: usize) -> (usize, usize) {
    let start = i * NODE_SIZE;
    (start, (start + NODE_SIZE).min(len_below))
}

#[derive(PartialEq)]
struct Candidate {
    d2: f64,
    /// 0 for a leaf, k+1 for a box of `levels[k]`.
    level: u32,
    index: u32,
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d2.total_cmp(&other.d2).then(self.level.cmp(&other.level)).then(self.index.cmp(&other.index))
    }
}

pub struct NearestIter<'a, T> {
    tree: &'a PackedTree<T>,
    p: [f64; 3],
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl<'a, T: Leaf> Iterator for NearestIter<'a, T> {
    /// (squared lower-bound distance, leaf)
    type Item = (f64, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(Reverse(c)) = self.heap.pop() {
            if c.level == 0 {
                return Some((c.d2, &self.tree.leaves[c.index as usize]));
            }
            let level = c.level as usize - 1;
            let below = if level == 0 { self.tree.leaves.len() } else { self.tree.levels[level - 1].len() };
            let (start, end) = children(c.index as usize, below);
            for child in start..end {
                let b = if level == 0 { self.tree.leaves[child].bounds() } else { self.tree.levels[level - 1][child] };
                self.heap.push(Reverse(Candidate { d2: b.distance2_to(self.p), level: level as u32, index: child as u32 }));
            }
        }
        None
    }
}

/// Interleaves 21 bits of each quantised coordinate.
fn morton3(c: [f64; 3], all: &Aabb) -> u64 {
    let q = |i: usize| {
        let span = (all.max[i] as f64 - all.min[i] as f64).max(1e-9);
        (((c[i] - all.min[i] as f64) / span).clamp(0.0, 1.0) * ((1u64 << 21) - 1) as f64) as u64
    };
    spread(q(0)) | spread(q(1)) << 1 | spread(q(2)) << 2
}

fn spread(mut x: u64) -> u64 {
    x &= 0x1f_ffff;
    x = (x | x << 32) & 0x1f00000000ffff;
    x = (x | x << 16) & 0x1f0000ff0000ff;
    x = (x | x << 8) & 0x100f00f00f00f00f;
    x = (x | x << 4) & 0x10c30c30c30c30c3;
    x = (x | x << 2) & 0x1249249249249249;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, Copy)]
    struct P([f64; 3], u32);
    impl Leaf for P {
        fn bounds(&self) -> Aabb {
            Aabb::around(self.0, 0.0)
        }
    }

    proptest! {
        #[test]
        fn box_query_and_nearest_match_brute_force(
            pts in proptest::collection::vec((-100.0f64..100.0, -100.0f64..100.0, -100.0f64..100.0), 0..300),
            q in (-120.0f64..120.0, -120.0f64..120.0, -120.0f64..120.0), half in 0.0f64..60.0,
        ) {
            let leaves: Vec<P> = pts.iter().enumerate().map(|(i, p)| P([p.0, p.1, p.2], i as u32)).collect();
            let tree = PackedTree::build(leaves.clone());
            let q = [q.0, q.1, q.2];
            let qb = Aabb::from_f64(q.map(|v| v - half), q.map(|v| v + half), 0.0);
            let mut got: Vec<u32> = Vec::new();
            tree.for_each_intersecting(&qb, |l| got.push(l.1));
            got.sort();
            let mut want: Vec<u32> = leaves.iter().filter(|l| l.bounds().intersects(&qb)).map(|l| l.1).collect();
            want.sort();
            prop_assert_eq!(got, want);
            let order: Vec<f64> = tree.nearest_iter(q).map(|(d2, _)| d2).collect();
            prop_assert_eq!(order.len(), leaves.len());
            prop_assert!(order.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
