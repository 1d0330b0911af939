// One block of audio for many voices: one workgroup per voice. This is the
// kernel both variants share; each variant adds the file that says where
// the auxiliary field w (the field every step reads at the neighbours of
// each node) is read from (src/gpu/layout.rs joins the two at build time):
//   voice_block_global.wgsl: global (storage) memory, so any mesh size
//     works (up to 256×256);
//   voice_block_wg.wgsl: a copy in workgroup memory, for meshes whose
//     padded layout fits (`WG_FLOATS` floats).
// A variant defines `w_changed` (after the auxiliary field was rebuilt as a
// whole), `neighbour_sum` (the sum of w at a node's neighbours) and
// `step_done` (after a step wrote u⁺ and the new w). Same arithmetic, same
// order: both variants' outputs are equal bit for bit.
//
// Per voice and block the host uploads a header, the coefficient updates
// of its control ticks, the pickup taps of every output sample, the
// excitation windows with their per-step forces, the bow's steps (node in
// the header; force, velocity and g per step in `forces`), and plucks. The
// kernel:
//   1. clears the state of a voice that (re)started,
//   2. applies the updates due before the plucks (a start's coefficients),
//   3. adds the plucks to u and u⁻ and rebuilds the auxiliary field,
//   4. for every output sample: applies the coefficient updates due at it
//      (fill_coefficients: morph blend, damping scale, release σ₀), runs
//      `oversample` steps `u⁺ = C·u − D·u⁻ + E·Σw`, injects the strikes
//      after each step, solves the bow at its node (`bow_delta`: it depends
//      on the state, so it cannot be precomputed), and averages the two bilinear pickups over the steps.
// The arithmetic follows src/physics/scheme.rs term by term (same order of
// operations), so the output matches the CPU engine.
//
// State of one voice slot at `h.state`, `h.cap` floats per field:
//   u0, u1, w0, w1, c, d, e.
// Bank maps of one level at `h.maps`, `h.len` floats per field:
//   stiffness, sigma0, diag (padded layout, zero outside the body).

struct VoiceHeader {
    width: u32,
    height: u32,
    stride: u32,
    len: u32,
    maps: u32,
    morph_maps: u32,
    state: u32,
    cap: u32,
    out: u32,
    samples: u32,
    oversample: u32,
    flip: u32,
    reset: u32,
    first_update: u32,
    n_updates: u32,
    n_pre: u32,
    first_window: u32,
    n_plucks: u32,
    n_strikes: u32,
    first_tap: u32,
    ab: f32,
    b: f32,
    bow_node: u32,
    bow_steps: u32,
}

struct CoefUpdate {
    at: u32,
    morph: u32,
    a: f32,
    b: f32,
    kk: f32,
    k: f32,
    scale: f32,
    extra: f32,
    t: f32,
    ab: f32,
    pad0: u32,
    pad1: u32,
}

struct TapPair {
    il: u32,
    wl0: f32,
    wl1: f32,
    wl2: f32,
    wl3: f32,
    ir: u32,
    wr0: f32,
    wr1: f32,
    wr2: f32,
    wr3: f32,
}

struct Window {
    origin: u32,
    nx: u32,
    ny: u32,
    force: u32,
    scale: f32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    wx: array<f32, 64>,
    wy: array<f32, 64>,
}

override WG: u32 = 256u;
const MAX_STRIKES: u32 = 4u;

@group(0) @binding(0) var<storage, read> headers: array<VoiceHeader>;
@group(0) @binding(1) var<storage, read> updates: array<CoefUpdate>;
@group(0) @binding(2) var<storage, read> taps: array<TapPair>;
@group(0) @binding(3) var<storage, read> windows: array<Window>;
@group(0) @binding(4) var<storage, read> forces: array<f32>;
@group(0) @binding(5) var<storage, read> maps: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

// Offsets of a voice's fields: the current state u, the previous one u⁻
// (where a step writes u⁺), the current auxiliary field w and the next.
struct Fields {
    cur: u32,
    prev: u32,
    w: u32,
    w_next: u32,
}

// The fields of the voice of `h` when `flip` says which buffer of each
// pair is current.
fn fields(h: VoiceHeader, flip: u32) -> Fields {
    let base = h.state;
    let cap = h.cap;
    if flip != 0u {
        return Fields(base + cap, base, base + 3u * cap, base + 2u * cap);
    }
    return Fields(base, base + cap, base + 2u * cap, base + 3u * cap);
}

fn sync() {
    storageBarrier();
    workgroupBarrier();
}

// fill_coefficients for this thread's nodes, then the auxiliary field
// w = (a+b)·u − b·u⁻ of the current state.
fn apply_update(h: VoiceHeader, u: CoefUpdate, flip: u32, tid: u32) {
    let cap = h.cap;
    let base = h.state;
    let o = select(h.maps, h.morph_maps, u.morph != 0u);
    let len = h.len;
    let f = fields(h, flip);
    let cur = f.cur;
    let prev = f.prev;
    let w = f.w;
    for (var i = tid; i < len; i += WG) {
        let s0 = maps[h.maps + i];
        var c = 0.0;
        var d = 0.0;
        var e = 0.0;
        if s0 != 0.0 {
            let sig_m = maps[h.maps + len + i];
            let s = s0 + u.t * (max(maps[o + i], 1e-6) - s0);
            let sig0 = (sig_m + u.t * (maps[o + len + i] - sig_m)) * u.scale + u.extra;
            let n = maps[h.maps + 2u * len + i];
            let inv = 1.0 / (1.0 + sig0 * u.k);
            c = (2.0 - u.kk - u.ab * s * n) * inv;
            d = (1.0 - sig0 * u.k - u.b * s * n) * inv;
            e = s * inv;
        }
        state[base + 4u * cap + i] = c;
        state[base + 5u * cap + i] = d;
        state[base + 6u * cap + i] = e;
        state[w + i] = u.ab * state[cur + i] - u.b * state[prev + i];
    }
}

// exp(x) for x ≤ 1 as src/physics/bow.rs exp_approx writes it out (same
// operations, same literals).
fn exp_approx(x: f32) -> f32 {
    let t = clamp(x, -80.0f, 1.0f) * 1.442695f;
    let n = floor(t);
    let f = (t - n) * 0.6931472f;
    let p = 1.0f
        + f * (1.0f
            + f * (0.5f
                + f * (0.16666667f
                    + f * (0.041666668f
                        + f * (0.008333334f
                            + f * (0.0013888889f + f * (0.0001984127f + f * 2.4801588e-5f)))))));
    return p * bitcast<f32>(u32(i32(n) + 127) << 23u);
}

// Bilbao's friction characteristic φ(η) = √(2A)·η·exp(−Aη² + 1/2) (A = 100)
// and its derivative (src/physics/bow.rs friction).
fn friction(eta: f32) -> vec2<f32> {
    let a2 = 100.0f * eta * eta;
    let e = exp_approx(0.5f - a2);
    return vec2<f32>(14.142136f * eta * e, 14.142136f * e * (1.0f - 2.0f * a2));
}

// The bow's displacement at its node (src/physics/bow.rs solve): u_free the
// node's u⁺ without it, u_prev its u⁻, e its E, the step's force, bow
// velocity and g. Bracketed Newton, fixed iteration count.
fn bow_delta(u_free: f32, u_prev: f32, e: f32, force: f32, vel: f32, g: f32) -> f32 {
    let eta_free = (u_free - u_prev) * g - vel;
    let q = e * force * g;
    var lo = min(eta_free, 0.0f);
    var hi = max(eta_free, 0.0f);
    let d0 = friction(0.0f).y;
    var eta = eta_free / (1.0f + q * d0);
    for (var it = 0u; it < 8u; it++) {
        let fr = friction(eta);
        let r = eta + q * fr.x - eta_free;
        lo = select(lo, eta, r < 0.0f);
        hi = select(eta, hi, r < 0.0f);
        let next = eta - r / max(1.0f + q * fr.y, 1e-6f);
        let inside = next >= lo && next <= hi;
        eta = select(0.5f * (lo + hi), next, inside);
    }
    return -e * force * friction(eta).x;
}

fn tap_read(i: u32, w0: f32, w1: f32, w2: f32, w3: f32, stride: u32, u: u32) -> f32 {
    return w0 * state[u + i] + w1 * state[u + i + 1u] + w2 * state[u + i + stride]
        + w3 * state[u + i + stride + 1u];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let h = headers[wid.x];
    let cap = h.cap;
    let base = h.state;
    let len = h.len;
    let stride = h.stride;
    if h.reset != 0u {
        for (var i = tid; i < len; i += WG) {
            state[base + i] = 0.0;
            state[base + cap + i] = 0.0;
            state[base + 2u * cap + i] = 0.0;
            state[base + 3u * cap + i] = 0.0;
        }
        sync();
    }
    var flip = h.flip;
    var ab = h.ab;
    var b = h.b;
    var upd = h.first_update;
    let upd_end = h.first_update + h.n_updates;
    for (var k = 0u; k < h.n_pre; k++) {
        let u = updates[upd];
        apply_update(h, u, flip, tid);
        ab = u.ab;
        b = u.b;
        upd += 1u;
        sync();
    }
    // Plucks: displacement added to u and u⁻, then the auxiliary field.
    if h.n_plucks > 0u {
        let f = fields(h, flip);
        let cur = f.cur;
        let prev = f.prev;
        let w = f.w;
        for (var k = 0u; k < h.n_plucks; k++) {
            let win = h.first_window + k;
            let nx = windows[win].nx;
            let total = nx * windows[win].ny;
            let s = windows[win].scale;
            for (var q = tid; q < total; q += WG) {
                let i = q % nx;
                let j = q / nx;
                let p = windows[win].origin + j * stride + i;
                if maps[h.maps + p] > 0.0 {
                    let dd = s * windows[win].wx[i] * windows[win].wy[j];
                    state[cur + p] += dd;
                    state[prev + p] += dd;
                }
            }
            sync();
        }
        for (var i = tid; i < len; i += WG) {
            state[w + i] = ab * state[cur + i] - b * state[prev + i];
        }
        sync();
    }
    w_changed(h, flip, tid);
    // Strike windows (in slot order), as grid origins for the node test.
    let first_strike = h.first_window + h.n_plucks;
    let n_strikes = min(h.n_strikes, MAX_STRIKES);
    let width = h.width;
    let nodes = width * h.height;
    let one_d = h.height == 1u;
    let m = h.oversample;
    let inv_m = 1.0 / f32(m);
    var step = 0u;
    for (var smp = 0u; smp < h.samples; smp++) {
        loop {
            if upd >= upd_end || updates[upd].at != smp {
                break;
            }
            let u = updates[upd];
            apply_update(h, u, flip, tid);
            ab = u.ab;
            b = u.b;
            upd += 1u;
            sync();
            w_changed(h, flip, tid);
        }
        var acc_l = 0.0;
        var acc_r = 0.0;
        for (var mm = 0u; mm < m; mm++) {
            let f = fields(h, flip);
            let cur = f.cur;
            let nxt = f.prev;
            let wc = f.w;
            let wn = f.w_next;
            for (var q = tid; q < nodes; q += WG) {
                let x = q % width;
                let y = q / width;
                let p = (y + 1u) * stride + x + 1u;
                let sw = neighbour_sum(wc, p, stride, one_d);
                let uc = state[cur + p];
                var n = (state[base + 4u * cap + p] * uc - state[base + 5u * cap + p] * state[nxt + p])
                    + state[base + 6u * cap + p] * sw;
                var wo = ab * n - b * uc;
                for (var k = 0u; k < n_strikes; k++) {
                    let win = first_strike + k;
                    let origin = windows[win].origin;
                    let i = i32(x + 1u) - i32(origin % stride);
                    let j = i32(y + 1u) - i32(origin / stride);
                    if i >= 0 && j >= 0 && u32(i) < windows[win].nx && u32(j) < windows[win].ny
                        && maps[h.maps + p] > 0.0 {
                        let f = forces[windows[win].force + step];
                        let dd = windows[win].wy[j] * f * windows[win].wx[i];
                        n += dd;
                        wo += ab * dd;
                    }
                }
                if p == h.bow_node {
                    let bs = h.bow_steps + 3u * step;
                    let dd = bow_delta(n, state[nxt + p], state[base + 6u * cap + p],
                        forces[bs], forces[bs + 1u], forces[bs + 2u]);
                    n += dd;
                    wo += ab * dd;
                }
                state[nxt + p] = n;
                state[wn + p] = wo;
            }
            sync();
            step_done(wn, nodes, width, stride, tid);
            if tid == 0u {
                let t = taps[h.first_tap + smp];
                acc_l += tap_read(t.il, t.wl0, t.wl1, t.wl2, t.wl3, stride, nxt);
                acc_r += tap_read(t.ir, t.wr0, t.wr1, t.wr2, t.wr3, stride, nxt);
            }
            flip ^= 1u;
            step += 1u;
        }
        if tid == 0u {
            out[h.out + 2u * smp] = acc_l * inv_m;
            out[h.out + 2u * smp + 1u] = acc_r * inv_m;
        }
    }
}
