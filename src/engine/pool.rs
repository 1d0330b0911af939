//! A fixed pool of worker threads that render voices in parallel.
//!
//! The block loop hands the pool a job (a function of an item index) and
//! takes part in it; items are claimed with a compare-and-swap on one word
//! that holds the job's epoch and the next index, so a late worker can
//! never run an item of a finished job. Idle workers spin briefly, then
//! park; the block loop wakes them with `unpark` (a futex wake: no lock, no
//! allocation).
//!
//! # Real-time safety
//! [`WorkerPool::run`] allocates nothing and takes no lock. It waits (by
//! spinning) only for items other threads are already rendering.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};

type JobFn<'a> = dyn Fn(usize) + Sync + 'a;

struct Job<'a> {
    f: &'a JobFn<'a>,
}

struct Shared {
    /// (epoch << 32) | next index.
    claim: AtomicU64,
    job: AtomicPtr<Job<'static>>,
    total: AtomicUsize,
    done: AtomicUsize,
    quit: AtomicBool,
    /// Workers that have started (thread start-up allocates; `new` waits for it).
    ready: AtomicUsize,
}

/// Worker threads for parallel voice rendering.
pub struct WorkerPool {
    shared: Arc<Shared>,
    threads: Vec<Thread>,
    handles: Vec<JoinHandle<()>>,
    epoch: u32,
}

impl WorkerPool {
    /// Starts `workers` threads (the caller of [`run`](Self::run) is one more).
    pub fn new(workers: usize) -> Self {
        let shared = Arc::new(Shared {
            claim: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            quit: AtomicBool::new(false),
            ready: AtomicUsize::new(0),
        });
        let mut handles = Vec::new();
        for n in 0..workers {
            let s = shared.clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("neirosynth-voice-{n}"))
                    .spawn(move || worker(&s))
                    .expect("cannot start a voice worker thread"),
            );
        }
        let threads = handles.iter().map(|h| h.thread().clone()).collect();
        while shared.ready.load(Ordering::Acquire) < workers {
            std::thread::yield_now();
        }
        Self {
            shared,
            threads,
            handles,
            epoch: 0,
        }
    }

    /// Puts every worker under `SCHED_FIFO` at `priority` (see
    /// [`super::priority`]). Returns how many workers there are.
    pub fn promote(&self, priority: i32) -> Result<usize, String> {
        for h in &self.handles {
            super::priority::promote(h, priority)?;
        }
        Ok(self.handles.len())
    }

    /// Pins worker `i` to CPU `first + i` (modulo the CPUs present).
    pub fn pin(&self, first: usize) -> Result<(), String> {
        for (i, h) in self.handles.iter().enumerate() {
            super::priority::pin(h, first + i)?;
        }
        Ok(())
    }

    /// Runs `f(i)` for every `i < total` across the pool; returns when all are done.
    pub fn run(&mut self, total: usize, f: &(dyn Fn(usize) + Sync)) {
        if total == 0 {
            return;
        }
        if self.threads.is_empty() || total == 1 {
            (0..total).for_each(f);
            return;
        }
        self.epoch = self.epoch.wrapping_add(1);
        let job = Job { f };
        // SAFETY: the pointer is only dereferenced by workers that claimed an
        // item of this epoch, which cannot happen after all items are done,
        // and we wait for that below before `job` goes out of scope.
        let ptr = &job as *const Job<'_> as *mut Job<'static>;
        self.shared.done.store(0, Ordering::Relaxed);
        self.shared.total.store(total, Ordering::Relaxed);
        self.shared.job.store(ptr, Ordering::Relaxed);
        self.shared
            .claim
            .store((self.epoch as u64) << 32, Ordering::Release);
        for t in &self.threads {
            t.unpark();
        }
        work(&self.shared, self.epoch);
        // Wait for the items other threads are rendering. Spin first (they
        // finish within microseconds of each other), then yield: under
        // SCHED_FIFO a worker woken onto this thread's core runs only when
        // this thread yields (a system call, but no lock and no allocation).
        let mut spins = 0u32;
        while self.shared.done.load(Ordering::Acquire) < total {
            spins += 1;
            if spins < 1000 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        self.shared
            .job
            .store(std::ptr::null_mut(), Ordering::Relaxed);
    }
}

/// Claims and runs items of job `epoch` until none is left.
fn work(s: &Shared, epoch: u32) {
    loop {
        let c = s.claim.load(Ordering::Acquire);
        if (c >> 32) as u32 != epoch {
            return;
        }
        let i = (c & 0xffff_ffff) as usize;
        if i >= s.total.load(Ordering::Relaxed) {
            return;
        }
        if s.claim
            .compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: item `i` of this epoch is claimed and not done, so the
            // job (published before the claim word) is still alive.
            let job = s.job.load(Ordering::Acquire);
            unsafe { ((*job).f)(i) };
            s.done.fetch_add(1, Ordering::Release);
        }
    }
}

fn worker(s: &Shared) {
    s.ready.fetch_add(1, Ordering::Release);
    let mut seen = 0u32;
    loop {
        let mut spins = 0u32;
        loop {
            if s.quit.load(Ordering::Acquire) {
                return;
            }
            let epoch = (s.claim.load(Ordering::Acquire) >> 32) as u32;
            if epoch != seen {
                seen = epoch;
                break;
            }
            spins += 1;
            if spins < 2000 {
                std::hint::spin_loop();
            } else {
                std::thread::park();
                spins = 0;
            }
        }
        work(s, seen);
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::Release);
        for t in &self.threads {
            t.unpark();
        }
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item runs exactly once per job, over many jobs.
    #[test]
    fn items_run_once() {
        let mut pool = WorkerPool::new(3);
        let counts: Vec<AtomicUsize> = (0..37).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..500 {
            pool.run(37, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 500));
    }
}
