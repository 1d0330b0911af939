// The workgroup-memory variant of voice_block.wgsl, for meshes whose padded
// layout fits in workgroup memory (`WG_FLOATS` floats; the engine picks it
// at load time when the device's `max_compute_workgroup_storage_size`
// allows it and the voice's mesh fits, and the global variant otherwise).
//
// The auxiliary field w is held in workgroup memory: each step reads its
// four neighbours there, writes u⁺ and the new w to global memory as
// before, and after a barrier each thread copies its own nodes' new w into
// workgroup memory (a second barrier). The other reads (u, u⁻, C, D, E) are
// each thread's own nodes. Same arithmetic, same order: the output equals
// the global variant's bit for bit.

// Floats of workgroup memory for w (31 KiB: fits lavapipe's 32 KiB).
const WG_FLOATS: u32 = 7936u;

var<workgroup> wg_w: array<f32, WG_FLOATS>;

// The auxiliary field of the current state (rebuilt as a whole: a start,
// a pluck, a coefficient update) into workgroup memory.
fn w_changed(h: VoiceHeader, flip: u32, tid: u32) {
    let w = fields(h, flip).w;
    for (var i = tid; i < h.len; i += WG) {
        wg_w[i] = state[w + i];
    }
    workgroupBarrier();
}

// The sum of w (workgroup memory) at the neighbours of padded node `p`.
fn neighbour_sum(wc: u32, p: u32, stride: u32, one_d: bool) -> f32 {
    if one_d {
        return wg_w[p - 1u] + wg_w[p + 1u];
    }
    return (wg_w[p - 1u] + wg_w[p + 1u]) + (wg_w[p - stride] + wg_w[p + stride]);
}

// Each thread's own nodes' new w (global, at `wn`) into workgroup memory
// (every thread has read its neighbours: the barrier before this call).
fn step_done(wn: u32, nodes: u32, width: u32, stride: u32, tid: u32) {
    for (var q = tid; q < nodes; q += WG) {
        let p = (q / width + 1u) * stride + q % width + 1u;
        wg_w[p] = state[wn + p];
    }
    workgroupBarrier();
}
