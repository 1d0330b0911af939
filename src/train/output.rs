//! A run's outputs on disk and on the network: the report folder, the
//! instrument's name, atomic writes, live reloads.

use std::path::{Path, PathBuf};

use super::error::TrainError;

/// The report folder of an output file: `<out>.report/`.
pub fn report_dir(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".report");
    PathBuf::from(s)
}

/// An instrument name from a file stem (letters, digits, `_`, `-`).
pub fn name_from_path(out: &Path) -> String {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() {
        "trained".into()
    } else {
        n
    }
}

/// Writes `text` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), TrainError> {
    let io = |e: std::io::Error| TrainError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Why a live reload could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The OSC message could not be encoded.
    #[error("{0}")]
    Encode(String),
    /// No local UDP socket.
    #[error("{0}")]
    Socket(std::io::Error),
    /// The datagram could not be sent.
    #[error("cannot send to {addr}: {source}")]
    Send {
        /// The server's `HOST:PORT`.
        addr: String,
        /// The socket's error.
        source: std::io::Error,
    },
}

/// Sends `/inst/reload <name>` to an OSC server at `addr` (`HOST:PORT`, UDP).
pub fn send_reload(addr: &str, name: &str) -> Result<(), ReloadError> {
    use rosc::{OscMessage, OscPacket, OscType};
    let msg = OscPacket::Message(OscMessage {
        addr: "/inst/reload".into(),
        args: vec![OscType::String(name.into())],
    });
    let bytes = rosc::encoder::encode(&msg).map_err(|e| ReloadError::Encode(e.to_string()))?;
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").map_err(ReloadError::Socket)?;
    sock.send_to(&bytes, addr)
        .map_err(|source| ReloadError::Send {
            addr: addr.to_string(),
            source,
        })?;
    Ok(())
}
