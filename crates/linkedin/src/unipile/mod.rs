//! Unipile connector (in progress).
