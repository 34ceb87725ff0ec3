// The public complaint page (/report, 群众诉求): anonymous, no login, sent
// through the Open311 GeoReport v2 API (form-encoded, as the standard says).

import { ApiError, errorFrom } from './api.js';
import { CATEGORIES, categoryName, t } from './i18n.js';
import { errorText, fill, h, notice, wireHeader } from './ui.js';
import { gpsReason } from './messages.js';

const $ = (id) => document.getElementById(id);
let location_ = null;

wireHeader({ onLangChange: () => setupCategories() });
setupCategories();

async function setupCategories() {
  const select = $('report-category');
  const chosen = select.value;
  fill(select, CATEGORIES.map((c) => h('option', { value: c }, categoryName(c))));
  try {
    const r = await fetch('/open311/v2/services.json');
    if (r.ok) {
      const services = await r.json();
      if (Array.isArray(services) && services.length) {
        fill(select, services.map((s) => h('option', { value: s.service_code },
          categoryName(s.service_code) === s.service_code ? s.service_name : categoryName(s.service_code))));
      }
    }
  } catch {
    // The defaults will do.
  }
  if (chosen) select.value = chosen;
}

$('report-locate').addEventListener('click', () => {
  if (!('geolocation' in navigator)) return;
  fill($('report-location'), t('chief.issueLocating'));
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      location_ = { lat: pos.coords.latitude, lon: pos.coords.longitude };
      fill($('report-location'), `${location_.lat.toFixed(5)}, ${location_.lon.toFixed(5)} (±${Math.round(pos.coords.accuracy)} m)`);
    },
    (err) => fill($('report-location'), t('chief.gpsDenied', { msg: gpsReason(err.code) })),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
  );
});

$('report-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const msg = $('report-message');
  fill(msg);
  const address = $('report-address').value.trim();
  if (!location_ && !address) return notice(msg, t('report.needPlace'), 'warn');
  const form = new URLSearchParams({ service_code: $('report-category').value, description: $('report-description').value.trim() });
  if (location_) {
    form.set('lat', String(location_.lat));
    form.set('long', String(location_.lon));
  }
  if (address) form.set('address_string', address);
  if ($('report-phone').value.trim()) form.set('phone', $('report-phone').value.trim());
  $('report-submit').disabled = true;
  try {
    const r = await fetch('/open311/v2/requests.json', { method: 'POST', body: form });
    if (!r.ok) throw await errorFrom(r);
    const body = await r.json();
    const id = (Array.isArray(body) ? body[0] : body)?.service_request_id ?? '';
    notice(msg, t('report.sent', { id }), 'ok');
    $('report-form').reset();
    location_ = null;
    fill($('report-location'));
  } catch (err) {
    const text = err instanceof ApiError && err.unavailable ? t('common.unavailable', { what: 'Open311' }) : errorText(err);
    notice(msg, text, 'error');
  } finally {
    $('report-submit').disabled = false;
  }
});
