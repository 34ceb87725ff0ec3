//! Issue photos: recognised from their bytes, decoded to prove they are
//! images, their EXIF GPS position read, and three files kept by content
//! hash under `<data_dir>/photos/<sha256[0..2]>/`:
//!
//! - `<sha256>.<ext>`: the original, byte for byte (staff only: it may carry
//!   the EXIF of the reporter's phone, position and device);
//! - `<sha256>.thumb.jpg`: a JPEG thumbnail of at most 320 px;
//! - `<sha256>.public.jpg`: the public copy, re-encoded from the pixels,
//!   so it has no EXIF at all (Open311 `media_url`).
//!
//! Files are written before the database transaction commits; the caller
//! removes the ones it created if the transaction fails, so no row points
//! at a missing file. A crash in between leaves orphan files, harmless
//! because a file's name is its content.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use domain::issues::{PhotoFormat, PhotoFormatError, sniff_photo};
use image::{DynamicImage, ImageDecoder, ImageEncoder, ImageReader};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Longest side of a thumbnail.
pub const THUMBNAIL_PX: u32 = 320;
/// Larger images are refused rather than decoded (memory).
const MAX_SIDE_PX: u32 = 16_384;
/// The most pixels a photo may have (DESIGN: 40 megapixels; a 48 MP phone
/// camera's photo decodes to 144 MB, a PNG of 16384² pixels of 800 kB to
/// 800 MB). Checked from the header, before a pixel is decoded.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The decoder's own allocation limit: a 40 MP photo at 4 bytes a pixel.
const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 4;

/// Photos decoded at once, one per core: decoding is CPU- and memory-bound,
/// so more at once only adds their memory up, not speed.
static DECODING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::sync::Semaphore::new(cores)
});

/// A photo ready to be stored.
#[derive(Debug)]
pub struct ProcessedPhoto {
    pub format: PhotoFormat,
    pub sha256: String,
    pub original: axum::body::Bytes,
    pub width: u32,
    pub height: u32,
    /// (lon, lat) from EXIF GPS.
    pub exif_location: Option<(f64, f64)>,
    pub thumbnail_jpeg: Vec<u8>,
    pub public_jpeg: Vec<u8>,
}

impl ProcessedPhoto {
    pub fn new_photo(&self) -> store::issues::NewPhoto {
        store::issues::NewPhoto {
            sha256: self.sha256.clone(),
            content_type: self.format.content_type().to_owned(),
            size_bytes: i64::try_from(self.original.len()).unwrap_or(i64::MAX),
            width: i32::try_from(self.width).ok(),
            height: i32::try_from(self.height).ok(),
            exif_location: self.exif_location,
        }
    }
}

fn unsupported(n: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable("unsupported_photo", format!("photo {n}: {message}"))
}

fn too_large(n: usize, width: u32, height: u32) -> ApiError {
    ApiError::Unprocessable {
        code: "image_too_large",
        message: format!(
            "photo {n}: {width}×{height} pixels is more than the {} megapixels a photo may have",
            MAX_PIXELS / 1_000_000
        ),
        details: serde_json::json!({
            "photo": n, "width": width, "height": height, "max_pixels": MAX_PIXELS,
        }),
    }
}

/// Checks and converts a report's photos off the async runtime, at most
/// one report's photos per core at a time; a photo sent twice is kept once.
pub async fn process_all(raw: Vec<axum::body::Bytes>) -> Result<Vec<ProcessedPhoto>, ApiError> {
    if raw.is_empty() {
        return Ok(vec![]);
    }
    let _permit = DECODING
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut seen = std::collections::HashSet::new();
        let mut out = vec![];
        for (i, bytes) in raw.into_iter().enumerate() {
            let photo = process(i + 1, bytes)?;
            if seen.insert(photo.sha256.clone()) {
                out.push(photo);
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks and converts one photo (CPU-heavy: call off the async runtime).
/// `n` numbers the photo (from 1) in error messages.
pub fn process(n: usize, original: axum::body::Bytes) -> Result<ProcessedPhoto, ApiError> {
    let format = sniff_photo(&original).map_err(|e| match e {
        PhotoFormatError::Heic | PhotoFormatError::Unknown => unsupported(n, e),
    })?;
    let mut reader = ImageReader::new(Cursor::new(&original[..]));
    reader.set_format(match format {
        PhotoFormat::Jpeg => image::ImageFormat::Jpeg,
        PhotoFormat::Png => image::ImageFormat::Png,
        PhotoFormat::Webp => image::ImageFormat::WebP,
    });
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let unreadable = |e: image::ImageError| {
        unsupported(
            n,
            format!("cannot be read as {}: {e}", format.content_type()),
        )
    };
    // Reads the header only: the size is known before any pixel is decoded
    // (a side over MAX_SIDE_PX is refused by the limits right here).
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => ApiError::Unprocessable {
            code: "image_too_large",
            message: format!("photo {n}: a side is longer than {MAX_SIDE_PX} pixels"),
            details: serde_json::json!({"photo": n, "max_side_px": MAX_SIDE_PX, "max_pixels": MAX_PIXELS}),
        },
        e => unreadable(e),
    })?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_large(n, width, height));
    }
    // Phones store pictures sideways and say so in EXIF: turn the pixels
    // upright, since the public copy loses the EXIF that says so.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => too_large(n, width, height),
        e => unreadable(e),
    })?;
    picture.apply_orientation(orientation);
    let thumbnail = picture.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX);
    let internal = |e: image::ImageError| ApiError::Internal(format!("JPEG encoding: {e}"));
    Ok(ProcessedPhoto {
        format,
        sha256: sha256_hex(&original),
        width: picture.width(),
        height: picture.height(),
        exif_location: exif_location(&original),
        thumbnail_jpeg: jpeg(&thumbnail, 80).map_err(internal)?,
        public_jpeg: jpeg(&picture, 85).map_err(internal)?,
        original,
    })
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// A JPEG of the pixels only (no metadata of any kind).
fn jpeg(picture: &DynamicImage, quality: u8) -> image::ImageResult<Vec<u8>> {
    let rgb = picture.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).write_image(
        rgb.as_raw(),
        rgb.width(),
        rgb.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

/// The GPS position in a photo's EXIF as (lon, lat), if it has a sane one.
pub fn exif_location(bytes: &[u8]) -> Option<(f64, f64)> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    let coordinate = |value_tag, ref_tag, negative: u8| {
        let field = exif.get_field(value_tag, exif::In::PRIMARY)?;
        let exif::Value::Rational(parts) = &field.value else {
            return None;
        };
        let [d, m, s] = parts.as_slice() else {
            return None;
        };
        let value = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = match &exif.get_field(ref_tag, exif::In::PRIMARY)?.value {
            exif::Value::Ascii(v) if v.first().and_then(|r| r.first()) == Some(&negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * value).filter(|v| v.is_finite())
    };
    let lat = coordinate(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, b'S')?;
    let lon = coordinate(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, b'W')?;
    // 0,0 is what some phones write when they had no fix.
    let sane = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    (sane && (lat, lon) != (0.0, 0.0)).then_some((lon, lat))
}

/// Which of a photo's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
    Public,
}

/// Where a photo's file lives.
pub fn path(data_dir: &Path, sha256: &str, format: PhotoFormat, variant: Variant) -> PathBuf {
    let prefix = sha256.get(..2).unwrap_or("00");
    let name = match variant {
        Variant::Original => format!("{sha256}.{}", format.extension()),
        Variant::Thumbnail => format!("{sha256}.thumb.jpg"),
        Variant::Public => format!("{sha256}.public.jpg"),
    };
    data_dir.join("photos").join(prefix).join(name)
}

/// The format of a stored photo from its content type.
pub fn format_of(content_type: &str) -> PhotoFormat {
    match content_type {
        "image/png" => PhotoFormat::Png,
        "image/webp" => PhotoFormat::Webp,
        _ => PhotoFormat::Jpeg,
    }
}

/// Writes a photo's files that do not exist yet; answers the paths it
/// created (to remove if the database transaction fails). Each file is
/// written to a temporary name and renamed, so a reader never sees half a
/// file.
pub async fn write_files(data_dir: &Path, photo: &ProcessedPhoto) -> std::io::Result<Vec<PathBuf>> {
    let mut created = vec![];
    let files: [(Variant, &[u8]); 3] = [
        (Variant::Original, &photo.original),
        (Variant::Thumbnail, &photo.thumbnail_jpeg),
        (Variant::Public, &photo.public_jpeg),
    ];
    for (variant, bytes) in files {
        let target = path(data_dir, &photo.sha256, photo.format, variant);
        if tokio::fs::try_exists(&target).await? {
            continue;
        }
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let tmp = target.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        let written = async {
            tokio::fs::write(&tmp, bytes).await?;
            tokio::fs::rename(&tmp, &target).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        created.push(target);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = DynamicImage::new_rgb8(width, height);
        let mut out = Cursor::new(Vec::new());
        picture
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    }

    #[test]
    fn a_png_gets_a_small_thumbnail_and_a_jpeg_public_copy() {
        let photo = process(1, png(800, 400).into()).expect("photo");
        assert_eq!(photo.format, PhotoFormat::Png);
        assert_eq!((photo.width, photo.height), (800, 400));
        assert_eq!(photo.exif_location, None);
        let thumb = image::load_from_memory(&photo.thumbnail_jpeg).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        assert_eq!(sniff_photo(&photo.public_jpeg), Ok(PhotoFormat::Jpeg));
        assert_eq!(photo.sha256.len(), 64);
    }

    #[test]
    fn text_and_broken_images_are_refused() {
        let e = process(2, axum::body::Bytes::from_static(b"hello")).unwrap_err();
        assert!(e.to_string().starts_with("photo 2: not a photo"), "{e}");
        let e = process(
            1,
            axum::body::Bytes::from_static(b"\xFF\xD8\xFF\xE0garbage"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("cannot be read as image/jpeg"),
            "{e}"
        );
    }

    #[test]
    fn paths_are_content_addressed() {
        let p = path(
            Path::new("/d"),
            "abcdef",
            PhotoFormat::Webp,
            Variant::Original,
        );
        assert_eq!(p, Path::new("/d/photos/ab/abcdef.webp"));
        let p = path(
            Path::new("/d"),
            "abcdef",
            PhotoFormat::Webp,
            Variant::Thumbnail,
        );
        assert_eq!(p, Path::new("/d/photos/ab/abcdef.thumb.jpg"));
    }
}
