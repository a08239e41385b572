//! Machine-readable output on stdout (ids, keys, listings, the OpenAPI
//! document). A reader that goes away early, as in `sonarly openapi | head`,
//! ends the output quietly, as with other Unix tools, instead of a panic from
//! `println!`.

use std::io::{self, Write};

/// Writes `text` to stdout in one go. A closed pipe counts as success: the
/// reader has all it wanted.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(anyhow::anyhow!("cannot write to stdout: {e}")),
        _ => Ok(()),
    }
}

/// Writes `line` and a newline to stdout (see [`emit`]).
pub fn emit_line(line: impl std::fmt::Display) -> anyhow::Result<()> {
    emit(&format!("{line}\n"))
}
