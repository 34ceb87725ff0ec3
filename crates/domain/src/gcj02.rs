//! gcj02
