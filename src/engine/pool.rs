//! A fixed pool of worker threads that render voices in parallel.
//!
//! The block loop hands the pool a job (a function of an item index) and
//! takes part in it; items are claimed with a compare-and-swap on one word
//! that holds the job's epoch and the next index, so a late worker can
//! never run an item of a finished job. Idle workers spin briefly, then
//! park; the block loop wakes them with `unpark` (a futex wake: no lock, no
//! allocation). Workers render with flush-to-zero set, like the block loop.
//!
//! # Real-time safety
//! [`WorkerPool::run`] allocates nothing and takes no lock. It waits only for
//! items other threads are already rendering: it spins briefly, then sleeps
//! on a futex (`park`) until the worker that finishes the last item wakes
//! it. It never spins on `sched_yield`: under `SCHED_FIFO` that burns the
//! core, and once real-time threads hog a core for 950 ms of a second the
//! kernel's fair server preempts them for 50 ms — a certain underrun.

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
    /// Set while the thread in [`WorkerPool::run`] sleeps waiting for items.
    waiting: AtomicBool,
    /// That thread (set on its first `run`).
    waiter: std::sync::OnceLock<Thread>,
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
            waiting: AtomicBool::new(false),
            waiter: std::sync::OnceLock::new(),
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
    pub fn promote(&self, priority: i32) -> Result<usize, super::priority::PriorityError> {
        for h in &self.handles {
            super::priority::promote(h, priority)?;
        }
        Ok(self.handles.len())
    }

    /// Pins worker `i` to CPU `first + i` (modulo the CPUs present).
    pub fn pin(&self, first: usize) -> Result<(), super::priority::PriorityError> {
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
        // often finish within microseconds of each other), then sleep until
        // the last one wakes this thread (see the module docs).
        let s = &*self.shared;
        let mut spins = 0u32;
        while s.done.load(Ordering::Acquire) < total {
            spins += 1;
            if spins < 2000 {
                std::hint::spin_loop();
                continue;
            }
            // The first thread that waits registers its handle (an `Arc`
            // increment, no allocation: the handle exists since it started).
            // Any other thread running the pool later (tests do) just yields.
            let me = s.waiter.get_or_init(std::thread::current);
            if me.id() != std::thread::current().id() {
                std::thread::yield_now();
                continue;
            }
            s.waiting.store(true, Ordering::SeqCst);
            if s.done.load(Ordering::SeqCst) < total {
                std::thread::park();
            }
            s.waiting.store(false, Ordering::SeqCst);
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
            let done = s.done.fetch_add(1, Ordering::SeqCst) + 1;
            if done == s.total.load(Ordering::Relaxed) && s.waiting.load(Ordering::SeqCst) {
                if let Some(t) = s.waiter.get() {
                    t.unpark();
                }
            }
        }
    }
}

fn worker(s: &Shared) {
    // Decaying meshes reach denormal floats: flush them here as the block loop does.
    let _ftz = super::ftz::ScopedFtz::new();
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

    /// Slow items make the caller sleep until the last worker wakes it;
    /// a second calling thread (not the registered waiter) still finishes.
    #[test]
    fn caller_sleeps_until_slow_items_finish() {
        let mut pool = WorkerPool::new(2);
        let counts: Vec<AtomicUsize> = (0..6).map(|_| AtomicUsize::new(0)).collect();
        // An item on a worker takes 3 ms; the caller's first item waits
        // until a worker has one, so the caller always waits for it.
        let caller = std::thread::current().id();
        let started = AtomicUsize::new(0);
        let slow = |i: usize| {
            if std::thread::current().id() != caller {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(3));
            } else {
                let t = std::time::Instant::now();
                while started.load(Ordering::SeqCst) == 0 && t.elapsed().as_secs() < 2 {
                    std::thread::yield_now();
                }
            }
            counts[i].fetch_add(1, Ordering::Relaxed);
        };
        for _ in 0..20 {
            pool.run(6, &slow);
        }
        assert!(pool.shared.waiter.get().is_some(), "the caller never slept");
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..5 {
                    pool.run(6, &slow);
                }
            });
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 25));
    }

    /// Workers render with flush-to-zero and denormals-are-zero set.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn workers_flush_denormals() {
        let mut pool = WorkerPool::new(1);
        let flags: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(usize::MAX)).collect();
        let on_worker = AtomicUsize::new(0);
        let caller = std::thread::current().id();
        pool.run(64, &|i| {
            #[allow(deprecated)]
            // SAFETY: reading MXCSR has no memory effects.
            let csr = unsafe { std::arch::x86_64::_mm_getcsr() };
            if std::thread::current().id() != caller {
                on_worker.fetch_add(1, Ordering::Relaxed);
                flags[i].store((csr & 0x8040) as usize, Ordering::Relaxed);
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        });
        assert!(
            on_worker.load(Ordering::Relaxed) > 0,
            "no item ran on the worker"
        );
        for f in &flags {
            let f = f.load(Ordering::Relaxed);
            assert!(
                f == usize::MAX || f == 0x8040,
                "worker MXCSR FTZ|DAZ bits {f:#x}"
            );
        }
    }
}
