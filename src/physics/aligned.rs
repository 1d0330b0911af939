//! A fixed-length buffer whose first element is 32-byte aligned.
//!
//! The kernel's AVX2 loads and stores run fastest when every stream starts
//! on a 32-byte boundary (measured ~15% at 64×64 against 16-byte aligned
//! `Vec<f32>` storage); with rows a multiple of 8 values long (see
//! [`Layout`](super::body::Layout)), every row of every buffer then starts
//! aligned, and every 8-node block too, so vector loads never straddle two
//! cache lines.

use std::ops::{Deref, DerefMut};

/// Eight values, 32-byte aligned: the allocation unit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(32))]
struct Lane<T>([T; 8]);

/// A zero-initialised, 32-byte aligned buffer of `len` values; dereferences
/// to `[T]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Aligned<T> {
    lanes: Vec<Lane<T>>,
    len: usize,
}

/// The engine's buffers: aligned `f32`.
pub type AlignedF32 = Aligned<f32>;

impl<T: Copy + Default> Aligned<T> {
    /// `len` zeros (allocates).
    pub fn zeroed(len: usize) -> Self {
        Self {
            lanes: vec![Lane([T::default(); 8]); len.div_ceil(8)],
            len,
        }
    }
}

impl<T> Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        const { assert!(std::mem::size_of::<Lane<T>>() == 8 * std::mem::size_of::<T>()) };
        // SAFETY: `Lane` is `repr(C)` over `[T; 8]` without padding (checked
        // above), so the lanes are `8 × lanes.len() ≥ len` contiguous,
        // initialised values.
        unsafe { std::slice::from_raw_parts(self.lanes.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T> DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        const { assert!(std::mem::size_of::<Lane<T>>() == 8 * std::mem::size_of::<T>()) };
        // SAFETY: as in `deref`, with unique access through `&mut self`.
        unsafe { std::slice::from_raw_parts_mut(self.lanes.as_mut_ptr().cast::<T>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_zeroed_and_writable() {
        for len in [0, 1, 7, 8, 9, 4356] {
            let mut b = AlignedF32::zeroed(len);
            assert_eq!(b.len(), len);
            assert!(b.iter().all(|&v| v == 0.0));
            assert_eq!(b.as_ptr() as usize % 32, 0);
            if len > 0 {
                b[len - 1] = 3.0;
                assert_eq!(b[len - 1], 3.0);
            }
        }
        let b = Aligned::<f64>::zeroed(13);
        assert_eq!(b.as_ptr() as usize % 32, 0);
        assert_eq!(b.len(), 13);
    }
}
