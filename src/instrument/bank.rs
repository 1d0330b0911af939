//! A bank of instruments loaded from a folder (`*.json`, in file-name order).
//!
//! In a bank an instrument is called by its file name: `mybell.json` is
//! `mybell`, whatever name the file gives itself inside (a user who copies
//! `bell.json` to `mybell.json` to edit it gets a second instrument).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::{Instrument, InstrumentError};

/// Why the bank refuses a request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BankError {
    /// A name that is empty, has a path separator, `..` or characters
    /// outside `A-Z a-z 0-9 _ - .`: it could leave the instruments folder.
    #[error("`{0}` is not an instrument name (path outside the instruments folder)")]
    NotAName(String),
}

/// Instruments resident in memory, in bank order.
#[derive(Debug, Default, Clone)]
pub struct Bank {
    /// The folder they came from.
    pub dir: PathBuf,
    /// The instruments, in bank order.
    pub instruments: Vec<Arc<Instrument>>,
}

impl Bank {
    /// Loads every `*.json` in `dir`. Files that fail are returned as
    /// errors beside the bank; the others load.
    pub fn load_dir(dir: &Path) -> std::io::Result<(Self, Vec<InstrumentError>)> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        let mut bank = Bank {
            dir: dir.to_path_buf(),
            instruments: Vec::new(),
        };
        let mut errors = Vec::new();
        for p in paths {
            match Self::load_file(&p) {
                Ok(i) if bank.index_of(i.name()).is_some() => errors.push(InstrumentError {
                    file: p.display().to_string(),
                    field: "name".into(),
                    reason: format!("`{}` is already in the bank", i.name()),
                    kind: super::FaultKind::OutOfRange,
                }),
                Ok(i) => bank.instruments.push(Arc::new(i)),
                Err(e) => errors.push(e),
            }
        }
        Ok((bank, errors))
    }

    /// Loads one instrument file and names it after the file (its stem).
    pub fn load_file(path: &Path) -> Result<Instrument, InstrumentError> {
        let mut inst = Instrument::load(path)?;
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            if inst.name() != stem {
                inst.file.name = stem.to_string();
            }
        }
        Ok(inst)
    }

    /// Index of the instrument called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.instruments.iter().position(|i| i.name() == name)
    }

    /// The instrument called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Instrument>> {
        self.index_of(name).map(|i| &self.instruments[i])
    }

    /// Path of instrument `name` inside the bank folder. Refuses names that
    /// would leave the folder.
    pub fn path_for(&self, name: &str) -> Result<PathBuf, BankError> {
        if name.is_empty()
            || name.contains(['/', '\\'])
            || name.contains("..")
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        {
            return Err(BankError::NotAName(name.to_string()));
        }
        let file = if name.ends_with(".json") {
            name.to_string()
        } else {
            format!("{name}.json")
        };
        Ok(self.dir.join(file))
    }

    /// Inserts or replaces an instrument; returns its index.
    pub fn upsert(&mut self, inst: Arc<Instrument>) -> usize {
        match self.index_of(inst.name()) {
            Some(i) => {
                self.instruments[i] = inst;
                i
            }
            None => {
                self.instruments.push(inst);
                self.instruments.len() - 1
            }
        }
    }

    /// Largest padded buffer any instrument needs.
    pub fn max_buffer_len(&self) -> usize {
        self.instruments
            .iter()
            .map(|i| i.max_buffer_len())
            .max()
            .unwrap_or(0)
    }
}
