//! The resident bank: every level's maps of the instruments the GPU engine
//! plays, in one storage buffer, uploaded once per instrument (control
//! side).

use std::sync::Arc;

use super::context::GpuError;
use crate::instrument::Instrument;

/// One resident instrument: where each level's maps start in the bank buffer.
struct Resident {
    inst: Arc<Instrument>,
    /// Offset (floats) of each level's maps.
    levels: Vec<u32>,
}

/// Instruments' maps (stiffness, σ₀, diagonal per level) resident in one
/// GPU buffer.
pub(crate) struct ResidentBank {
    resident: Vec<Resident>,
    used: usize,
    capacity: usize,
    /// The bank's storage buffer (`capacity` floats).
    pub(crate) buffer: wgpu::Buffer,
}

impl ResidentBank {
    /// An empty bank of `capacity` floats in `buffer`.
    pub(crate) fn new(buffer: wgpu::Buffer, capacity: usize) -> Self {
        Self {
            resident: Vec::new(),
            used: 0,
            capacity,
            buffer,
        }
    }

    /// Makes `inst`'s maps resident (every level), once. When the bank is
    /// full, drops the instruments `in_use` says no voice needs, then
    /// retries. Control side: allocates and uploads.
    pub(crate) fn load(
        &mut self,
        queue: &wgpu::Queue,
        inst: &Arc<Instrument>,
        in_use: impl Fn(&Arc<Instrument>) -> bool,
    ) -> Result<(), GpuError> {
        if self.resident.iter().any(|r| Arc::ptr_eq(&r.inst, inst)) {
            return Ok(());
        }
        let need: usize = inst.levels.iter().map(|l| 3 * l.maps.layout.len).sum();
        if self.used + need > self.capacity {
            // Drop instruments no voice plays any more, then retry.
            self.compact(queue, in_use);
            if self.used + need > self.capacity {
                return Err(GpuError::Limits(format!(
                    "GPU bank full ({} of {} floats) loading {}",
                    self.used,
                    self.capacity,
                    inst.name()
                )));
            }
        }
        self.upload(queue, inst);
        Ok(())
    }

    /// Uploads `inst`'s maps after those resident (they fit).
    fn upload(&mut self, queue: &wgpu::Queue, inst: &Arc<Instrument>) {
        let mut levels = Vec::with_capacity(inst.levels.len());
        for l in &inst.levels {
            let m = &l.maps;
            let off = self.used;
            let len = m.layout.len;
            let mut data = Vec::with_capacity(3 * len);
            data.extend_from_slice(&m.stiffness);
            data.extend_from_slice(&m.sigma0);
            data.extend_from_slice(&m.diag);
            queue.write_buffer(&self.buffer, (off * 4) as u64, bytemuck::cast_slice(&data));
            levels.push(off as u32);
            self.used += 3 * len;
        }
        self.resident.push(Resident {
            inst: inst.clone(),
            levels,
        });
    }

    /// Rebuilds the bank with only the instruments `in_use` keeps.
    fn compact(&mut self, queue: &wgpu::Queue, in_use: impl Fn(&Arc<Instrument>) -> bool) {
        let keep: Vec<Arc<Instrument>> = self
            .resident
            .iter()
            .filter(|r| in_use(&r.inst))
            .map(|r| r.inst.clone())
            .collect();
        self.resident.clear();
        self.used = 0;
        for i in keep {
            self.upload(queue, &i);
        }
    }

    /// Where `inst`'s maps at `level` start (floats), if resident.
    pub(crate) fn level_offset(&self, inst: &Arc<Instrument>, level: usize) -> Option<u32> {
        self.resident
            .iter()
            .find(|r| Arc::ptr_eq(&r.inst, inst))
            .and_then(|r| r.levels.get(level).copied())
    }
}

/// Floats of resident maps for `instruments` (all levels), with room to
/// reload each once.
pub fn bank_floats<'a>(instruments: impl IntoIterator<Item = &'a Arc<Instrument>>) -> usize {
    let total: usize = instruments
        .into_iter()
        .map(|i| {
            i.levels
                .iter()
                .map(|l| 3 * l.maps.layout.len)
                .sum::<usize>()
        })
        .sum();
    2 * total + 16
}
