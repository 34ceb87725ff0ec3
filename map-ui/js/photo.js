// Photos for issue reports: whatever the camera gives (JPEG, PNG, HEIC on an
// iPhone) is decoded by the browser and re-encoded to JPEG on a canvas, at
// most 1600 px on the long side. The server's image decoder has no HEIC, and
// a 12-megapixel original is too heavy for a village's mobile network.

const MAX_SIDE = 1600;
const QUALITY = 0.82;

async function decode(file) {
  if ('createImageBitmap' in window) {
    try {
      return await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      // Fall back to an <img>, which some browsers decode more formats with.
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Answers a JPEG Blob, or throws when the browser cannot read the photo. */
export async function toJpeg(file) {
  const image = await decode(file);
  const w = image.width || image.naturalWidth;
  const hgt = image.height || image.naturalHeight;
  const scale = Math.min(1, MAX_SIDE / Math.max(w, hgt));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(hgt * scale);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // transparent PNGs become white, not black
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  image.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
  if (!blob) throw new Error('cannot encode JPEG');
  return blob;
}
