//! Pure river-chief logic: reading patrol tracks, measuring them against
//! reaches, deciding validity, and the weekly rule. No I/O, no async, no
//! database types: values in, values out.

pub mod bulletin;
pub mod channels;
pub mod compliance;
pub mod coverage;
pub mod gcj02;
pub mod import;
pub mod issues;
pub mod metrics;
pub mod open311;
pub mod packed_positions;
pub mod password;
pub mod patrol;
pub mod read;
pub mod report;
pub mod schedule;
pub mod scoring;
pub mod similarity;
pub mod synth;
pub mod text;
pub mod time;
pub mod track;
pub mod validity;

pub use track::{Track, TrackPoint};
