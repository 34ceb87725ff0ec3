// What the server's codes mean to a person: one sentence per error code and
// per validity reason, Chinese first, English when the page is switched.
// Pages never show a code, the server's (English) message or raw bytes:
// errorSentence() and reasonSentences() are the only way codes reach text.
// tests/browser/codes.test.js reads every code the Rust source can answer
// and fails when one has no sentence here.

import { lang, t } from './i18n.js';
import { weekRange } from './time.js';

/** The town rules DESIGN.md gives as defaults, for when a town's own cannot be read. */
export const DEFAULT_RULES = {
  min_duration_s: 600,
  min_length_m: 500,
  min_coverage: 0.5,
  buffer_m: 50,
  fast_speed_kmh: 25,
  max_fast_share: 0.2,
  future_tolerance_s: 300,
  max_duration_h: 8,
  max_gap_min: 60,
  upload_grace_days: 2,
};

// {name} is filled from the error's details (and a few derived values).
export const ERRORS = {
  zh: {
    network: '网络不通，请稍后再试。',
    bad_request: '请求的格式不对，服务器无法处理。请刷新页面后重试。',
    unauthorized: '登录已过期，请重新登录。',
    invalid_credentials: '账号或密码错误。',
    too_many_attempts: '密码错误次数过多，请 {wait}后再试。',
    weak_password: '密码太简单，未保存。请换一个更长、不常见的密码。',
    'weak_password.too_short': '密码至少需要 {min_length} 个字符，请设置更长的密码。',
    'weak_password.only_spaces': '密码不能全是空格。',
    'weak_password.same_as_login': '密码不能与账号相同。',
    'weak_password.common_password': '这是最常见的密码之一，很容易被猜中，请换一个。',
    forbidden: '您的账号没有权限做这件事。如需办理，请联系河长办。',
    not_found: '要找的记录不存在，可能已被删除。请刷新页面。',
    conflict: '这项操作与现有记录冲突（例如编号重复或状态已变）。请刷新页面后再试。',
    invalid_field: '「{fieldName}」填写有误，请检查后再提交。',
    invalid_body: '提交的内容不完整或格式不对。请检查填写的内容后重试。',
    malformed_json: '提交的内容不是有效的数据格式。请刷新页面后重试。',
    malformed_multipart: '文件或照片没有完整传到服务器。请重新选择后再提交。',
    invalid_path: '网址有误，请从页面上的链接进入。',
    invalid_query: '查询条件有误，请重新选择后再试。',
    invalid_week: '周次有误，应为“2026-W48”这样的格式。请重新选择周次。',
    invalid_quarter: '季度有误，应为“2026-Q4”这样的格式。请重新选择季度。',
    invalid_year: '年份有误，请重新选择。',
    invalid_date_range: '结束日期早于开始日期。请把结束日期改为开始日期当天或之后。',
    date_out_of_range: '日期超出了可以处理的范围。请检查日期。',
    week_and_quarter: '周次和季度只能选一个。',
    invalid_format: '不支持这种下载格式，请选择 CSV、XLSX 或 PDF。',
    town_required: '有多个乡镇，请先选择一个乡镇。',
    invalid_tile: '地图瓦片的编号有误。请刷新地图。',
    invalid_transition: '问题当前状态为“{statusName}”，不能执行这项操作。请刷新页面查看最新状态。',
    unknown_category: '问题类别不存在，请从列表中选择类别。',
    unsupported_photo: '照片无法识别，只能上传 JPEG、PNG 或 WebP 照片。请用手机相机重新拍摄。',
    unsupported_media_type: '不支持这种文件类型。巡河轨迹请上传 GPX、KML 或 GeoJSON 文件，照片请上传 JPEG、PNG 或 WebP。',
    payload_too_large: '文件太大，超过了服务器允许的大小。轨迹文件不超过 20 MB，照片每张不超过 10 MB。',
    request_timeout: '网络太慢，文件没有传完。请在信号好的地方重试，记录已保存在手机上。',
    too_many_requests: '尝试次数太多，请过 {wait} 再试。',
    database_unavailable: '服务器暂时连不上数据库，请稍后再试。您的记录不会丢失。',
    timeout: '服务器处理超时，请稍后再试。',
    storage_full: '服务器存储空间已满，暂时不能保存。请联系河长办或管理员。',
    storage_unavailable: '服务器暂时不能保存文件，请稍后再试。',
    pdf_font_missing: '服务器缺少生成 PDF 所需的中文字体，暂时不能下载 PDF。请先下载 XLSX，或联系管理员安装字体。',
    internal: '服务器出错了，请稍后再试。如果一直出错，请联系管理员。',
    malformed_track: '文件无法读取为巡河轨迹。请从记录软件重新导出 GPX、KML 或 GeoJSON 文件后上传。',
    no_track: '文件里没有找到轨迹。请确认导出的是“轨迹”而不是“路线”或“标注点”。',
    no_timestamps: '轨迹没有时间记录，无法判断何时巡河。请用记录时间的软件（如本页的“开始巡河”）记录。',
    too_few_points: '轨迹的点太少，无法计算。请开启定位后完整记录一次巡河。',
    invalid_coordinates: '轨迹中有无效的经纬度。请从记录软件重新导出后上传。',
    invalid_timestamp: '轨迹中有无效的时间（例如早于 2000 年或格式不对）。请检查手机的日期和时间设置。',
    invalid_tenure: '离任日期早于任职日期。请检查日期。',
    invalid_week_status: '周状态有误。',
    too_many_weeks: '选择的时间范围太长，请缩短后再查。',
    invalid_score_formula: '考核评分公式有误。请联系管理员检查本镇的评分设置。',
    invalid_rule_set: '巡河规则设置有误（数值超出范围或名称不对）。请检查后再保存。',
    too_many_photos: '照片太多，每个问题最多 6 张。请删去几张后再提交。',
    missing_track: '没有收到轨迹文件。请重新选择轨迹文件后上传。',
    format_not_supported: '这台服务器不能生成 PDF。请下载 XLSX 或 CSV。',
    no_such_endpoint: '服务器没有这项功能，可能版本较旧。请联系管理员。',
    week_not_current: '只能催办本周尚未巡河的河长；已结束的周不能再催办。',
    exemption_not_requested: '这条请假已经处理过了（已批准或未批准），不能再次审批。请刷新页面查看。',
    image_too_large: '照片 {width}×{height} 像素，超过 {max_wan} 万像素的上限。请用手机相机重新拍摄或压缩后再上传。',
    'image_too_large.side': '照片的边长超过 {max_side_px} 像素的上限。请用手机相机重新拍摄或压缩后再上传。',
    text_too_long: '“{fieldName}”共 {length} 个字，超过 {limit} 个字的上限。请删减后再提交。',
    control_character: '“{fieldName}”含有无法保存的控制字符（如空字符）。请删去后重新输入。',
    invalid_phone: '“{fieldName}”不是电话号码：只能填数字、“+”、“-”和空格。',
    invalid_channel_kind: '渠道类型只能是企业微信群机器人、钉钉群机器人或 Webhook。',
    invalid_channel_url: 'Webhook 地址须以 http:// 或 https:// 开头，请从群机器人设置中完整复制。',
    invalid_channel_events: '请至少选择一项发送内容（催办或周通报）。',
    invalid_schedule: '催办或通报时间的格式不对，应为“FRI 17:00”这样的星期和时间（北京时间），或留空表示不发送。',
  },
  en: {
    network: 'No network connection. Please try again later.',
    bad_request: 'The server could not understand the request. Reload the page and try again.',
    unauthorized: 'Your login has expired. Please log in again.',
    invalid_credentials: 'Wrong login or password.',
    too_many_attempts: 'Too many wrong passwords: try again in {wait}.',
    weak_password: 'The password is too weak and was not saved. Choose a longer, less common one.',
    'weak_password.too_short': 'A password needs at least {min_length} characters; choose a longer one.',
    'weak_password.only_spaces': 'A password cannot be only spaces.',
    'weak_password.same_as_login': 'A password cannot be the same as the login.',
    'weak_password.common_password': 'This is one of the most common passwords and easy to guess; choose another.',
    forbidden: 'Your account may not do this. Ask the river-chief office.',
    not_found: 'That record does not exist; it may have been deleted. Reload the page.',
    conflict: 'This conflicts with an existing record (a duplicate code or a changed status). Reload the page and try again.',
    invalid_field: '“{fieldName}” is not valid. Please check it and submit again.',
    invalid_body: 'What was sent is incomplete or malformed. Check the form and try again.',
    malformed_json: 'What was sent is not valid data. Reload the page and try again.',
    malformed_multipart: 'The file or photo did not reach the server completely. Choose it again and resend.',
    invalid_path: 'The address is wrong. Use the links on the page.',
    invalid_query: 'The filter is not valid. Choose again.',
    invalid_week: 'The week must look like “2026-W48”. Choose the week again.',
    invalid_quarter: 'The quarter must look like “2026-Q4”. Choose the quarter again.',
    invalid_year: 'The year is not valid. Choose again.',
    invalid_date_range: 'The end date is before the start date. Make it the same day or later.',
    date_out_of_range: 'The date is outside the range that can be handled. Check it.',
    week_and_quarter: 'Choose either a week or a quarter, not both.',
    invalid_format: 'That download format is not offered: choose CSV, XLSX or PDF.',
    town_required: 'There are several towns: choose one first.',
    invalid_tile: 'A map tile address is wrong. Reload the map.',
    invalid_transition: 'The problem is “{statusName}” now, so this action is not possible. Reload to see its current state.',
    unknown_category: 'That problem category does not exist. Choose one from the list.',
    unsupported_photo: 'The photo cannot be read: only JPEG, PNG and WebP. Take it again with the phone camera.',
    unsupported_media_type: 'This kind of file is not accepted. Tracks: GPX, KML or GeoJSON; photos: JPEG, PNG or WebP.',
    payload_too_large: 'The file is too large: tracks up to 20 MB, photos up to 10 MB each.',
    request_timeout: 'The network was too slow to finish sending. Try again where the signal is better; the record is kept on the phone.',
    too_many_requests: 'Too many attempts. Try again in {wait}.',
    database_unavailable: 'The server cannot reach its database right now. Try again shortly; nothing is lost.',
    timeout: 'The server took too long. Try again shortly.',
    storage_full: 'The server’s storage is full, so nothing can be saved now. Tell the office or the administrator.',
    storage_unavailable: 'The server cannot store files right now. Try again shortly.',
    pdf_font_missing: 'The server lacks the Chinese font for PDF reports. Download the XLSX, or ask the administrator to install the font.',
    internal: 'Something went wrong on the server. Try again later; if it persists, tell the administrator.',
    malformed_track: 'The file cannot be read as a patrol track. Export GPX, KML or GeoJSON again from the recording app.',
    no_track: 'No track was found in the file. Export the “track”, not a route or waypoints.',
    no_timestamps: 'The track has no times, so it cannot tell when the patrol was. Record with an app that keeps times (such as “Start patrol” on this page).',
    too_few_points: 'The track has too few points. Turn location on and record a whole patrol.',
    invalid_coordinates: 'The track has invalid coordinates. Export it again from the recording app.',
    invalid_timestamp: 'The track has an invalid time (before 2000 or malformed). Check the phone’s date and time settings.',
    invalid_tenure: 'The leaving date is before the appointment date. Check the dates.',
    invalid_week_status: 'The week status is not valid.',
    too_many_weeks: 'The period is too long. Choose a shorter one.',
    invalid_score_formula: 'The assessment score formula is not valid. Ask the administrator to check the town’s scoring settings.',
    invalid_rule_set: 'The patrol rules are not valid (a value out of range or a wrong name). Check them and save again.',
    too_many_photos: 'Too many photos: at most 6 per problem. Remove some and send again.',
    missing_track: 'No track file arrived. Choose the track file again and upload it.',
    format_not_supported: 'This server cannot make PDF files. Download the XLSX or CSV instead.',
    no_such_endpoint: 'The server does not have this function; it may be an older version. Tell the administrator.',
    week_not_current: 'Only this week\'s chiefs who have not patrolled can be reminded; a week that is over cannot.',
    exemption_not_requested: 'This leave request was already decided (approved or not); reload the page to see it.',
    image_too_large: 'The photo is {width}×{height} pixels, more than the limit of {max_mp} megapixels. Take it again with the phone camera or make it smaller, then upload it.',
    'image_too_large.side': 'A side of the photo is longer than the limit of {max_side_px} pixels. Take it again with the phone camera or make it smaller, then upload it.',
    text_too_long: '“{fieldName}” has {length} characters, more than the limit of {limit}. Shorten it and send it again.',
    control_character: '“{fieldName}” contains a control character (such as a NUL) that cannot be saved. Remove it and type it again.',
    invalid_phone: '“{fieldName}” is not a phone number: use only digits, “+”, “-” and spaces.',
    invalid_channel_kind: 'The channel must be a WeCom group robot, a DingTalk group robot or a webhook.',
    invalid_channel_url: 'The webhook address must start with http:// or https://: copy it whole from the robot\'s settings.',
    invalid_channel_events: 'Choose at least one thing to send (reminders or bulletins).',
    invalid_schedule: 'A reminder or bulletin time must look like “FRI 17:00” (China time), or be empty to turn it off.',
  },
};

// Reason sentences: the measured value beside the town's threshold, and what to do.
export const REASONS = {
  zh: {
    too_short: '巡河里程 {length_m} 米，少于本镇要求的 {min_length_m} 米。请沿河段完整走一遍。',
    too_brief: '巡河时长 {duration_min} 分钟，少于本镇要求的 {min_duration_min} 分钟。请沿河段完整走一遍后再结束记录。',
    low_coverage: '覆盖河段 {coverage_pct}%，本镇要求至少 {min_coverage_pct}%。请把负责的河段走完整。',
    outside_assigned_reaches: '轨迹没有经过您当天负责的河段。请在自己的河段巡河；如果河段分配有误，请联系河长办。',
    too_fast: '有 {fast_pct}% 的路程速度超过每小时 {fast_speed_kmh} 公里，本镇上限为 {max_fast_pct}%。请步行、骑车或乘船巡河，不要乘车。',
    duplicate_track: '这条轨迹与以前上传的巡河记录相同或几乎相同。请上传本次实际巡河的轨迹。',
    future_timestamps: '轨迹中有晚于上传时间的点。请检查手机的日期和时间设置后重新记录。',
    non_increasing_times: '轨迹中的时间先后顺序不对（有倒退或重复）。请检查手机的时间设置，或从记录软件重新导出。',
    too_long: '巡河从首点到末点共 {duration_h} 小时，超过本镇上限 {max_duration_h} 小时。一次巡河请单独记录、及时上传。',
    time_gap: '轨迹中有超过 {max_gap_min} 分钟没有记录的间断。一次巡河请连续记录；不同的巡河请分开上传。',
    late_upload: '这次巡河属于 {week}，在该周结束 {late_days} 天后才上传，本镇规定最多 {upload_grace_days} 天。请巡河后及时上传。',
  },
  en: {
    too_short: 'The patrol is {length_m} m long, less than the town’s {min_length_m} m. Walk the whole reach.',
    too_brief: 'The patrol took {duration_min} minutes, less than the town’s {min_duration_min}. Walk the whole reach before ending the recording.',
    low_coverage: 'It covered {coverage_pct}% of the reach; the town asks for at least {min_coverage_pct}%. Walk the whole reach.',
    outside_assigned_reaches: 'The track does not pass your reaches of that day. Patrol your own reach; if the assignment is wrong, tell the office.',
    too_fast: '{fast_pct}% of the way was faster than {fast_speed_kmh} km/h; the town allows {max_fast_pct}%. Walk, cycle or go by boat, not by car.',
    duplicate_track: 'This track is the same, or nearly the same, as an earlier patrol. Upload the track of this patrol.',
    future_timestamps: 'The track has points later than the upload. Check the phone’s date and time and record again.',
    non_increasing_times: 'The track’s times go backwards or repeat. Check the phone’s clock, or export again from the recording app.',
    too_long: 'From first to last point the patrol took {duration_h} hours, more than the town’s {max_duration_h}. Record each patrol on its own and upload it soon.',
    time_gap: 'The track has a break of more than {max_gap_min} minutes. Record a patrol without breaks; upload separate patrols separately.',
    late_upload: 'This patrol belongs to {week} and was uploaded {late_days} days after that week ended; the town allows {upload_grace_days}. Upload soon after patrolling.',
  },
};

const FIELD_NAMES = {
  zh: { from: '开始日期', to: '结束日期', reason: '理由', note: '备注', notes: '巡河日志', name: '姓名', phone: '电话', body: '提交的内容',
    description: '问题描述', category: '问题类别', location: '位置', password: '密码', login: '账号', chief_id: '河长',
    assignee_id: '处理人', week: '周次', quarter: '季度', rules: '巡河规则', code: '编号' },
  en: { from: 'Start date', to: 'End date', reason: 'Reason', note: 'Note', notes: 'Patrol notes', name: 'Name', phone: 'Phone',
    description: 'Description', category: 'Category', location: 'Location', password: 'Password', login: 'Login', body: 'The data sent' },
};

const dict = (table) => table[lang()] || table.zh;

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? '—'));
}

function waitText(seconds) {
  const s = Math.max(1, Math.round(Number(seconds) || 60));
  if (lang() === 'en') return s < 120 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
  return s < 120 ? `${s} 秒` : `${Math.ceil(s / 60)} 分钟`;
}

/** The values an error sentence may name, from its details. */
function errorVars(err) {
  const d = err.details && typeof err.details === 'object' ? err.details : {};
  const field = String(d.field || '');
  const base = field.replace(/\[\d+\]/g, '').split('.').pop();
  return {
    ...d,
    fieldName: dict(FIELD_NAMES)[base] || FIELD_NAMES.zh[base] || base || (lang() === 'en' ? 'a field' : '某一项'),
    statusName: d.status ? t(`issue.status.${d.status}`) : '',
    wait: waitText(d.retry_after_s ?? err.retryAfter),
    max_wan: d.max_pixels / 10000,
    max_mp: d.max_pixels / 1e6,
  };
}

/** Whether there is a sentence for this error code. */
export function hasErrorSentence(code) {
  return code in ERRORS.zh;
}

/** A sentence for an API error (ApiError from api.js, or anything thrown). */
export function errorSentence(err) {
  const code = err?.status === 0 ? 'network' : err?.code;
  // Some codes have a sentence per variant: `details.rule`
  // (weak_password.too_short), or a photo refused for its side, not its area.
  const d = err?.details || {};
  const rule = d.rule ?? (code === 'image_too_large' && d.width === undefined ? 'side' : undefined);
  const text = code && (dict(ERRORS)[`${code}.${rule}`] || dict(ERRORS)[code]);
  if (text) return fill(text, errorVars(err));
  // A code this page does not know yet: say what kind of failure it was,
  // never the server's English message.
  const status = Number(err?.status) || 0;
  if (status >= 500) return dict(ERRORS).internal;
  if (status === 401) return dict(ERRORS).unauthorized;
  if (status === 403) return dict(ERRORS).forbidden;
  if (status === 404) return dict(ERRORS).not_found;
  if (status === 409) return dict(ERRORS).conflict;
  return lang() === 'en' ? `The request was refused (${status || 'error'}). Check what you entered and try again.`
    : `请求未被接受（${status || '错误'}）。请检查填写的内容后重试。`;
}

const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : '—');

/** Days from the end (Sunday 24:00 CST) of `week` to `instant`, rounded up. */
function daysAfterWeek(week, instant) {
  const range = weekRange(week);
  if (!range || !instant) return null;
  const end = Date.parse(`${range.to}T00:00:00+08:00`) + 86400000;
  return Math.max(0, Math.ceil((Date.parse(instant) - end) / 86400000));
}

/** The values reason sentences name: the patrol's measures and the town's thresholds. */
function reasonVars(patrol, rules) {
  const r = { ...DEFAULT_RULES, ...(rules || {}) };
  return {
    length_m: round(patrol.length_m),
    min_length_m: round(r.min_length_m),
    duration_min: round((patrol.duration_s || 0) / 60),
    min_duration_min: round(r.min_duration_s / 60),
    coverage_pct: round((patrol.coverage || 0) * 100),
    min_coverage_pct: round(r.min_coverage * 100),
    fast_pct: round((patrol.fast_share || 0) * 100),
    fast_speed_kmh: round(r.fast_speed_kmh),
    max_fast_pct: round(r.max_fast_share * 100),
    duration_h: round((patrol.duration_s || 0) / 3600, 1),
    max_duration_h: round(r.max_duration_h, 1),
    max_gap_min: round(r.max_gap_min),
    week: patrol.week || '',
    late_days: daysAfterWeek(patrol.week, patrol.uploaded_at) ?? '—',
    upload_grace_days: r.upload_grace_days ?? '—',
  };
}

/** Whether there is a sentence for this reason code. */
export function hasReasonSentence(code) {
  return code in REASONS.zh;
}

/** One sentence per reason the patrol is invalid, with the town's `rules` (effective). */
export function reasonSentences(patrol, rules) {
  const vars = reasonVars(patrol || {}, rules);
  return (patrol?.reasons || []).map((code) => {
    const text = dict(REASONS)[code];
    return text ? fill(text, vars) : (lang() === 'en' ? 'This patrol breaks one of the town’s rules.' : '这次巡河不符合本镇的一项巡河规则。');
  });
}

// The geolocation API's error codes (1 denied, 2 unavailable, 3 timeout);
// its messages are the browser's English.
const GPS = {
  zh: { 1: '未允许本页使用位置信息', 2: '手机暂时无法定位（请到开阔处，并打开 GPS）', 3: '定位超时（请到开阔处再试）', 0: '这台设备不支持定位' },
  en: { 1: 'this page may not use your location', 2: 'the phone cannot get a position now (go outdoors, turn GPS on)', 3: 'positioning timed out (try again outdoors)', 0: 'this device has no positioning' },
};

/** Why there is no position, from a GeolocationPositionError's `code`. */
export function gpsReason(code) {
  return dict(GPS)[code] ?? dict(GPS)[0];
}

/** A notice in words: the page's sentence filled from `details`, else the server's (zh-CN) text. */
export function noticeSentence(notice) {
  const details = notice.details || {};
  const key = `notice.${notice.kind}`;
  const main = t(key, { ...details, week: notice.week || '' });
  if (main === key || /\{\w+\}/.test(main)) return notice.text;
  return details.note ? `${main}${t('notice.note', { note: details.note })}` : main;
}
