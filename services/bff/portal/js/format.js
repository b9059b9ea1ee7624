// Turning API values into text for people.

import { h } from './dom.js';

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** 1536 -> "1.5 KB" (powers of 1024, like most file managers). */
export function formatBytes(size) {
  const n = Number(size);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n === 1) return '1 byte';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "5 minutes ago" for recent times, else a local date and time. */
export function formatWhen(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const seconds = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(seconds / 3600), 'hour');
  if (abs < 7 * 86400) return relative.format(Math.round(seconds / 86400), 'day');
  return dateTime.format(new Date(t));
}

/** A <time> element: relative text, exact time in the tooltip. */
export function timeEl(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return h('span', { text: '' });
  return h('time', { datetime: iso, title: dateTime.format(new Date(t)), text: formatWhen(iso) });
}

/** "2025-03-01" -> "1 Mar 2025". */
export function formatDate(ymd) {
  if (!ymd) return '';
  const t = Date.parse(`${ymd}T00:00:00Z`);
  return Number.isNaN(t) ? ymd : dateOnly.format(new Date(t));
}

/** Today as YYYY-MM-DD in local time. */
export function todayYmd() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function shortId(id) {
  return String(id || '').slice(0, 8);
}

export const TASK_STATUS_LABELS = { open: 'Open', in_progress: 'In progress', done: 'Done' };
export const TASK_KIND_LABELS = { todo: 'To do', approval: 'Approval', request: 'Request' };
export const ROLE_LABELS = { admin: 'Admin', editor: 'Editor', viewer: 'Viewer' };

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Seconds as people say them: "2 s", "4 min", "1 h 5 min", "2 d 3 h". */
export function formatDuration(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s < 0) return '';
  if (s < 1) return 'under 1 s';
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const [big, unit, rest, restUnit] = s < 86400 ? [3600, 'h', 60, 'min'] : [86400, 'd', 3600, 'h'];
  const whole = Math.floor(s / big);
  const part = Math.floor((s % big) / rest);
  return part ? `${whole} ${unit} ${part} ${restUnit}` : `${whole} ${unit}`;
}
