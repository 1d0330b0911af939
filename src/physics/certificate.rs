//! The stability certificate: computed from the maps and the scheme
//! parameters before any voice runs.
//!
//! For the scheme in [`super::scheme`], von Neumann analysis of each mode of
//! the symmetric operator `S^{1/2}(−G)S^{1/2}` with eigenvalue `μ` gives the
//! condition `(a + 2b)·μ + κk² ≤ 4`. The largest `μ` is bounded by
//! Gershgorin's theorem applied node by node (the *worst node decides*):
//!
//! ```text
//! μ_max ≤ r = max_i [ s_i·n_i + Σ_coupled j (s_i + s_j)/2 ]
//! ```
//!
//! (`√(s_i s_j) ≤ (s_i + s_j)/2`, so the bound is rigorous; it is linear in
//! the stiffness, hence a morph between two certified maps is certified at
//! every point of the path). For a uniform mesh `r = 4·dims·s`, which the
//! highest mode approaches: the bound is tight there.

use super::scheme::{BodyMaps, SchemeParams};

/// The stability limit of `(a + 2b)·r + κk²`.
pub const LIMIT: f64 = 4.0;

/// Gershgorin row bound of a body's operator and the node that attains it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowBound {
    /// `r`, the bound on the largest eigenvalue.
    pub value: f64,
    /// Grid position (x, y) of the worst node.
    pub worst_node: (usize, usize),
}

/// Computes the row bound of `maps` (optionally blended toward `other` by
/// `t`, which the linear bound makes the max of its two endpoints).
pub fn row_bound(maps: &BodyMaps) -> RowBound {
    let l = maps.layout;
    let deltas = maps.neighbour_deltas();
    let nn = maps.neighbour_count();
    let mut best = RowBound {
        value: 0.0,
        worst_node: (0, 0),
    };
    for y in 0..l.height {
        for x in 0..l.width {
            let p = l.idx(x, y);
            let s = maps.stiffness[p] as f64;
            if s == 0.0 {
                continue;
            }
            let mut r = s * maps.diag[p] as f64;
            for (k, &d) in deltas.iter().enumerate().take(nn) {
                if maps.coupled[p] & (1 << k) != 0 {
                    r += 0.5 * (s + maps.stiffness[(p as isize + d) as usize] as f64);
                }
            }
            if r > best.value {
                best = RowBound {
                    value: r,
                    worst_node: (x, y),
                };
            }
        }
    }
    best
}

/// A stability certificate for one set of scheme parameters on one body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Certificate {
    /// The row bound it was computed from.
    pub bound: RowBound,
    /// `(a + 2b)·r + κk²`; stable when below [`LIMIT`].
    pub value: f64,
}

impl Certificate {
    /// Evaluates the certificate for parameters `p` on a body with row bound `bound`.
    pub fn new(bound: RowBound, p: &SchemeParams) -> Self {
        Self {
            bound,
            value: (p.a + 2.0 * p.b) * bound.value + p.kappa_k2,
        }
    }
    /// True when the scheme is stable.
    pub fn holds(&self) -> bool {
        self.value.is_finite() && self.value < LIMIT
    }
    /// Share of the limit used, `value / LIMIT` (stable below 1).
    pub fn utilisation(&self) -> f64 {
        self.value / LIMIT
    }
}
