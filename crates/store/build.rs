// `sqlx::migrate!` embeds the files of `migrations/` at compile time, but
// cargo only knows to rebuild when a file it already saw changes. Watching
// the directory makes a newly added migration rebuild this crate (and so
// change `MIGRATOR` and the test template's checksum).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
