//! The end-to-end suite, one test binary (one link of the whole stack
//! instead of one per file). Run one part with a filter:
//! `cargo test -p e2e --test suite patrols::`.

mod authz;
mod backup;
mod binary;
mod channels;
mod compliance;
mod demo;
mod faults;
mod foundation;
mod hardening;
mod input;
mod issues;
mod leave;
mod matching;
mod open311;
mod patrols;
mod reports;
mod tiles;
