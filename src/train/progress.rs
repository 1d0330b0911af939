//! What `neirosynth train` shows on stderr: the progress of a run
//! ([`ProgressBar`]: phases as lines, refinement as a bar) and its
//! summary ([`Summary`]: the metrics per target, where the result went).

use std::fmt;

use super::refine::Observer;
use super::{TrainOptions, TrainOutcome};

/// Progress of a training run on stderr: phases as lines, refinement as a
/// bar (drawn from the first iteration on).
#[derive(Default)]
pub struct ProgressBar {
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    /// A progress display with nothing drawn yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the bar, if one was drawn.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Observer for ProgressBar {
    fn phase(&mut self, message: &str) {
        match &self.bar {
            Some(b) => b.println(message),
            None => eprintln!("{message}"),
        }
    }
    fn iteration(&mut self, iteration: usize, loss: f64, best: f64) {
        let b = self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new(0);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b
        });
        b.set_position(iteration as u64);
        b.set_message(format!("loss {loss:.4} best {best:.4}"));
    }
}

/// The end of a run as `neirosynth train` prints it: one line per target
/// (play note, log-mel, partials, MR-STFT), then where the model went.
pub struct Summary<'a> {
    /// The run's options.
    pub opts: &'a TrainOptions,
    /// Its result.
    pub outcome: &'a TrainOutcome,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (opts, out) = (self.opts, self.outcome);
        for (m, t) in out.metrics.iter().zip(&opts.targets) {
            writeln!(
                f,
                "{}: play note {:.2}, log-mel {:.2} dB, partials {} cents, MR-STFT {:.3}",
                t.display(),
                out.model.play_notes[opts.targets.iter().position(|x| x == t).unwrap_or(0)],
                m.logmel_l1_db,
                m.partials_cents.map_or("-".into(), |c| format!("{c:.1}")),
                m.mrstft
            )?;
        }
        writeln!(
            f,
            "{} {} in {:.1} s (report: {})",
            if out.interrupted {
                "interrupted: best so far saved to"
            } else {
                "wrote"
            },
            opts.out.display(),
            out.seconds,
            out.report_dir.display()
        )
    }
}
