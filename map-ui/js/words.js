// Sentences for codes from the server: error codes, patrol reasons and
// notices, from i18n.js with the figures filled in. The pages never show a
// bare code; when no sentence exists, the server's own message stands in.

import { t } from './i18n.js';
import { errorText } from './ui.js';
import { formatDuration, formatLength } from './time.js';

/** The sentence for `key` with `vars`, or null when there is none or a figure is missing. */
function sentence(key, vars) {
  const text = t(key, vars);
  return text === key || /\{\w+\}/.test(text) ? null : text;
}

/** An API error in words: its code's sentence, else the server's message. */
export function errorSentence(err) {
  return (err?.code && sentence(`error.${err.code}`, {})) || errorText(err);
}

/** One reason a patrol is invalid, in words, with the patrol's own figures. */
export function reasonSentence(code, patrol = {}) {
  const vars = {
    length: formatLength(patrol.length_m || 0),
    duration: formatDuration(patrol.duration_s || 0, t),
    pct: Math.round((patrol.coverage || 0) * 100),
  };
  return sentence(`reason.${code}`, vars) || code;
}

/** A notice in words: the page's sentence filled from `details`, else the server's text. */
export function noticeSentence(notice) {
  const details = notice.details || {};
  const main = sentence(`notice.${notice.kind}`, { ...details, week: notice.week || '' });
  if (!main) return notice.text;
  return details.note ? `${main}${t('notice.note', { note: details.note })}` : main;
}
