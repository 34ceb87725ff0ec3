// Map settings. By default the map needs nothing from the internet: a plain
// background and our own layers. An office with internet may turn on a
// raster basemap (天地图 with its key, or OpenStreetMap); the choice is kept
// in this browser's localStorage. Both are in WGS-84/CGCS2000, like our data
// (no GCJ-02 shift). A deployment can change the defaults here.

export const DEFAULTS = {
  basemap: 'none', // 'none' | 'osm' | 'tianditu' | 'xyz'
  tiandituKey: '',
  // Any XYZ raster service, e.g. a county GIS server: https://gis.example.cn/tiles/{z}/{x}/{y}.png
  xyzUrl: '',
};

const KEY = 'rc.mapSettings';

export function mapSettings() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || '{}') };
  } catch {
    return { ...DEFAULTS };
  }
}

export function saveMapSettings(settings) {
  localStorage.setItem(KEY, JSON.stringify(settings));
}

/** Raster sources and layers for the chosen basemap (empty for 'none'). */
export function basemapLayers(settings) {
  if (settings.basemap === 'osm') {
    return {
      sources: {
        basemap: {
          type: 'raster',
          tiles: ['https://tile.openstreetmap.org/{z}/{x}/{y}.png'],
          tileSize: 256,
          maxzoom: 19,
          attribution: '© OpenStreetMap contributors',
        },
      },
      layers: [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.85 } }],
    };
  }
  if (settings.basemap === 'tianditu' && settings.tiandituKey) {
    const tk = encodeURIComponent(settings.tiandituKey);
    const wmts = (layer) => [0, 1, 2, 3, 4, 5, 6, 7].map((s) =>
      `https://t${s}.tianditu.gov.cn/${layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=${layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=${tk}`);
    return {
      sources: {
        basemap: { type: 'raster', tiles: wmts('vec'), tileSize: 256, maxzoom: 18, attribution: '© 天地图' },
        'basemap-labels': { type: 'raster', tiles: wmts('cva'), tileSize: 256, maxzoom: 18 },
      },
      layers: [
        { id: 'basemap', type: 'raster', source: 'basemap' },
        { id: 'basemap-labels', type: 'raster', source: 'basemap-labels' },
      ],
    };
  }
  if (settings.basemap === 'xyz' && /^https:\/\/.+\{z\}.+\{x\}.+\{y\}/.test(settings.xyzUrl || '')) {
    return {
      sources: { basemap: { type: 'raster', tiles: [settings.xyzUrl], tileSize: 256, maxzoom: 19 } },
      layers: [{ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.85 } }],
    };
  }
  return { sources: {}, layers: [] };
}
