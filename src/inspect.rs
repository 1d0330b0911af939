//! `neirosynth inspect`: an instrument's metadata, certificate, modes and maps.

use std::fmt::Write as _;
use std::path::Path;

use crate::instrument::{note_to_hz, Instrument, HIGHEST_NOTE, LOWEST_NOTE};
use crate::physics::body::NodeKind;
use crate::physics::modes::{lowest_eigenvalues, mode_frequency, RIGID_MODE_EPS};

/// A human-readable report of an instrument.
pub fn report(inst: &Instrument, sample_rate: f64) -> String {
    let f = &inst.file;
    let mut s = String::new();
    let _ = writeln!(s, "name:           {}", f.name);
    let _ = writeln!(s, "description:    {}", f.description);
    let _ = writeln!(s, "family:         {}", f.family);
    let _ = writeln!(
        s,
        "mesh:           {}×{} ({} body nodes)",
        f.mesh.width,
        f.mesh.height,
        inst.levels[0].maps.body.body_nodes()
    );
    let _ = writeln!(
        s,
        "reference note: {} ({:.2} Hz)",
        f.reference_note,
        note_to_hz(f.reference_note)
    );
    let _ = writeln!(
        s,
        "physics:        σ₁ = {}, support = {} Hz, release T60 = {}",
        f.physics.sigma1,
        f.physics.support_hz,
        f.physics
            .release_t60
            .map_or("none (rings on)".into(), |t| format!("{t} s"))
    );
    let e = &f.excitation;
    let _ = writeln!(
        s,
        "excitation:     {:?} at ({}, {}), width {}, contact {} ms",
        e.shape, e.x, e.y, e.width, e.contact_ms
    );
    let _ = writeln!(
        s,
        "pickups:        left {:?}, right {:?}",
        f.pickups.left, f.pickups.right
    );
    let _ = writeln!(s, "gain:           {}", f.gain);
    let _ = writeln!(
        s,
        "provenance:     {} ({}; {}) {}",
        f.provenance.method, f.provenance.tool, f.provenance.source, f.provenance.date
    );
    let _ = writeln!(s, "pyramid:");
    for (i, l) in inst.levels.iter().enumerate() {
        let _ = writeln!(
            s,
            "  level {i}: {}×{}, μ₁ = {:.6e}, row bound r = {:.4} (worst node {:?})",
            l.maps.body.width,
            l.maps.body.height,
            l.fundamental_mu,
            l.bound.value,
            l.bound.worst_node
        );
    }
    let _ = writeln!(
        s,
        "certificate ((a+2b)·r + κk² < 4) and cost per note at {sample_rate} Hz:"
    );
    let mut notes = vec![
        LOWEST_NOTE,
        f.reference_note,
        60.0,
        72.0,
        84.0,
        96.0,
        HIGHEST_NOTE,
    ];
    notes.sort_by(|a, b| a.partial_cmp(b).unwrap());
    notes.dedup();
    for n in notes {
        match inst.plan(n, 0.0, sample_rate) {
            Ok(p) => {
                let _ = writeln!(
                    s,
                    "  note {n:>5.1} ({:>7.1} Hz): level {} ×{} oversampling, a = {:.4}, certificate {:.3} of the limit, {} node updates/sample",
                    p.fundamental_hz,
                    p.level,
                    p.oversample,
                    p.params.a,
                    p.certificate.utilisation(),
                    p.cost(inst)
                );
            }
            Err(e) => {
                let _ = writeln!(s, "  note {n}: refused: {e}");
            }
        }
    }
    // Accurate modes (more Lanczos iterations than at load time).
    let lv = &inst.levels[0];
    let mus = lowest_eigenvalues(&lv.maps, 12);
    if let Ok(p) = inst.plan(f.reference_note, 0.0, sample_rate) {
        if p.level == 0 {
            let elastic: Vec<f64> = mus
                .iter()
                .copied()
                .filter(|&m| m > RIGID_MODE_EPS)
                .collect();
            let f0 = mode_frequency(elastic[0], p.params.a, p.params.kappa_k2, p.params.k);
            let _ = writeln!(
                s,
                "first modes at the reference note (Hz, ratio to the fundamental):"
            );
            for m in elastic.iter().take(10) {
                let fm = mode_frequency(*m, p.params.a, p.params.kappa_k2, p.params.k);
                let _ = writeln!(s, "  {fm:>9.2} Hz  ×{:.3}", fm / f0);
            }
        }
    }
    s
}

/// Writes a PNG of the maps side by side (stiffness, σ₀, mask), 4× enlarged.
pub fn write_png(inst: &Instrument, path: &Path) -> Result<(), PngError> {
    let lv = &inst.levels[0];
    let body = &lv.maps.body;
    let (w, h) = (body.width, body.height.max(8));
    let scale = 4;
    let gap = 4;
    let width = (3 * w * scale + 2 * gap) as u32;
    let height = (h * scale) as u32;
    let mut img = vec![40u8; (width * height * 3) as usize];
    let stiff: Vec<f32> = (0..body.width * body.height)
        .map(|i| lv.maps.stiffness[lv.maps.layout.idx(i % body.width, i / body.width)])
        .collect();
    let sig: Vec<f32> = (0..body.width * body.height)
        .map(|i| lv.maps.sigma0[lv.maps.layout.idx(i % body.width, i / body.width)])
        .collect();
    let smax = sig.iter().cloned().fold(1e-9, f32::max);
    for panel in 0..3 {
        for y in 0..h {
            for x in 0..w {
                let yy = y.min(body.height - 1);
                let i = yy * body.width + x;
                let rgb = match panel {
                    0 => gray(stiff[i]),
                    1 => gray(sig[i] / smax),
                    _ => match body.mask[i] {
                        NodeKind::Void => [0, 0, 0],
                        NodeKind::Body => [230, 230, 230],
                        NodeKind::Clamp => [220, 60, 40],
                    },
                };
                for dy in 0..scale {
                    for dx in 0..scale {
                        let px = panel * (w * scale + gap) + x * scale + dx;
                        let py = y * scale + dy;
                        let o = (py * width as usize + px) * 3;
                        img[o..o + 3].copy_from_slice(&rgb);
                    }
                }
            }
        }
    }
    write_rgb_png(path, width, height, &img)
}

/// Why a PNG cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The file cannot be created.
    #[error("{}: {reason}", path.display())]
    Create {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// The image cannot be encoded or written.
    #[error(transparent)]
    Encode(#[from] png::EncodingError),
}

/// Writes an 8-bit RGB image (`width × height`, row-major, 3 bytes per pixel) as a PNG.
pub fn write_rgb_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> Result<(), PngError> {
    let file = std::fs::File::create(path).map_err(|reason| PngError::Create {
        path: path.to_path_buf(),
        reason,
    })?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc.write_header()?;
    Ok(wr.write_image_data(rgb)?)
}

fn gray(v: f32) -> [u8; 3] {
    let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
    [g, g, g]
}
