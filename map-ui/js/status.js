// Weekly status of a chief (DESIGN.md "Rules") and issue status: colours,
// ordering, and lists as the API answers them.

/** Colours of the weekly status, shared by the map, the legend and the chips. */
export const STATUS_COLOURS = {
  compliant: '#2e9e4f',
  pending: '#f0a202',
  missed: '#d32f2f',
  exempt: '#9e9e9e',
  not_in_office: '#c7c7c7',
  unknown: '#1e88e5',
};

/** Overdue first: the order of the chief list. */
const LIST_ORDER = ['missed', 'pending', 'unknown', 'exempt', 'compliant', 'not_in_office'];

export function statusRank(status) {
  const i = LIST_ORDER.indexOf(status);
  return i < 0 ? LIST_ORDER.indexOf('unknown') : i;
}

/** When several chiefs share a reach: the best news wins (one valid patrol covers it). */
const REACH_ORDER = ['compliant', 'exempt', 'pending', 'missed', 'not_in_office', 'unknown'];

export function bestStatus(statuses) {
  let best = 'unknown';
  for (const s of statuses) {
    if (REACH_ORDER.indexOf(s) >= 0 && REACH_ORDER.indexOf(s) < REACH_ORDER.indexOf(best)) best = s;
  }
  return best;
}

export const ISSUE_STATUSES = ['reported', 'assigned', 'in_progress', 'resolved', 'closed'];
export const OPEN_ISSUE_STATUSES = ['reported', 'assigned', 'in_progress'];

export const ISSUE_COLOURS = {
  reported: '#d32f2f',
  assigned: '#f57c00',
  in_progress: '#f0a202',
  resolved: '#1e88e5',
  closed: '#757575',
};

/** Lists may come bare or wrapped ({items}, {patrols}, …): accept both. */
export function asList(body, ...keys) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return [];
  for (const k of [...keys, 'items', 'data', 'results']) {
    if (Array.isArray(body[k])) return body[k];
  }
  return [];
}
