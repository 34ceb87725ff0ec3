//! GCJ-02 ("Mars coordinates") to WGS-84. Chinese map apps (Amap, Keep,
//! Ovital, …) record positions in GCJ-02: WGS-84 shifted by a published formula that
//! has no closed-form inverse, a few hundred metres in mainland China and zero
//! elsewhere. We store WGS-84, so such tracks are converted on upload.
//!
//! The inverse is found numerically: `w ← w − (forward(w) − g)` (a fixed-point
//! iteration on the public forward formula, from [`coordtransform`]) until the
//! step is below 1e-12° (≈ 0.1 µm), at most [`MAX_ITERATIONS`] times. It
//! converges in 3–5 steps: the shift changes by only ~1 mm per metre of
//! position, so each step shrinks the error about a thousandfold.
//!
//! "Mainland China" is the region of [`coordtransform::is_in_gcj02_region`]
//! (an OSM-derived outline; Hong Kong, Macau and Taiwan excluded). Outside it
//! GCJ-02 equals WGS-84 and positions are returned unchanged.

use crate::track::Track;

/// Upper bound on fixed-point steps; 3–5 are used in practice.
pub const MAX_ITERATIONS: usize = 10;

/// Converts one GCJ-02 position (degrees) to WGS-84 `(lon, lat)`.
///
/// Outside mainland China the input is returned unchanged. Near the border
/// the forward formula is not one-to-one (a point just outside is unshifted,
/// a point just inside is shifted onto it); there we prefer the shifted
/// preimage, as the caller said the data came from a Chinese map app.
///
/// ```
/// use domain::gcj02::{gcj02_to_wgs84, wgs84_to_gcj02};
///
/// // Beijing: the public forward formula maps this WGS-84 point…
/// let (gcj_lon, gcj_lat) = wgs84_to_gcj02(116.404, 39.915);
/// // …and the inverse brings it back to within a micrometre.
/// let (lon, lat) = gcj02_to_wgs84(gcj_lon, gcj_lat);
/// assert!((lon - 116.404).abs() < 1e-9 && (lat - 39.915).abs() < 1e-9);
///
/// // Outside China (Paris) nothing changes.
/// assert_eq!(gcj02_to_wgs84(2.35, 48.85), (2.35, 48.85));
/// ```
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !lon.is_finite() || !lat.is_finite() {
        return (lon, lat);
    }
    // Cheap rejection far outside the region's bounding box (with a margin
    // for the shift itself, < 0.01°).
    if !(72.9..=135.3).contains(&lon) || !(17.9..=54.1).contains(&lat) {
        return (lon, lat);
    }
    let (mut w_lon, mut w_lat) = (lon, lat);
    for _ in 0..MAX_ITERATIONS {
        let (f_lon, f_lat) = coordtransform::wgs84_to_gcj02_in_mainland(w_lon, w_lat);
        let (d_lon, d_lat) = (f_lon - lon, f_lat - lat);
        w_lon -= d_lon;
        w_lat -= d_lat;
        if d_lon.abs() < 1e-12 && d_lat.abs() < 1e-12 {
            break;
        }
    }
    if coordtransform::is_in_gcj02_region(w_lon, w_lat) {
        (w_lon, w_lat)
    } else {
        // The only preimage under the forward map is the point itself.
        (lon, lat)
    }
}

/// The forward map WGS-84 → GCJ-02 (identity outside mainland China); for
/// tests and for drawing our WGS-84 data over Chinese basemaps.
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    coordtransform::wgs84_to_gcj02(lon, lat)
}

/// Converts every point of a GCJ-02 track to WGS-84 in place; times,
/// elevations and flags are kept, and the flag `gcj02_converted` is added.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use domain::{Track, TrackPoint, gcj02::track_gcj02_to_wgs84};
///
/// let time = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
/// let mut track = Track {
///     points: vec![TrackPoint { lon: 103.1, lat: 25.3, ele: None, time }],
///     ..Track::default()
/// };
/// track_gcj02_to_wgs84(&mut track);
/// // The WGS-84 position lies north-west of the GCJ-02 one.
/// assert!(track.points[0].lon < 103.1 && track.points[0].lat > 25.3);
/// assert!(track.flags.contains("gcj02_converted"));
/// ```
pub fn track_gcj02_to_wgs84(track: &mut Track) {
    for p in &mut track.points {
        (p.lon, p.lat) = gcj02_to_wgs84(p.lon, p.lat);
    }
    track.flags.insert("gcj02_converted");
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Geodesic, Point};
    use proptest::prelude::*;

    fn shift_m(lon: f64, lat: f64) -> f64 {
        let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
        Geodesic.distance(Point::new(lon, lat), Point::new(g_lon, g_lat))
    }

    #[test]
    fn shift_sizes_match_published_figures() {
        // SOURCES.md: ~360 m at the demo town, ~470 m in Shanghai, ~620 m in
        // Guangzhou, always towards the south-east there.
        let demo = shift_m(103.1, 25.3);
        assert!((340.0..380.0).contains(&demo), "demo town shift {demo}");
        let shanghai = shift_m(121.47, 31.23);
        assert!(
            (440.0..500.0).contains(&shanghai),
            "Shanghai shift {shanghai}"
        );
        let guangzhou = shift_m(113.26, 23.13);
        assert!(
            (590.0..650.0).contains(&guangzhou),
            "Guangzhou shift {guangzhou}"
        );
    }

    #[test]
    fn identity_outside_mainland() {
        for (lon, lat) in [
            (2.35, 48.85),    // Paris
            (114.17, 22.32),  // Hong Kong
            (121.56, 25.04),  // Taipei
            (126.98, 37.57),  // Seoul
            (106.9, 47.9),    // Ulaanbaatar
            (-74.0, 40.7),    // New York
            (f64::NAN, 30.0), // garbage in, garbage out
        ] {
            let out = gcj02_to_wgs84(lon, lat);
            assert!(
                (out.0 == lon || (out.0.is_nan() && lon.is_nan())) && out.1 == lat,
                "{lon},{lat} -> {out:?}"
            );
        }
    }

    #[test]
    fn demo_town_round_trip_is_exact() {
        let (g_lon, g_lat) = wgs84_to_gcj02(103.1, 25.3);
        let (lon, lat) = gcj02_to_wgs84(g_lon, g_lat);
        assert!((lon - 103.1).abs() < 1e-11 && (lat - 25.3).abs() < 1e-11);
    }

    /// A point whose neighbourhood (±0.02°, ~2 km) is entirely inside or
    /// entirely outside the region: away from the border, where the forward
    /// map is one-to-one.
    fn clear_of_border(lon: f64, lat: f64) -> bool {
        let inside = coordtransform::is_in_gcj02_region(lon, lat);
        [(-0.02, 0.0), (0.02, 0.0), (0.0, -0.02), (0.0, 0.02)]
            .iter()
            .all(|(dx, dy)| coordtransform::is_in_gcj02_region(lon + dx, lat + dy) == inside)
    }

    proptest! {
        #[test]
        fn round_trip_within_half_a_metre(lon in 73.0f64..135.0, lat in 18.0f64..54.0) {
            prop_assume!(clear_of_border(lon, lat));
            let (g_lon, g_lat) = wgs84_to_gcj02(lon, lat);
            let (b_lon, b_lat) = gcj02_to_wgs84(g_lon, g_lat);
            let err_m = Geodesic.distance(Point::new(lon, lat), Point::new(b_lon, b_lat));
            prop_assert!(err_m < 0.5, "error {err_m} m at {lon},{lat}");
        }
    }
}
