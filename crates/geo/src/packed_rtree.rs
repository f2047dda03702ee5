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
    pub fn build(leaves: Vec<T>) -> Self {
        // Leaves lie on the earth's surface, a curved sheet in 3-D: ordering
        // them along a Hilbert curve over (longitude, latitude) of their
        // centres puts surface neighbours in the same nodes. (A 3-D Z-order
        // was measured first: its nodes overlapped so much that a nearest
        // search opened dozens of them.)
        let angles: Vec<(f64, f64)> = leaves.iter().map(|l| surface_angles(l.bounds().center())).collect();
        let (mut lo, mut hi) = ((f64::INFINITY, f64::INFINITY), (f64::NEG_INFINITY, f64::NEG_INFINITY));
        for &(a, b) in &angles {
            lo = (lo.0.min(a), lo.1.min(b));
            hi = (hi.0.max(a), hi.1.max(b));
        }
        let quantise = |v: f64, lo: f64, hi: f64| (((v - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0) * 65535.0) as u32;
        let mut keyed: Vec<(u64, T)> =
            angles.into_iter().zip(leaves).map(|((a, b), leaf)| (hilbert(quantise(a, lo.0, hi.0), quantise(b, lo.1, hi.1)), leaf)).collect();
        keyed.sort_by_key(|(k, _)| *k);
        let mut leaves: Vec<T> = keyed.into_iter().map(|(_, l)| l).collect();
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

    /// Changes each leaf's payload in place. `f` must not change the leaf's
    /// bounds (the tree's boxes are not recomputed).
    pub fn update_payloads(&mut self, f: impl Fn(&mut T)) {
        self.leaves.iter_mut().for_each(f);
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

    /// Best-first branch and bound around `p`: nodes are opened nearest
    /// first, every leaf of an opened bottom node is handed to `visit`, and
    /// the search stops at the first node farther (squared) than
    /// `bound2(state)`, which the caller tightens as it finds answers.
    /// Leaves are visited directly, not queued, which keeps the heap small.
    pub fn branch_and_bound<S>(&self, p: [f64; 3], state: &mut S, visit: impl Fn(&mut S, &T), bound2: impl Fn(&S) -> f64) {
        let Some(top) = self.levels.last() else { return };
        let mut heap = BinaryHeap::with_capacity(64);
        let top_level = self.levels.len() - 1;
        for (i, b) in top.iter().enumerate() {
            heap.push(Reverse(Candidate { d2: b.distance2_to(p), level: top_level as u32, index: i as u32 }));
        }
        while let Some(Reverse(c)) = heap.pop() {
            if c.d2 > bound2(state) {
                break;
            }
            let level = c.level as usize;
            if level == 0 {
                let (start, end) = children(c.index as usize, self.leaves.len());
                for leaf in &self.leaves[start..end] {
                    visit(state, leaf);
                }
                continue;
            }
            let below = &self.levels[level - 1];
            let (start, end) = children(c.index as usize, below.len());
            let limit = bound2(state);
            for (child, b) in below[start..end].iter().enumerate() {
                let d2 = b.distance2_to(p);
                if d2 <= limit {
                    heap.push(Reverse(Candidate { d2, level: level as u32 - 1, index: (start + child) as u32 }));
                }
            }
        }
    }
}

fn children(i: usize, len_below: usize) -> (usize, usize) {
    let start = i * NODE_SIZE;
    (start, (start + NODE_SIZE).min(len_below))
}

#[derive(PartialEq)]
struct Candidate {
    d2: f64,
    /// A box of `levels[level]`.
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

/// Longitude-like and latitude-like angles of an earth-centred point.
fn surface_angles(p: [f64; 3]) -> (f64, f64) {
    (p[1].atan2(p[0]), p[2].atan2(p[0].hypot(p[1])))
}

/// Position of (x, y) along a Hilbert curve over a 65536 × 65536 grid.
fn hilbert(mut x: u32, mut y: u32) -> u64 {
    const N: u32 = 1 << 16;
    let mut d: u64 = 0;
    let mut s = N / 2;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = N - 1 - x;
                y = N - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hilbert_steps_between_neighbouring_cells() {
        // Every step along the curve moves to an adjacent cell.
        let mut cells: Vec<(u64, u32, u32)> = Vec::new();
        for x in 0..64u32 {
            for y in 0..64u32 {
                cells.push((hilbert(x << 10, y << 10), x, y));
            }
        }
        cells.sort();
        for w in cells.windows(2) {
            assert_eq!(w[0].1.abs_diff(w[1].1) + w[0].2.abs_diff(w[1].2), 1, "{:?} -> {:?}", w[0], w[1]);
        }
    }

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
            // The 3 nearest by branch and bound, against sorting all.
            let mut best: Vec<(f64, u32)> = Vec::new();
            tree.branch_and_bound(q, &mut best, |best, l| {
                let d2 = Aabb::around(l.0, 0.0).distance2_to(q);
                best.push((d2, l.1));
                best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                best.truncate(3);
            }, |best| if best.len() < 3 { f64::INFINITY } else { best[2].0 });
            let mut all: Vec<(f64, u32)> = leaves.iter().map(|l| (Aabb::around(l.0, 0.0).distance2_to(q), l.1)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.truncate(3);
            prop_assert_eq!(best.iter().map(|b| b.0).collect::<Vec<_>>(), all.iter().map(|b| b.0).collect::<Vec<_>>());
        }
    }
}
