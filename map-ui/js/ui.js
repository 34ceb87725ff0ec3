// Small DOM helpers shared by the pages: element building (no innerHTML with
// data, so names from the database cannot inject markup), notices, the login
// form and the page header.

import { ApiError, blobUrl, clearSession, currentUser, login, logout, token } from './api.js';
import { applyI18n, errorSentence, t, wireLangSwitch } from './i18n.js';

/** h('div.card#x', {onclick, title}, child, 'text', …) */
export function h(spec, attrs = {}, ...children) {
  const [tagAndClasses, id] = spec.split('#');
  const [tag, ...classes] = tagAndClasses.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (id) el.id = id;
  if (attrs == null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An <img> whose file needs the login (loaded with fetch, shown from a blob URL). */
export function authImg(path, attrs = {}) {
  const img = h('img', { alt: '', loading: 'lazy', ...attrs });
  if (path.startsWith('/')) {
    blobUrl(path).then((url) => { img.src = url; }).catch(() => { img.hidden = true; });
  } else {
    img.src = path;
  }
  return img;
}

/** Photo references of an issue as [thumbnail, full] paths, whatever their shape. */
export function photoRefs(issue) {
  return (issue?.photos || []).map((p) => (typeof p === 'string' ? [p, p] : [p.thumbnail_url || p.url, p.url || p.thumbnail_url]))
    .filter(([thumb]) => thumb);
}

/** A human message for any error (ApiError, network, other). */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('common.offline');
    const sentence = errorSentence(err.code, err.details);
    if (sentence) return sentence;
    return err.code && !err.code.startsWith('http_') ? `${err.message} (${err.code})` : err.message;
  }
  return err?.message || String(err);
}

/** Shows a notice line in `container` (kind: info | warn | error | ok). */
export function notice(container, text, kind = 'info') {
  const n = h(`div.notice.notice-${kind}`, { role: kind === 'error' ? 'alert' : 'status' }, text);
  container.append(n);
  return n;
}

let toastTimer;
/** A short message at the bottom of the screen. */
export function toast(text, kind = 'info') {
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div#toast', { role: 'status', 'aria-live': 'polite' });
    document.body.append(el);
  }
  el.className = `toast toast-${kind} show`;
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 4000);
}

/**
 * Shows the login form in `container` until a login succeeds, then resolves
 * with the user. Resolves at once when a token is stored.
 */
export function ensureLogin(container) {
  if (token() && currentUser()) return Promise.resolve(currentUser());
  return new Promise((resolve) => {
    const message = h('div.form-message', { role: 'alert' });
    const loginInput = h('input#login-name', { name: 'login', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
    const passwordInput = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button.primary#login-submit', { type: 'submit' }, t('login.submit'));
    const form = h('form.login-form#login-form',
      h('h2', t('login.title')),
      h('label', { for: 'login-name' }, t('login.login')), loginInput,
      h('label', { for: 'login-password' }, t('login.password')), passwordInput,
      submit, message);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      submit.textContent = t('login.busy');
      message.textContent = '';
      try {
        const user = await login(loginInput.value.trim(), passwordInput.value);
        container.hidden = true;
        container.replaceChildren();
        resolve(user);
      } catch (err) {
        message.textContent = t('login.failed', { msg: errorText(err) });
      } finally {
        submit.disabled = false;
        submit.textContent = t('login.submit');
      }
    });
    fill(container, form);
    container.hidden = false;
    loginInput.focus();
  });
}

/** When a stored token turns out to be expired, go back to the login form. */
export function reloadOnUnauthorized() {
  window.addEventListener('rc:unauthorized', () => {
    sessionStorage.setItem('rc.loginNote', t('login.expired'));
    location.reload();
  });
}

/** Wires the common header: language switch, user name, logout. */
export function wireHeader({ onLangChange } = {}) {
  applyI18n();
  const langButton = document.getElementById('lang-switch');
  if (langButton) wireLangSwitch(langButton, onLangChange);
  const logoutButton = document.getElementById('logout');
  if (logoutButton) {
    logoutButton.addEventListener('click', async () => {
      await logout();
      location.reload();
    });
  }
  const note = sessionStorage.getItem('rc.loginNote');
  if (note) {
    sessionStorage.removeItem('rc.loginNote');
    toast(note, 'warn');
  }
}

/** Shows who is logged in. */
export function showUser(user, extra = '') {
  const el = document.getElementById('user-name');
  if (el) el.textContent = [user?.login, extra].filter(Boolean).join(' · ');
  const logoutButton = document.getElementById('logout');
  if (logoutButton) logoutButton.hidden = !user;
}

export { clearSession };
