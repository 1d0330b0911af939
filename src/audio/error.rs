//! Why an audio back-end cannot open, start or be promoted: [`AudioError`].

use thiserror::Error;

/// A failure of the audio device or of the back-end around it. The
/// messages name the device and, where cpal gave one, its error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AudioError {
    /// cpal's JACK host cannot be used (no JACK server, no library).
    #[error("JACK is not available: {0}")]
    JackUnavailable(#[source] cpal::Error),
    /// The host cannot list its output devices.
    #[error("cannot list output devices: {0}")]
    ListDevices(#[source] cpal::Error),
    /// No output device has the name asked for.
    #[error("no output device called `{0}`")]
    NoSuchDevice(String),
    /// The host has no default output device.
    #[error("no default output device")]
    NoDefaultDevice,
    /// The device offers no output configuration.
    #[error("{device}: no usable output configuration: {source}")]
    NoConfig {
        /// The device's name.
        device: String,
        /// cpal's error.
        source: cpal::Error,
    },
    /// The output stream cannot be built.
    #[error("{device}: cannot open the output stream: {source}")]
    OpenStream {
        /// The device's name.
        device: String,
        /// cpal's error.
        source: cpal::Error,
    },
    /// The output stream cannot be started.
    #[error("{device}: cannot start the stream: {source}")]
    StartStream {
        /// The device's name.
        device: String,
        /// cpal's error.
        source: cpal::Error,
    },
    /// The device came back at another rate than the engine's.
    #[error("{device} runs at {device_rate} Hz, the engine at {engine_rate} Hz")]
    RateMismatch {
        /// The device's name.
        device: String,
        /// The device's rate.
        device_rate: u32,
        /// The engine's rate.
        engine_rate: u32,
    },
    /// The stopped back-end did not hand the engine's ring back.
    #[error("the null back-end did not hand its ring back")]
    RingNotReturned,
    /// A thread cannot get real-time scheduling (the reason
    /// `engine::priority` gives).
    #[error(transparent)]
    Priority(#[from] crate::engine::priority::PriorityError),
}
