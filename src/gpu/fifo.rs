//! The GPU engine's output FIFO: finished, mixed blocks wait here to be
//! played (double-buffered readback lags the output by a block).
//!
//! # Real-time safety
//! Fixed capacity: nothing allocates after `Fifo::new`.

/// Stereo FIFO of mixed output (fixed capacity, no allocation after `new`).
pub(crate) struct Fifo {
    l: Vec<f32>,
    r: Vec<f32>,
    head: usize,
    len: usize,
}

impl Fifo {
    /// An empty FIFO of `cap` frames.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            l: vec![0.0; cap],
            r: vec![0.0; cap],
            head: 0,
            len: 0,
        }
    }
    /// Empties it.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
    /// Queues `n` frames of silence.
    pub(crate) fn push_zeros(&mut self, n: usize) {
        let cap = self.l.len();
        assert!(self.len + n <= cap, "GPU output FIFO overflow");
        for k in 0..n {
            let i = (self.head + self.len + k) % cap;
            self.l[i] = 0.0;
            self.r[i] = 0.0;
        }
        self.len += n;
    }
    /// Queues the frames of `l` and `r`.
    pub(crate) fn push(&mut self, l: &[f32], r: &[f32]) {
        let cap = self.l.len();
        assert!(self.len + l.len() <= cap, "GPU output FIFO overflow");
        for (k, (a, b)) in l.iter().zip(r).enumerate() {
            let i = (self.head + self.len + k) % cap;
            self.l[i] = *a;
            self.r[i] = *b;
        }
        self.len += l.len();
    }
    /// Fills `l`/`r` (silence for what is missing, which cannot happen
    /// while the pushes keep pace).
    pub(crate) fn pop(&mut self, l: &mut [f32], r: &mut [f32]) {
        let cap = self.l.len();
        for (k, (a, b)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
            if k < self.len {
                let i = (self.head + k) % cap;
                *a = self.l[i];
                *b = self.r[i];
            } else {
                *a = 0.0;
                *b = 0.0;
            }
        }
        let n = l.len().min(self.len);
        self.head = (self.head + n) % cap;
        self.len -= n;
    }
}
