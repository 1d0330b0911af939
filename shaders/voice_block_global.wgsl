// The global-memory variant of voice_block.wgsl: every step reads the
// auxiliary field w at the neighbours in global (storage) memory, so any
// mesh size works (up to 256×256).

// The auxiliary field was rebuilt as a whole: nothing to copy.
fn w_changed(h: VoiceHeader, flip: u32, tid: u32) {}

// The sum of w (global, at `wc`) at the neighbours of padded node `p`.
fn neighbour_sum(wc: u32, p: u32, stride: u32, one_d: bool) -> f32 {
    if one_d {
        return state[wc + p - 1u] + state[wc + p + 1u];
    }
    return (state[wc + p - 1u] + state[wc + p + 1u])
        + (state[wc + p - stride] + state[wc + p + stride]);
}

// A step wrote u⁺ and the new w: nothing to copy.
fn step_done(wn: u32, nodes: u32, width: u32, stride: u32, tid: u32) {}
