// Track files from other apps (两步路, 六只脚, 奥维…): the content type the
// upload needs, from the file's own type or, as phones and WeChat often
// drop it, from the name's extension.

const TYPES = {
  gpx: 'application/gpx+xml',
  kml: 'application/vnd.google-earth.kml+xml',
  geojson: 'application/geo+json',
  json: 'application/geo+json',
};

/** The upload content type of `file`, or undefined when it is no track file we read. */
export function trackType(file) {
  const ext = file.name.split('.').pop().toLowerCase();
  return Object.values(TYPES).includes(file.type) ? file.type : TYPES[ext];
}
