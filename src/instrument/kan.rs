//! Note and velocity → voice parameters: a small Kolmogorov–Arnold network.
//!
//! A trained multi-note instrument does not play every note with the same
//! damping, contact time, strike position and level: a marimba's low bars
//! ring longer than its high ones, a harp's bass strings are plucked softer.
//! The trainer fits these per-note figures and stores a KAN in the
//! instrument file (`"kan"`, optional); the server evaluates it (on the
//! control side, once per note) to shape every [`NoteRequest`] before the
//! caller's own parameters apply on top.
//!
//! Each edge of a KAN layer is a learnable 1D function of one input, here a
//! sum of Gaussian radial basis functions on a fixed grid plus a linear term
//! (the "FastKAN" form): `φ(x) = Σ_k c_k·exp(−((x−μ_k)/w)²) + l·x`. A node
//! sums its incoming edges and a bias. Hidden nodes pass through `tanh` so
//! the next layer's inputs stay on the RBF grid (−1..1). Inputs are the note,
//! mapped from the trained note range to −1..1 (extrapolating a little beyond
//! it), and the velocity mapped from 0..1 to −1..1.

use serde::{Deserialize, Serialize};

use crate::types::NoteRequest;

/// The outputs a KAN may drive, with what they mean.
pub const KAN_OUTPUTS: [(&str, &str); 6] = [
    (
        "detune_cents",
        "pitch correction of the note, cents (−100..100)",
    ),
    (
        "damping_log2",
        "log₂ of the damping scale (σ₀ and σ₁ together, −2..2)",
    ),
    ("contact_log2", "log₂ of the contact-time scale (−2..2)"),
    ("strike_x", "strike position across, 0..1"),
    ("strike_y", "strike position down, 0..1"),
    ("gain_db", "level correction, dB (−24..24)"),
];

/// How far outside the trained note range the note input may go (in
/// normalised units; 0.5 = a quarter of the range on each side).
pub const NOTE_EXTRAPOLATION: f64 = 0.5;

/// Ridge weight of the radial-basis coefficients in [`KanSpec::fit`].
pub const RIDGE_COEF: f64 = 1e-2;
/// Ridge weight of the linear edges in [`KanSpec::fit`].
pub const RIDGE_LINEAR: f64 = 1e-4;

/// The network as stored in an instrument file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KanSpec {
    /// MIDI note range the note input is normalised over (`[low, high]`).
    pub note_range: [f64; 2],
    /// RBF centres on the normalised axis, shared by every edge.
    pub centres: Vec<f64>,
    /// RBF width (normalised units).
    pub width: f64,
    /// The outputs, in order: names from [`KAN_OUTPUTS`].
    pub outputs: Vec<String>,
    /// Layers from the 2 inputs (note, velocity) to the outputs.
    pub layers: Vec<KanLayer>,
}

/// One KAN layer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KanLayer {
    /// Nodes in.
    pub inputs: usize,
    /// Nodes out.
    pub outputs: usize,
    /// RBF weights, `[(out·inputs + in)·K + k]` for K centres.
    pub coef: Vec<f64>,
    /// Linear term of each edge, `[out·inputs + in]`.
    pub linear: Vec<f64>,
    /// Bias of each output node.
    pub bias: Vec<f64>,
}

/// What a KAN says about one note.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteShape {
    /// Pitch correction, cents.
    pub detune_cents: f64,
    /// Damping scale (multiplies σ₀ and σ₁).
    pub damping: f64,
    /// Contact-time scale.
    pub contact: f64,
    /// Strike position, if the network sets it.
    pub strike: Option<(f64, f64)>,
    /// Level correction, dB.
    pub gain_db: f64,
}

impl Default for NoteShape {
    fn default() -> Self {
        Self {
            detune_cents: 0.0,
            damping: 1.0,
            contact: 1.0,
            strike: None,
            gain_db: 0.0,
        }
    }
}

impl KanSpec {
    /// A network with `hidden` nodes (0: one layer straight to the
    /// outputs), `centres` RBF centres on −1..1, all weights zero.
    pub fn zeroed(note_range: [f64; 2], outputs: &[&str], hidden: usize, centres: usize) -> Self {
        let k = centres.max(2);
        let grid: Vec<f64> = (0..k)
            .map(|i| -1.0 + 2.0 * i as f64 / (k - 1) as f64)
            .collect();
        let width = 2.0 / (k - 1) as f64;
        let n_out = outputs.len();
        let dims: Vec<usize> = if hidden == 0 {
            vec![2, n_out]
        } else {
            vec![2, hidden, n_out]
        };
        let layers = dims
            .windows(2)
            .map(|d| KanLayer {
                inputs: d[0],
                outputs: d[1],
                coef: vec![0.0; d[0] * d[1] * k],
                linear: vec![0.0; d[0] * d[1]],
                bias: vec![0.0; d[1]],
            })
            .collect();
        Self {
            note_range,
            centres: grid,
            width,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            layers,
        }
    }

    /// Checks names, sizes and values; `Err((field, reason))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, r: String| Err((format!("kan.{f}"), r));
        let [lo, hi] = self.note_range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi && (0.0..=127.0).contains(&lo)) {
            return bad(
                "note_range",
                format!("[{lo}, {hi}] must be two MIDI notes, low < high"),
            );
        }
        if self.centres.len() < 2 || self.centres.iter().any(|c| !c.is_finite()) {
            return bad("centres", "needs at least two finite centres".into());
        }
        if !(self.width.is_finite() && self.width > 0.0) {
            return bad("width", format!("is {}, must be > 0", self.width));
        }
        for o in &self.outputs {
            if !KAN_OUTPUTS.iter().any(|(n, _)| n == o) {
                let known: Vec<_> = KAN_OUTPUTS.iter().map(|(n, _)| *n).collect();
                return bad(
                    "outputs",
                    format!("`{o}` is not one of {}", known.join(", ")),
                );
            }
        }
        if self.layers.is_empty() {
            return bad("layers", "needs at least one layer".into());
        }
        let k = self.centres.len();
        let mut width = 2;
        for (i, l) in self.layers.iter().enumerate() {
            let f = |name: &str| format!("layers[{i}].{name}");
            if l.inputs != width {
                return bad(
                    &f("inputs"),
                    format!("is {}, the previous layer gives {width}", l.inputs),
                );
            }
            let edges = l.inputs * l.outputs;
            for (name, v, n) in [
                ("coef", &l.coef, edges * k),
                ("linear", &l.linear, edges),
                ("bias", &l.bias, l.outputs),
            ] {
                if v.len() != n {
                    return bad(&f(name), format!("has {} values, needs {n}", v.len()));
                }
                if v.iter().any(|x| !x.is_finite()) {
                    return bad(&f(name), "holds NaN or infinity".into());
                }
            }
            width = l.outputs;
        }
        if width != self.outputs.len() {
            return bad(
                "outputs",
                format!(
                    "names {} outputs, the last layer has {width}",
                    self.outputs.len()
                ),
            );
        }
        Ok(())
    }

    /// The normalised inputs for a note and velocity.
    pub fn inputs(&self, note: f64, velocity: f64) -> [f64; 2] {
        let [lo, hi] = self.note_range;
        let x = (2.0 * (note - lo) / (hi - lo) - 1.0)
            .clamp(-1.0 - NOTE_EXTRAPOLATION, 1.0 + NOTE_EXTRAPOLATION);
        [x, 2.0 * velocity.clamp(0.0, 1.0) - 1.0]
    }

    /// Evaluates the network on normalised inputs; `trace` (if given)
    /// receives every layer's input vector, for training.
    pub fn forward(&self, inputs: [f64; 2], mut trace: Option<&mut Vec<Vec<f64>>>) -> Vec<f64> {
        let mut x: Vec<f64> = inputs.to_vec();
        let last = self.layers.len() - 1;
        for (li, l) in self.layers.iter().enumerate() {
            if let Some(t) = trace.as_deref_mut() {
                t.push(x.clone());
            }
            let mut y = l.bias.clone();
            for (o, yo) in y.iter_mut().enumerate() {
                for (i, &xi) in x.iter().enumerate() {
                    let e = o * l.inputs + i;
                    *yo += l.linear[e] * xi + self.rbf_sum(&l.coef[e * self.centres.len()..], xi);
                }
            }
            if li < last {
                y.iter_mut().for_each(|v| *v = v.tanh());
            }
            x = y;
        }
        x
    }

    fn rbf_sum(&self, c: &[f64], x: f64) -> f64 {
        self.centres
            .iter()
            .zip(c)
            .map(|(&m, &ck)| ck * self.rbf(x, m))
            .sum()
    }

    fn rbf(&self, x: f64, centre: f64) -> f64 {
        let d = (x - centre) / self.width;
        (-d * d).exp()
    }

    /// What the network says about `note` at `velocity` (0..1), with every
    /// output clamped to its documented range.
    pub fn shape(&self, note: f64, velocity: f64) -> NoteShape {
        let out = self.forward(self.inputs(note, velocity), None);
        let mut s = NoteShape::default();
        let (mut sx, mut sy) = (None, None);
        for (name, &v) in self.outputs.iter().zip(&out) {
            match name.as_str() {
                "detune_cents" => s.detune_cents = v.clamp(-100.0, 100.0),
                "damping_log2" => s.damping = v.clamp(-2.0, 2.0).exp2(),
                "contact_log2" => s.contact = v.clamp(-2.0, 2.0).exp2(),
                "strike_x" => sx = Some(v.clamp(0.0, 1.0)),
                "strike_y" => sy = Some(v.clamp(0.0, 1.0)),
                "gain_db" => s.gain_db = v.clamp(-24.0, 24.0),
                _ => {}
            }
        }
        if sx.is_some() || sy.is_some() {
            s.strike = Some((sx.unwrap_or(0.5), sy.unwrap_or(0.5)));
        }
        s
    }

    /// Fits the network to `samples` — (note, velocity, target outputs in
    /// the order of `self.outputs`) — by Adam on the mean squared error
    /// (each output scaled by `scales`) plus a ridge penalty
    /// ([`RIDGE_COEF`] on the radial-basis coefficients, [`RIDGE_LINEAR`] on
    /// the linear edges), `iterations` full-batch steps.
    /// Returns the final root-mean-square error in scaled units.
    pub fn fit(
        &mut self,
        samples: &[(f64, f64, Vec<f64>)],
        scales: &[f64],
        iterations: usize,
        learning_rate: f64,
    ) -> f64 {
        if self.layers.len() == 1 {
            return self.fit_ridge(samples, scales);
        }
        let n_params = self.param_count();
        let (mut m, mut v) = (vec![0.0; n_params], vec![0.0; n_params]);
        let (b1, b2, eps) = (0.9, 0.999, 1e-12);
        let mut rms = 0.0;
        for it in 1..=iterations {
            let mut grad = vec![0.0; n_params];
            let mut sq = 0.0;
            for (note, vel, target) in samples {
                let inputs = self.inputs(*note, *vel);
                let mut trace = Vec::new();
                let out = self.forward(inputs, Some(&mut trace));
                let d: Vec<f64> = out
                    .iter()
                    .zip(target)
                    .zip(scales)
                    .map(|((o, t), s)| (o - t) / s)
                    .collect();
                sq += d.iter().map(|x| x * x).sum::<f64>();
                let dl: Vec<f64> = d
                    .iter()
                    .zip(scales)
                    .map(|(x, s)| 2.0 * x / s / samples.len() as f64)
                    .collect();
                self.backward(&trace, dl, &mut grad);
            }
            rms = (sq / (samples.len() * self.outputs.len()).max(1) as f64).sqrt();
            // Ridge: the simplest network that fits. Radial bases cost the
            // most (with two notes they would make a bump at each), linear
            // edges little (a trend between notes), biases nothing (so an
            // input that never varied, the velocity, is left out).
            let mut off = 0;
            for l in &self.layers {
                for (j, &c) in l.coef.iter().enumerate() {
                    grad[off + j] += 2.0 * RIDGE_COEF * c;
                }
                off += l.coef.len();
                for (j, &c) in l.linear.iter().enumerate() {
                    grad[off + j] += 2.0 * RIDGE_LINEAR * c;
                }
                off += l.linear.len() + l.bias.len();
            }
            let lr = learning_rate
                * 0.5
                * (1.0 + (std::f64::consts::PI * it as f64 / iterations as f64).cos());
            let mut params = self.params();
            for i in 0..n_params {
                m[i] = b1 * m[i] + (1.0 - b1) * grad[i];
                v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i];
                let mh = m[i] / (1.0 - b1.powi(it as i32));
                let vh = v[i] / (1.0 - b2.powi(it as i32));
                params[i] -= lr * mh / (vh.sqrt() + eps);
            }
            self.set_params(&params);
        }
        rms
    }

    /// The exact minimiser of [`fit`](Self::fit)'s objective for a network
    /// of one layer, which is linear in its parameters: per output, ridge
    /// regression on the features (1, x, φ_k(x) for each input), the
    /// penalty on the scaled parameters. Returns the RMS error (scaled).
    fn fit_ridge(&mut self, samples: &[(f64, f64, Vec<f64>)], scales: &[f64]) -> f64 {
        let k = self.centres.len();
        let inputs = self.layers[0].inputs;
        // Feature order: bias, then per input: linear, k radial bases.
        let n = 1 + inputs * (1 + k);
        let features = |x: [f64; 2]| -> Vec<f64> {
            let mut f = Vec::with_capacity(n);
            f.push(1.0);
            for &xi in x.iter().take(inputs) {
                f.push(xi);
                f.extend(self.centres.iter().map(|&mu| self.rbf(xi, mu)));
            }
            f
        };
        let rows: Vec<Vec<f64>> = samples
            .iter()
            .map(|(note, vel, _)| features(self.inputs(*note, *vel)))
            .collect();
        let penalty: Vec<f64> = (0..n)
            .map(|j| match j {
                0 => 0.0,
                j if (j - 1) % (1 + k) == 0 => RIDGE_LINEAR,
                _ => RIDGE_COEF,
            })
            .collect();
        let count = samples.len().max(1) as f64;
        let mut gram = vec![vec![0.0; n]; n];
        for r in &rows {
            for a in 0..n {
                for b in 0..n {
                    gram[a][b] += r[a] * r[b] / count;
                }
            }
        }
        for (j, p) in penalty.iter().enumerate() {
            // A tiny floor keeps the bias's row solvable with no samples.
            gram[j][j] += p.max(1e-12);
        }
        let mut sq = 0.0;
        for o in 0..self.layers[0].outputs {
            let scale = scales.get(o).copied().unwrap_or(1.0);
            let mut rhs = vec![0.0; n];
            for (r, (_, _, t)) in rows.iter().zip(samples) {
                for a in 0..n {
                    rhs[a] += r[a] * t[o] / scale / count;
                }
            }
            let w = solve(gram.clone(), rhs);
            let l = &mut self.layers[0];
            l.bias[o] = w[0] * scale;
            for i in 0..inputs {
                let base = 1 + i * (1 + k);
                let e = o * inputs + i;
                l.linear[e] = w[base] * scale;
                for kk in 0..k {
                    l.coef[e * k + kk] = w[base + 1 + kk] * scale;
                }
            }
            for (r, (_, _, t)) in rows.iter().zip(samples) {
                let y: f64 = r.iter().zip(&w).map(|(a, b)| a * b).sum();
                sq += (y - t[o] / scale).powi(2);
            }
        }
        (sq / (samples.len() * self.outputs.len()).max(1) as f64).sqrt()
    }

    /// Accumulates into `grad` the gradient of a loss whose derivative with
    /// respect to the outputs is `dout`, given the layer inputs in `trace`.
    fn backward(&self, trace: &[Vec<f64>], mut dout: Vec<f64>, grad: &mut [f64]) {
        let k = self.centres.len();
        let offsets = self.layer_offsets();
        for (li, l) in self.layers.iter().enumerate().rev() {
            let x = &trace[li];
            let off = offsets[li];
            let (n_coef, n_lin) = (l.coef.len(), l.linear.len());
            let mut dx = vec![0.0; l.inputs];
            for o in 0..l.outputs {
                let g = dout[o];
                grad[off + n_coef + n_lin + o] += g;
                for (i, &xi) in x.iter().enumerate() {
                    let e = o * l.inputs + i;
                    grad[off + n_coef + e] += g * xi;
                    let mut dphi = l.linear[e];
                    for (kk, &mu) in self.centres.iter().enumerate() {
                        let r = self.rbf(xi, mu);
                        grad[off + e * k + kk] += g * r;
                        dphi +=
                            l.coef[e * k + kk] * r * (-2.0 * (xi - mu) / (self.width * self.width));
                    }
                    dx[i] += g * dphi;
                }
            }
            if li > 0 {
                // x = tanh(pre): d pre = dx · (1 − x²).
                dout = dx
                    .iter()
                    .zip(x)
                    .map(|(d, xv)| d * (1.0 - xv * xv))
                    .collect();
            }
        }
    }

    fn layer_offsets(&self) -> Vec<usize> {
        let mut off = 0;
        self.layers
            .iter()
            .map(|l| {
                let o = off;
                off += l.coef.len() + l.linear.len() + l.bias.len();
                o
            })
            .collect()
    }

    /// Number of trainable values.
    pub fn param_count(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.coef.len() + l.linear.len() + l.bias.len())
            .sum()
    }

    /// All trainable values, layer by layer (coef, linear, bias).
    pub fn params(&self) -> Vec<f64> {
        self.layers
            .iter()
            .flat_map(|l| l.coef.iter().chain(&l.linear).chain(&l.bias).copied())
            .collect()
    }

    /// Sets the trainable values (the order of [`params`](Self::params)).
    pub fn set_params(&mut self, p: &[f64]) {
        let mut it = p.iter().copied();
        for l in &mut self.layers {
            for v in l.coef.iter_mut().chain(&mut l.linear).chain(&mut l.bias) {
                *v = it.next().unwrap_or(0.0);
            }
        }
    }
}

impl NoteShape {
    /// Applies the shape to a request built from the instrument's defaults
    /// (before the caller's own parameters): detunes the note, scales the
    /// damping, contact time and gain, and sets the strike position unless
    /// the request already overrides the excitation.
    pub fn apply(&self, req: &mut NoteRequest, default_shape: crate::types::ExciteShape) {
        req.note += self.detune_cents / 100.0;
        req.damping *= self.damping as f32;
        req.contact_scale *= self.contact as f32;
        req.gain *= 10f32.powf(self.gain_db as f32 / 20.0);
        if let (Some((x, y)), None) = (self.strike, req.excite) {
            req.excite = Some((default_shape, x as f32, y as f32));
        }
    }
}

/// Solves `a · x = b` (square, non-singular) by Gaussian elimination with
/// partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap_or(c);
        a.swap(c, p);
        b.swap(c, p);
        let d = a[c][c];
        if d.abs() < 1e-300 {
            continue;
        }
        for r in c + 1..n {
            let f = a[r][c] / d;
            if f != 0.0 {
                let (top, bottom) = a.split_at_mut(r);
                for (x, p) in bottom[0][c..].iter_mut().zip(&top[c][c..]) {
                    *x -= f * p;
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * x[c]).sum();
        x[r] = if a[r][r].abs() < 1e-300 {
            0.0
        } else {
            (b[r] - s) / a[r][r]
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random-ish but deterministic parameters.
    fn scrambled(mut k: KanSpec) -> KanSpec {
        let p: Vec<f64> = (0..k.param_count())
            .map(|i| ((i * 7919 + 13) % 97) as f64 / 97.0 - 0.5)
            .collect();
        k.set_params(&p);
        k
    }

    /// The backward pass is the gradient of the forward pass (central
    /// differences, every parameter).
    #[test]
    fn backward_matches_finite_differences() {
        let k = scrambled(KanSpec::zeroed(
            [40.0, 80.0],
            &["damping_log2", "gain_db"],
            3,
            5,
        ));
        let inputs = k.inputs(55.0, 0.7);
        let dout = vec![0.3, -1.1];
        let loss = |k: &KanSpec| {
            let o = k.forward(inputs, None);
            o[0] * dout[0] + o[1] * dout[1]
        };
        let mut trace = Vec::new();
        k.forward(inputs, Some(&mut trace));
        let mut grad = vec![0.0; k.param_count()];
        k.backward(&trace, dout.clone(), &mut grad);
        let p = k.params();
        for i in 0..p.len() {
            let h = 1e-6;
            let (mut a, mut b) = (k.clone(), k.clone());
            let (mut pa, mut pb) = (p.clone(), p.clone());
            pa[i] += h;
            pb[i] -= h;
            a.set_params(&pa);
            b.set_params(&pb);
            let fd = (loss(&a) - loss(&b)) / (2.0 * h);
            assert!(
                (fd - grad[i]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "param {i}: fd {fd} vs backprop {}",
                grad[i]
            );
        }
    }

    /// The fit recovers a smooth per-note curve (what the trainer hands it:
    /// a few notes, decay shorter up the range) and interpolates between
    /// the training notes.
    #[test]
    fn fit_interpolates_a_smooth_curve() {
        let truth = |n: f64| -0.8 + 1.6 * (n - 48.0) / 24.0; // damping_log2
        let samples: Vec<_> = [48.0, 52.0, 60.0, 64.0, 72.0]
            .iter()
            .map(|&n| (n, 0.7, vec![truth(n)]))
            .collect();
        let mut k = KanSpec::zeroed([48.0, 72.0], &["damping_log2"], 0, 6);
        let rms = k.fit(&samples, &[1.0], 600, 0.05);
        assert!(rms < 0.02, "training error {rms}");
        for n in [50.0, 56.0, 68.0] {
            let got = k.forward(k.inputs(n, 0.7), None)[0];
            assert!(
                (got - truth(n)).abs() < 0.1,
                "note {n}: {got} vs {}",
                truth(n)
            );
        }
    }

    /// Two trained notes (what a two-note instrument hands the fit): the
    /// network goes straight between them, no bump or dip in the middle
    /// (the radial bases are penalised, the linear edge is nearly free),
    /// and it does not depend on the velocity it never saw vary.
    #[test]
    fn two_notes_interpolate_linearly() {
        let samples = vec![(60.0, 0.8, vec![8.0, -0.4]), (72.0, 0.8, vec![10.0, 0.6])];
        let mut k = KanSpec::zeroed([60.0, 72.0], &["gain_db", "damping_log2"], 0, 5);
        let rms = k.fit(&samples, &[6.0, 1.0], 3000, 0.05);
        assert!(rms < 0.02, "training error {rms}");
        for i in 0..=12 {
            let n = 60.0 + i as f64;
            let t = i as f64 / 12.0;
            for vel in [0.8, 0.3, 1.0] {
                let out = k.forward(k.inputs(n, vel), None);
                let want = [8.0 + 2.0 * t, -0.4 + t];
                assert!(
                    (out[0] - want[0]).abs() < 0.3 && (out[1] - want[1]).abs() < 0.05,
                    "note {n} velocity {vel}: {out:?} vs {want:?}"
                );
            }
        }
    }

    /// Shapes are clamped and applied on top of the defaults only.
    #[test]
    fn shape_is_clamped_and_respects_overrides() {
        let mut k = KanSpec::zeroed([40.0, 80.0], &["detune_cents", "strike_x"], 0, 3);
        k.layers[0].bias = vec![500.0, 0.25];
        let s = k.shape(60.0, 0.5);
        assert_eq!(s.detune_cents, 100.0);
        assert_eq!(s.strike, Some((0.25, 0.5)));
        let mut req = NoteRequest::new(60.0, 0.5);
        s.apply(&mut req, crate::types::ExciteShape::Strike);
        assert_eq!(req.note, 61.0);
        assert_eq!(req.excite.map(|e| e.1), Some(0.25));
        let mut fixed = NoteRequest::new(60.0, 0.5);
        fixed.excite = Some((crate::types::ExciteShape::Pluck, 0.9, 0.9));
        s.apply(&mut fixed, crate::types::ExciteShape::Strike);
        assert_eq!(fixed.excite.map(|e| e.1), Some(0.9));
    }

    /// Bad networks are refused with the field at fault.
    #[test]
    fn validation_names_the_field() {
        let mut k = KanSpec::zeroed([40.0, 80.0], &["gain_db"], 2, 3);
        assert!(k.validate().is_ok());
        k.layers[1].coef.pop();
        assert_eq!(k.validate().unwrap_err().0, "kan.layers[1].coef");
        let mut k = KanSpec::zeroed([40.0, 80.0], &["loudness"], 0, 3);
        assert_eq!(k.validate().unwrap_err().0, "kan.outputs");
        k.outputs = vec!["gain_db".into()];
        k.layers[0].bias[0] = f64::NAN;
        assert_eq!(k.validate().unwrap_err().0, "kan.layers[0].bias");
    }
}
