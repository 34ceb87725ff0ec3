//! A track's distinct positions, packed small for the duplicate check.
//!
//! Every upload compares its points with up to twenty earlier patrols
//! ([`crate::similarity::NearCopyIndex`]). Shipping their whole tracks out
//! of the database (24 bytes a point with times, ~86 kB for an hour at
//! 1 Hz) was most of an upload's cost; the comparison needs only the
//! positions, in order, without consecutive repeats. Packed here: each
//! position on a 1e-7° grid (≤ 1.1 cm, far below the 0.5 m the check
//! asks), the first as is and the rest as differences from the one before,
//! each number zigzag-encoded in LEB128 varints. A walk at 1 Hz takes about
//! 4 bytes a point, ~14 kB an hour.

use crate::track::Track;

/// The grid of packed positions, in degrees.
pub const QUANTUM_DEG: f64 = 1e-7;

/// `track`'s positions in order, consecutive repeats (after rounding to
/// [`QUANTUM_DEG`]) dropped, packed.
pub fn pack(track: &Track) -> Vec<u8> {
    let mut out = Vec::with_capacity(track.points.len() * 4);
    let mut last: Option<(i64, i64)> = None;
    for p in &track.points {
        let here = (quantize(p.lon), quantize(p.lat));
        if last == Some(here) {
            continue;
        }
        let (base_lon, base_lat) = last.unwrap_or((0, 0));
        write_varint(&mut out, zigzag(here.0 - base_lon));
        write_varint(&mut out, zigzag(here.1 - base_lat));
        last = Some(here);
    }
    out
}

/// The positions `(lon, lat)` of [`pack`]'s output, in order; `None` if
/// `bytes` were not written by it (cut short, or overlong numbers).
pub fn unpack(bytes: &[u8]) -> Option<Vec<(f64, f64)>> {
    let mut positions = Vec::with_capacity(bytes.len() / 4);
    let (mut lon, mut lat) = (0i64, 0i64);
    let mut rest = bytes;
    while !rest.is_empty() {
        lon = lon.checked_add(unzigzag(read_varint(&mut rest)?))?;
        lat = lat.checked_add(unzigzag(read_varint(&mut rest)?))?;
        positions.push((lon as f64 * QUANTUM_DEG, lat as f64 * QUANTUM_DEG));
    }
    Some(positions)
}

/// The positions of [`pack`]'s output one by one, without collecting them:
/// the duplicate check usually stops after a part of a candidate's points.
/// `None` if `bytes` cannot have been written by [`pack`] (cut short, or a
/// longitude without its latitude); the count is then exact. Numbers are
/// not checked for overflow as in [`unpack`]: garbage decodes to garbage
/// positions, never to a panic.
pub fn positions(bytes: &[u8]) -> Option<Positions<'_>> {
    // Each number ends with the one byte below 0x80 of its varint.
    let numbers = bytes.iter().filter(|&&b| b < 0x80).count();
    let cut_short = bytes.last().is_some_and(|&b| b >= 0x80);
    (!cut_short && numbers % 2 == 0).then_some(Positions {
        rest: bytes,
        left: numbers / 2,
        lon: 0,
        lat: 0,
    })
}

/// See [`positions`].
#[derive(Clone)]
pub struct Positions<'a> {
    rest: &'a [u8],
    left: usize,
    lon: i64,
    lat: i64,
}

impl Positions<'_> {
    fn next_number(&mut self) -> i64 {
        let mut n = 0u64;
        let mut shift = 0u32;
        while let Some((&byte, rest)) = self.rest.split_first() {
            self.rest = rest;
            n |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        unzigzag(n)
    }
}

impl Iterator for Positions<'_> {
    type Item = (f64, f64);

    fn next(&mut self) -> Option<(f64, f64)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.lon = self.lon.wrapping_add(self.next_number());
        self.lat = self.lat.wrapping_add(self.next_number());
        Some((self.lon as f64 * QUANTUM_DEG, self.lat as f64 * QUANTUM_DEG))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Positions<'_> {}

fn quantize(degrees: f64) -> i64 {
    // Coordinates are validated (|lon| ≤ 180) before a track gets here;
    // `as` saturates anything else instead of wrapping.
    (degrees / QUANTUM_DEG).round() as i64
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::coverage::tests::track_of as track;

    #[test]
    fn a_walk_packs_to_about_four_bytes_a_point_and_back_within_a_centimetre() {
        let walk: Vec<(f64, f64)> = (0..3600)
            .map(|i| {
                let t = i as f64;
                (103.1 + 1.3e-5 * t, 25.3 + 2e-4 * (t / 40.0).sin())
            })
            .collect();
        let packed = pack(&track(&walk));
        assert!(packed.len() <= 3600 * 5, "{} bytes", packed.len());
        let back = unpack(&packed).unwrap();
        assert_eq!(back.len(), walk.len());
        for (a, b) in walk.iter().zip(&back) {
            assert!((a.0 - b.0).abs() <= QUANTUM_DEG / 2.0 + 1e-12);
            assert!((a.1 - b.1).abs() <= QUANTUM_DEG / 2.0 + 1e-12);
        }
    }

    #[test]
    fn repeats_are_dropped_and_garbage_is_refused() {
        let packed = pack(&track(&[
            (1.0, 2.0),
            (1.0, 2.0),
            (1.00000001, 2.0),
            (1.5, -2.0),
        ]));
        let back = unpack(&packed).unwrap();
        assert_eq!(back.len(), 2, "{back:?}");
        assert_eq!(unpack(&[]), Some(vec![]));
        assert_eq!(unpack(&[0x80]), None, "cut short");
        assert_eq!(unpack(&[0x02]), None, "a longitude without its latitude");
        assert_eq!(unpack(&[0xff; 11]), None, "a number longer than 64 bits");
        assert_eq!(positions(&packed).unwrap().collect::<Vec<_>>(), back);
        assert_eq!(positions(&[]).unwrap().len(), 0);
        assert!(positions(&[0x80]).is_none(), "cut short");
        assert!(
            positions(&[0x02]).is_none(),
            "a longitude without its latitude"
        );
    }

    proptest! {
        #[test]
        fn every_position_round_trips(
            positions in prop::collection::vec((-180.0f64..=180.0, -90.0f64..=90.0), 0..50)
        ) {
            let packed = pack(&track(&positions));
            let back = unpack(&packed).unwrap();
            let streamed = super::positions(&packed).unwrap();
            prop_assert_eq!(streamed.len(), back.len());
            prop_assert_eq!(streamed.collect::<Vec<_>>(), back.clone());
            let mut expected: Vec<(i64, i64)> = positions
                .iter()
                .map(|&(lon, lat)| (quantize(lon), quantize(lat)))
                .collect();
            expected.dedup();
            prop_assert_eq!(back.len(), expected.len());
            for (&(lon, lat), &(qlon, qlat)) in back.iter().zip(&expected) {
                prop_assert!((lon - qlon as f64 * QUANTUM_DEG).abs() < 1e-9);
                prop_assert!((lat - qlat as f64 * QUANTUM_DEG).abs() < 1e-9);
            }
        }
    }
}
