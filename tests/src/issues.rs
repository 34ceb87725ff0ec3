//! Helpers for the issue and Open311 tests: places on the demo river,
//! photos made in memory (a JPEG with an EXIF GPS position is assembled by
//! hand, segment by segment), and report requests.

use serde_json::{Value, json};
use std::io::Cursor;

use crate::TestServer;

/// A point on the middle of the demo reach `n` (1–16), `[lon, lat]`.
pub fn point_on_reach(n: usize) -> [f64; 2] {
    let line = store::demo::river_line();
    let per_reach = (line.len() - 1) / 16;
    line[(n - 1) * per_reach + per_reach / 2]
}

/// A point ~2.5 km off the river near reach 1: in the town, near no reach.
pub fn off_river() -> [f64; 2] {
    let [lon, lat] = point_on_reach(1);
    [lon + 0.02, lat - 0.02]
}

/// GeoJSON Point.
pub fn geojson_point(p: [f64; 2]) -> Value {
    json!({"type": "Point", "coordinates": p})
}

/// A chief's id and village id, by code (HZ001 …), as the admin sees them.
pub async fn chief(server: &TestServer, admin: &str, code: &str) -> (i64, Option<i64>) {
    let (status, chiefs) = server.get("/api/v1/chiefs", Some(admin)).await;
    assert_eq!(status, 200, "{chiefs}");
    let c = chiefs
        .as_array()
        .expect("chiefs")
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no chief {code}"));
    (c["id"].as_i64().expect("id"), c["village_id"].as_i64())
}

/// Reports an issue as JSON; answers status and body.
pub async fn report(
    server: &TestServer,
    token: Option<&str>,
    at: [f64; 2],
    category: &str,
) -> (u16, Value) {
    server
        .post_json(
            "/api/v1/issues",
            token,
            &json!({"location": geojson_point(at), "category": category,
                    "description": "河面漂浮大量塑料瓶"}),
        )
        .await
}

/// Reports an issue that must succeed; answers its id.
pub async fn report_ok(server: &TestServer, token: &str, at: [f64; 2]) -> i64 {
    let (status, body) = report(server, Some(token), at, "floating_garbage").await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

/// POSTs a transition; answers status and body.
pub async fn act(server: &TestServer, token: Option<&str>, id: i64, body: Value) -> (u16, Value) {
    server
        .post_json(&format!("/api/v1/issues/{id}/transitions"), token, &body)
        .await
}

/// POSTs a multipart report.
pub async fn report_multipart(
    server: &TestServer,
    token: &str,
    form: reqwest::multipart::Form,
) -> (u16, Value) {
    crate::send(
        server
            .client
            .post(server.url("/api/v1/issues"))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// A photo part.
pub fn photo_part(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime")
}

fn picture(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    })
}

/// A plain JPEG (no EXIF).
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture(width, height)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// A PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    picture(width, height)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// A JPEG whose EXIF says it was taken at `[lon, lat]` (northern and
/// eastern hemispheres), with the APP1 segment assembled by hand after the
/// encoder's JFIF APP0:
///
/// ```text
/// FF E1 len "Exif\0\0" TIFF("II", 42, IFD0 at 8)
///   IFD0: 1 entry  GPSInfo(0x8825, LONG) -> GPS IFD at 26
///   GPS IFD: 5 entries  VersionID 2.3.0.0, LatitudeRef "N", Latitude 3×RATIONAL @92,
///                       LongitudeRef "E", Longitude 3×RATIONAL @116
/// ```
pub fn jpeg_with_gps(width: u32, height: u32, at: [f64; 2]) -> Vec<u8> {
    let base = jpeg(width, height);
    let mut tiff = Vec::new();
    let u16le = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    tiff.extend_from_slice(b"II");
    u16le(&mut tiff, 42);
    u32le(&mut tiff, 8);
    // IFD0 at 8: one entry, the pointer to the GPS IFD.
    u16le(&mut tiff, 1);
    u16le(&mut tiff, 0x8825);
    u16le(&mut tiff, 4);
    u32le(&mut tiff, 1);
    u32le(&mut tiff, 26);
    u32le(&mut tiff, 0);
    assert_eq!(tiff.len(), 26);
    // GPS IFD at 26: five entries (2 + 5 × 12 + 4 = 66 bytes), data at 92.
    u16le(&mut tiff, 5);
    let entry = |v: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&kind.to_le_bytes());
        v.extend_from_slice(&count.to_le_bytes());
        v.extend_from_slice(&value);
    };
    entry(&mut tiff, 0x0000, 1, 4, [2, 3, 0, 0]);
    entry(&mut tiff, 0x0001, 2, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, 5, 3, 92u32.to_le_bytes());
    entry(&mut tiff, 0x0003, 2, 2, *b"E\0\0\0");
    entry(&mut tiff, 0x0004, 5, 3, 116u32.to_le_bytes());
    u32le(&mut tiff, 0);
    assert_eq!(tiff.len(), 92);
    for degrees in [at[1], at[0]] {
        let d = degrees.trunc();
        let minutes = (degrees - d) * 60.0;
        let m = minutes.trunc();
        let seconds = (minutes - m) * 60.0;
        for (num, den) in [
            (d as u32, 1),
            (m as u32, 1),
            ((seconds * 10_000.0).round() as u32, 10_000),
        ] {
            u32le(&mut tiff, num);
            u32le(&mut tiff, den);
        }
    }
    assert_eq!(tiff.len(), 140);
    let mut app1 = vec![0xFF, 0xE1];
    let length = u16::try_from(2 + 6 + tiff.len()).expect("small");
    app1.extend_from_slice(&length.to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    // After SOI and the JFIF APP0 segment.
    assert_eq!(&base[0..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
    let app0_end = 4 + usize::from(u16::from_be_bytes([base[4], base[5]]));
    let mut out = base[..app0_end].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&base[app0_end..]);
    out
}

/// The markers of a JPEG's segments before the image data (E0 = APP0,
/// E1 = APP1/EXIF, DB = quantisation tables, ...).
pub fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    assert_eq!(&bytes[0..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = vec![];
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
    }
    markers
}

/// The leaf elements of an XML document as (path, text) pairs, in
/// document order, e.g. `("service_requests/request/status", "open")`;
/// empty elements have "".
pub fn xml_leaves(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    // (name, has child elements)
    let mut stack: Vec<(String, bool)> = vec![];
    let mut out = vec![];
    let mut text = String::new();
    let path = |stack: &[(String, bool)]| {
        stack
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join("/")
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                if let Some(parent) = stack.last_mut() {
                    parent.1 = true;
                }
                stack.push((e.name().as_ref().to_owned(), false));
                text.clear();
            }
            Event::Empty(e) => {
                if let Some(parent) = stack.last_mut() {
                    parent.1 = true;
                }
                let name = e.name().as_ref().to_owned();
                out.push((format!("{}/{name}", path(&stack)), String::new()));
            }
            Event::Text(t) => text.push_str(&t),
            Event::GeneralRef(r) => {
                let name: &str = &r;
                text.push_str(match name {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                });
            }
            Event::End(_) => {
                let full = path(&stack);
                if let Some((_, false)) = stack.pop() {
                    out.push((full, std::mem::take(&mut text)));
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// A decompression bomb: an RGB PNG of `width`×`height` black pixels whose
/// zlib stream is assembled by hand from one compressed block of zero rows
/// repeated, so making even a 16384² one (800 MB of pixels, under 1 MB of
/// file) costs the test no memory. Each repeat is a raw deflate stream
/// sync-flushed without its final bit: blocks that refer only to their own
/// bytes, so they can follow each other; an empty final block closes it.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    const ROWS_PER_BLOCK: u32 = 16;
    assert_eq!(height % ROWS_PER_BLOCK, 0, "height a multiple of 16");
    let row_bytes = 1 + u64::from(width) * 3; // filter byte + RGB
    let zeros = vec![0u8; (row_bytes * u64::from(ROWS_PER_BLOCK)) as usize];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(zeros.len() / 500 + 1024);
    deflate
        .compress_vec(&zeros, &mut block, FlushCompress::Sync)
        .expect("deflate");
    assert_eq!(deflate.total_in(), zeros.len() as u64, "one call");

    let mut zlib = vec![0x78, 0xDA];
    for _ in 0..height / ROWS_PER_BLOCK {
        zlib.extend_from_slice(&block);
    }
    zlib.extend_from_slice(&[0x03, 0x00]); // final, fixed Huffman, end of block
    // Adler-32 of n zero bytes: A = 1, B = n (mod 65521).
    let n = row_bytes * u64::from(height);
    zlib.extend_from_slice(&((((n % 65521) as u32) << 16) | 1).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    for (kind, data) in [(b"IHDR", &header), (b"IDAT", &zlib), (b"IEND", &vec![])] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}
