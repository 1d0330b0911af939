//! Real-time scheduling for the threads that render audio.
//!
//! Audio software on Linux runs its render threads under `SCHED_FIFO` so
//! that ordinary processes (a compiler, a browser, a backup) cannot preempt
//! them mid-block. The kernel's RT throttling (95% by default) still keeps a
//! runaway thread from locking the machine. Where the process may not raise
//! its priority (no CAP_SYS_NICE, no `rtprio` limit) the threads stay at
//! normal priority and the server says so once.

/// Why a thread cannot be promoted or pinned.
#[derive(Debug, thiserror::Error)]
pub enum PriorityError {
    /// The system refused (no CAP_SYS_NICE, no `rtprio` limit, a CPU not
    /// allowed): its error.
    #[error(transparent)]
    Os(std::io::Error),
    /// Real-time scheduling is not set up on this platform.
    #[error("real-time scheduling is only set up on Linux")]
    PriorityUnsupported,
    /// Thread pinning is not set up on this platform.
    #[error("thread pinning is only set up on Linux")]
    PinUnsupported,
}

/// Scheduling priorities of the server's threads (`SCHED_FIFO`, 1..=99):
/// the audio clock above the engine, the engine above everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealtimePriority {
    /// The engine thread and its voice workers.
    pub engine: i32,
    /// The null back-end's clock thread (cpal's callback threads are the
    /// host's to schedule).
    pub audio: i32,
}

impl RealtimePriority {
    /// Priorities based on `engine` (the audio thread gets `engine + 5`).
    pub fn new(engine: i32) -> Self {
        let engine = engine.clamp(1, 94);
        Self {
            engine,
            audio: engine + 5,
        }
    }
}

/// Puts the thread of `handle` under `SCHED_FIFO` at `priority`.
///
/// Called from the control thread right after the thread starts (a system
/// call; never from a real-time loop).
pub fn promote<T>(handle: &std::thread::JoinHandle<T>, priority: i32) -> Result<(), PriorityError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: the handle's thread is alive until joined (we hold the
        // handle), and the parameter is valid.
        let rc =
            unsafe { libc::pthread_setschedparam(handle.as_pthread_t(), libc::SCHED_FIFO, &param) };
        if rc == 0 {
            Ok(())
        } else {
            Err(PriorityError::Os(std::io::Error::from_raw_os_error(rc)))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (handle, priority);
        Err(PriorityError::PriorityUnsupported)
    }
}

/// Pins the thread of `handle` to CPU `cpu` (modulo the CPUs present).
///
/// Render threads at the same real-time priority must not share a core: a
/// thread spinning at the block barrier would keep its partner waiting.
pub fn pin<T>(handle: &std::thread::JoinHandle<T>, cpu: usize) -> Result<(), PriorityError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: a zeroed cpu_set_t is a valid empty set; the handle's thread
        // is alive while we hold the handle.
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu % n, &mut set);
            libc::pthread_setaffinity_np(
                handle.as_pthread_t(),
                std::mem::size_of::<libc::cpu_set_t>(),
                &set,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(PriorityError::Os(std::io::Error::from_raw_os_error(rc)))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (handle, cpu);
        Err(PriorityError::PinUnsupported)
    }
}
