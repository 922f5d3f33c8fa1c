//! The error type of every engine operation.
//!
//! Messages are written for the Elixir user: they name the op, what it got
//! (shapes and types in Nx notation, e.g. `{2, 3}` and `{:f, 32}`) and what
//! it expected. The NIF layer maps [`Error::Argument`] to `ArgumentError` and
//! everything else to `Myelin.Error`.

use std::fmt;

/// Result alias used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;

/// An engine error. The message always starts with the op's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The caller passed something invalid: a bad shape, type, axis or option.
    Argument(String),
    /// The engine could not do something valid: out of memory, a missing
    /// device, or an internal fault (including a caught panic).
    Internal(String),
}

impl Error {
    /// A bad-argument error for `op`.
    pub fn arg(op: &str, msg: impl fmt::Display) -> Self {
        Error::Argument(format!("{op}: {msg}"))
    }

    /// An internal error for `op`.
    pub fn internal(op: &str, msg: impl fmt::Display) -> Self {
        Error::Internal(format!("{op}: {msg}"))
    }

    /// The message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            Error::Argument(m) | Error::Internal(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
