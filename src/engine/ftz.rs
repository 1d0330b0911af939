//! Flush-to-zero / denormals-are-zero for the duration of a render.
//!
//! Decaying meshes would otherwise reach denormal floats, which are up to
//! 100× slower on x86. The guard sets MXCSR's FTZ and DAZ bits and restores
//! them on drop. (As Firewheel and nih-plug note, changing MXCSR is formally
//! outside Rust's float model, rust-lang/rust#136469; it only affects how
//! numbers below 1.2e-38 are rounded, far below audibility.)

/// Sets FTZ/DAZ while alive.
pub struct ScopedFtz {
    #[cfg(target_arch = "x86_64")]
    old: u32,
}

impl ScopedFtz {
    /// Enables flush-to-zero for the current thread.
    #[allow(deprecated)]
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: reading and writing MXCSR has no memory effects.
            unsafe {
                let old = std::arch::x86_64::_mm_getcsr();
                std::arch::x86_64::_mm_setcsr(old | 0x8040);
                Self { old }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {}
    }
}

impl Default for ScopedFtz {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ScopedFtz {
    #[allow(deprecated)]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the previous MXCSR value.
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.old)
        };
    }
}
