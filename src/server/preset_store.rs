//! The presets of a server: kept in memory and, with `serve --preset-dir
//! DIR`, one JSON file per preset in that folder (`<name>.json`), written
//! atomically (a temporary file renamed over the old one) and read back at
//! start-up. A file that cannot be read is reported and skipped.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::preset::{Preset, PresetError};

/// The presets, by name.
#[derive(Debug, Default)]
pub struct PresetStore {
    /// Their folder; `None`: memory only.
    dir: Option<PathBuf>,
    presets: BTreeMap<String, Preset>,
}

fn io(path: &Path, source: std::io::Error) -> PresetError {
    PresetError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl PresetStore {
    /// Presets kept in memory only (lost at exit).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// The presets of folder `dir` (created if missing). Returns the store
    /// and the files it skipped, each with its reason; fails only when the
    /// folder cannot be created or listed.
    pub fn open(dir: &Path) -> Result<(Self, Vec<PresetError>), PresetError> {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut store = Self {
            dir: Some(dir.to_owned()),
            presets: BTreeMap::new(),
        };
        let mut skipped = Vec::new();
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let Some(name) = preset_file_name(&path) else {
                continue;
            };
            let read = fs::read_to_string(&path)
                .map_err(|e| io(&path, e))
                .and_then(|text| Preset::from_json(&text, &path.display().to_string()));
            match read {
                Ok(p) => {
                    store.presets.insert(name, p);
                }
                Err(e) => skipped.push(e),
            }
        }
        Ok((store, skipped))
    }

    /// The folder presets are saved in, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The preset called `name`.
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.presets.get(name)
    }

    /// Every preset's name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.presets.keys().map(String::as_str)
    }

    /// Stores `preset` as `name` (replacing one of that name), writing its
    /// file first when there is a folder: on a write error nothing changes.
    pub fn save(&mut self, name: &str, preset: Preset) -> Result<(), PresetError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{name}.json"));
            let tmp = dir.join(format!(".{name}.json.tmp"));
            fs::write(&tmp, preset.to_json()).map_err(|e| io(&tmp, e))?;
            if let Err(e) = fs::rename(&tmp, &path) {
                let _ = fs::remove_file(&tmp);
                return Err(io(&path, e));
            }
        }
        self.presets.insert(name.to_owned(), preset);
        Ok(())
    }

    /// Forgets the preset `name` and removes its file; false when there is
    /// no such preset.
    pub fn delete(&mut self, name: &str) -> Result<bool, PresetError> {
        if !self.presets.contains_key(name) {
            return Ok(false);
        }
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{name}.json"));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path, e)),
            }
        }
        self.presets.remove(name);
        Ok(true)
    }
}

/// The preset name of a file of the folder (`<name>.json`, not hidden).
fn preset_file_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    let name = file.strip_suffix(".json")?;
    (!name.is_empty() && !name.starts_with('.')).then(|| name.to_owned())
}
