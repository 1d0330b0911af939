//! Preallocated memory that is resident from the start.
//!
//! `Vec::with_capacity` and a ring's `new` reserve address space; the
//! kernel gives each page memory only when it is first written. A ring or
//! queue used front to back (the command ring, the event ring, the engine
//! thread's pending queue) therefore takes a page fault each time its
//! cursor first reaches a new page: a few microseconds on the engine
//! thread, and a resident set that grows for as long as it takes the
//! cursors to go round once (5.5 MiB over the first twenty minutes at 48
//! voices, which a soak cannot tell from a leak). The constructors here
//! write one byte in every page of the allocation before it is used, so
//! the engine never faults on them and the resident set is its working
//! size from the first second.
//!
//! Control-side code only: call these before the real-time loop starts.
//! Used for every ring and queue the engine thread and the audio callback
//! touch (command, event, output and recorder rings; the pending queue).

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use ringbuf::HeapRb;

/// The smallest page size of the platforms we run on. Touching at a
/// shorter stride than the real page size only costs extra writes.
const PAGE: usize = 4096;

/// Writes a byte into every page `buf` spans, so the kernel backs the
/// whole of it with memory now.
pub fn touch_pages<T>(buf: &mut [MaybeUninit<T>]) {
    let bytes = std::mem::size_of_val(buf);
    let base = buf.as_mut_ptr().cast::<u8>();
    let mut offset = 0;
    while offset < bytes {
        // SAFETY: `offset < bytes` keeps the write inside `buf`, which is
        // uninitialised memory we hold exclusively: any byte is valid there.
        // Volatile, so the write is not folded into a zeroing allocation
        // (which would leave the pages untouched).
        unsafe { base.add(offset).write_volatile(0) };
        offset += PAGE;
    }
    if bytes > 0 {
        // SAFETY: as above; the last byte of `buf` (its final page).
        unsafe { base.add(bytes - 1).write_volatile(0) };
    }
}

/// An empty `Vec` with room for `capacity` items, all of it resident.
pub fn vec<T>(capacity: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(capacity);
    touch_pages(v.spare_capacity_mut());
    v
}

/// An empty `VecDeque` with room for `capacity` items, all of it resident.
pub fn deque<T>(capacity: usize) -> VecDeque<T> {
    // `VecDeque::from(Vec)` keeps the vector's buffer (no reallocation).
    VecDeque::from(vec(capacity))
}

/// An empty heap ring of `capacity` items, all of it resident.
pub fn ring<T>(capacity: usize) -> HeapRb<T> {
    let mut rb = HeapRb::new(capacity);
    let (a, b) = rb.vacant_slices_mut();
    touch_pages(a);
    touch_pages(b);
    rb
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of the pages under `ptr..ptr+bytes` are resident (mincore).
    fn resident_pages(ptr: *const u8, bytes: usize) -> (usize, usize) {
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let start = ptr as usize / page * page;
        let end = (ptr as usize + bytes).div_ceil(page) * page;
        let n = (end - start) / page;
        let mut map = vec![0u8; n];
        let rc =
            unsafe { libc::mincore(start as *mut libc::c_void, end - start, map.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore failed");
        (map.iter().filter(|&&b| b & 1 == 1).count(), n)
    }

    // 8 MiB: above glibc's mmap threshold, so a fresh allocation comes
    // straight from the kernel, untouched.
    const ITEMS: usize = 1 << 20;

    #[test]
    fn a_plain_reservation_is_not_resident() {
        // The control for the tests below: without touching, most pages
        // of a fresh reservation have no memory behind them.
        let v: Vec<u64> = Vec::with_capacity(ITEMS);
        let (resident, total) = resident_pages(v.as_ptr().cast(), ITEMS * 8);
        assert!(
            resident < total / 2,
            "{resident} of {total} resident untouched"
        );
    }

    #[test]
    fn a_prefaulted_vec_is_resident() {
        let v: Vec<u64> = vec(ITEMS);
        assert_eq!(v.len(), 0);
        assert!(v.capacity() >= ITEMS);
        let (resident, total) = resident_pages(v.as_ptr().cast(), ITEMS * 8);
        assert_eq!(resident, total);
    }

    #[test]
    fn a_prefaulted_deque_keeps_its_capacity_and_is_resident() {
        let mut d: VecDeque<u64> = deque(ITEMS);
        assert!(d.capacity() >= ITEMS);
        let ptr = d.as_slices().0.as_ptr();
        let (resident, total) = resident_pages(ptr.cast(), ITEMS * 8);
        assert_eq!(resident, total);
        // Used as a queue, it does not reallocate within its capacity.
        for i in 0..ITEMS as u64 {
            d.push_back(i);
        }
        assert_eq!(d.as_slices().0.as_ptr(), ptr);
    }

    #[test]
    fn a_prefaulted_ring_is_resident() {
        use ringbuf::traits::{Consumer, Observer, Producer, Split};
        let mut rb: HeapRb<u64> = ring(ITEMS);
        let ptr = {
            let (a, _) = rb.vacant_slices_mut();
            a.as_ptr()
        };
        let (resident, total) = resident_pages(ptr.cast(), ITEMS * 8);
        assert_eq!(resident, total);
        assert_eq!(rb.capacity().get(), ITEMS);
        let (mut p, mut c) = rb.split();
        p.try_push(7).unwrap();
        assert_eq!(c.try_pop(), Some(7));
    }
}
