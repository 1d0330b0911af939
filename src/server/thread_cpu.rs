//! The calling thread's own CPU time: what a block really cost, apart from
//! time the thread spent descheduled (preempted, or its virtual CPU not
//! run by a hypervisor) while the wall clock ran on.
//!
//! # Real-time safety
//! One `clock_gettime` (no allocation, lock or I/O; it never blocks).

use std::time::Duration;

/// CPU time the calling thread has used so far (zero where the clock is
/// unavailable).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Spins until this thread has used `d` of CPU; returns what it used.
    fn spin_for_cpu(d: Duration) -> Duration {
        let c0 = thread_cpu_time();
        let mut x = 0u64;
        while thread_cpu_time() - c0 < d {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        thread_cpu_time() - c0
    }

    #[test]
    fn sleeping_costs_no_cpu_and_spinning_does() {
        let c0 = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(30));
        let slept = thread_cpu_time() - c0;
        assert!(
            slept < Duration::from_millis(10),
            "{slept:?} of CPU while asleep"
        );
        // Its own spinning counts, and never faster than the wall clock.
        let t = Instant::now();
        let used = spin_for_cpu(Duration::from_millis(40));
        let wall = t.elapsed();
        assert!(used >= Duration::from_millis(40), "{used:?}");
        assert!(
            wall + Duration::from_millis(1) >= used,
            "{used:?} of CPU in {wall:?} of wall clock"
        );
    }

    /// Per thread, not per process: another thread's spinning is not ours.
    #[test]
    fn another_threads_cpu_is_not_counted() {
        let c0 = thread_cpu_time();
        let theirs = std::thread::spawn(|| spin_for_cpu(Duration::from_millis(40)))
            .join()
            .unwrap();
        let ours = thread_cpu_time() - c0;
        assert!(theirs >= Duration::from_millis(40), "{theirs:?}");
        assert!(
            ours < Duration::from_millis(10),
            "{ours:?} counted here while another thread used {theirs:?}"
        );
    }
}
