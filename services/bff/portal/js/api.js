// The portal's only way to talk to the bff: JSON calls with the session's CSRF
// token, uploads with progress, and RFC 9457 problem documents turned into
// ApiError values the views can show.

import { formatBytes } from './format.js';

export const API = '/api/v1';
const PROBLEMS = 'https://folio.dev/problems/';

let csrfToken = null;
let onUnauthenticated = () => {};

/** Remembers the CSRF token of the current session (null when signed out). */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called whenever a request answers 401 `unauthenticated` (session ended). */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

/** An error the user can be shown: built from a problem document, a network
 * failure, or an unexpected answer. */
export class ApiError extends Error {
  constructor({ status = 0, type = 'network', title = '', detail = '', errors = [], retryAfter = null, limit = null }) {
    super(detail || title || 'Request failed');
    this.name = 'ApiError';
    this.status = status;
    this.type = type; // the short name, e.g. "not-found", or "network"
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(errors) ? errors : [];
    this.retryAfter = retryAfter;
    // The problem's own members (RFC 9457 extensions), never read from its text.
    this.limit = Number.isSafeInteger(limit) && limit > 0 ? limit : null;
  }

  /** Errors for one field, e.g. fieldErrors('title'). */
  fieldErrors(field) {
    return this.errors.filter((e) => e.field === field).map((e) => e.message);
  }
}

/** A sentence for a person, whatever went wrong. */
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    return 'Something went wrong in the page. Reload it and try again.';
  }
  switch (err.type) {
    case 'network':
      return 'Cannot reach Folio. Check your connection and try again.';
    case 'aborted':
      return 'The upload was cancelled.';
    case 'upload-interrupted':
      return 'The upload was interrupted. The file may be too large, or the connection was lost.';
    case 'invalid-credentials':
      return 'Wrong email or password.';
    case 'provider-sign-in-only':
      return 'Your organisation signs in with its own provider: use the button below.';
    case 'sign-in-refused':
      return err.detail ? `Sign-in refused: ${err.detail}.` : 'Sign-in refused.';
    case 'provider-unavailable':
      return 'Your organisation’s sign-in provider cannot be reached. Try again later.';
    case 'provider-sign-in':
      return err.detail || 'Sign-in with your organisation’s provider is not possible right now.';
    case 'unauthenticated':
      return 'Your session has ended. Sign in again.';
    case 'csrf-failed':
      return 'Your session is out of date. Reload the page and try again.';
    case 'forbidden':
      return 'You do not have permission to do this. Your role may have changed: reload the page to see what you can do.';
    case 'current-password-incorrect':
      return 'Your current password is not correct.';
    case 'not-found':
      return 'Not found. It may have been deleted.';
    case 'payload-too-large':
      return err.limit
        ? `The file is too large: Folio accepts files of up to ${formatBytes(err.limit)}.`
        : 'The file is too large for Folio.';
    case 'rate-limited':
      return err.retryAfter
        ? `Too many attempts. Try again in ${formatWait(err.retryAfter)}.`
        : 'Too many attempts. Try again later.';
    case 'service-unavailable':
      return 'Folio is not available right now. Try again in a moment.';
    case 'last-admin':
      return 'The organisation needs at least one enabled admin.';
    case 'email-taken':
      return 'Another user already has this email.';
    case 'onedrive-connected':
      return 'The organisation is already connected to OneDrive. Disconnect it first.';
    case 'onedrive-refused':
      return err.detail ? `OneDrive refused: ${err.detail}.` : 'OneDrive refused.';
    case 'onedrive-conflict':
      return err.detail
        ? `Changed in OneDrive meanwhile: ${err.detail}.`
        : 'The file changed in OneDrive meanwhile; nothing was overwritten. Review its new version and send again.';
    case 'onedrive-too-large':
      return err.detail ? `Too large for OneDrive: ${err.detail}.` : 'OneDrive refused the file as too large.';
    case 'onedrive-throttled':
      return err.retryAfter
        ? `Microsoft Graph is busy with this organisation’s requests. Try again in ${formatWait(err.retryAfter)}.`
        : 'Microsoft Graph is busy with this organisation’s requests. Try again later.';
    case 'onedrive-unavailable':
      return err.detail ? `Microsoft Graph failed: ${err.detail}.` : 'Microsoft Graph failed. Try again in a moment.';
    case 'validation-failed': {
      const fields = err.errors.map((e) => `${e.field}: ${e.message}`);
      return fields.length ? `Please check: ${fields.join('; ')}.` : err.detail || 'The input is not valid.';
    }
    default:
      if (err.status >= 500) return 'Folio had a problem answering. Try again in a moment.';
      return err.detail || err.title || `Request failed (${err.status}).`;
  }
}

function formatWait(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

function shortType(type) {
  if (typeof type === 'string' && type.startsWith(PROBLEMS)) return type.slice(PROBLEMS.length);
  return 'unknown';
}

function retryAfterSeconds(value) {
  if (!value) return null;
  const n = Number.parseInt(value, 10);
  if (Number.isFinite(n) && n >= 0) return n;
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(1, Math.round((date - Date.now()) / 1000));
  return null;
}

/** Builds an ApiError from a status, the body text and a header getter. */
function problemFrom(status, contentType, text, getHeader) {
  let body = null;
  if (contentType && /json/i.test(contentType) && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  const retryAfter = retryAfterSeconds(getHeader('Retry-After'));
  if (body && typeof body === 'object' && typeof body.type === 'string') {
    return new ApiError({
      status,
      type: shortType(body.type),
      title: String(body.title || ''),
      detail: String(body.detail || ''),
      errors: body.errors,
      retryAfter,
      limit: body.limit,
    });
  }
  // Not a problem document: a proxy page, an empty body, ...
  const byStatus = {
    400: 'validation-failed',
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not-found',
    413: 'payload-too-large',
    429: 'rate-limited',
    502: 'service-unavailable',
    503: 'service-unavailable',
    504: 'service-unavailable',
  };
  return new ApiError({ status, type: byStatus[status] || 'unknown', retryAfter });
}

function handle401(err, path) {
  if (err.type === 'unauthenticated' && path !== '/session') onUnauthenticated(err);
  return err;
}

/**
 * Calls the API. `body` is sent as JSON; `query` is an object of query
 * parameters (empty values are left out). Resolves to the parsed JSON, or null
 * for 204. Rejects with an ApiError.
 */
export async function request(method, path, { body, query } = {}) {
  let url = API + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError({ type: 'network' });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    const err = problemFrom(response.status, response.headers.get('Content-Type'), text, (h) =>
      response.headers.get(h),
    );
    throw handle401(err, path);
  }
  if (response.status === 204 || !text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError({ status: response.status, type: 'unknown', detail: 'The answer was not understood.' });
  }
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body });
export const put = (path, body) => request('PUT', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);

/**
 * Uploads a multipart form with progress. `fields` is a list of [name, value]
 * pairs sent before the file (the bff streams the file, so it must be last).
 * Returns { promise, abort }; the promise resolves to { status, body }.
 */
export function upload(path, fields, file, onProgress) {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (value !== undefined && value !== null && value !== '') form.append(name, value);
  }
  form.append('file', file, file.name);

  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', API + path);
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      const status = xhr.status;
      const text = xhr.responseText;
      if (status >= 200 && status < 300) {
        try {
          resolve({ status, body: JSON.parse(text) });
        } catch {
          reject(new ApiError({ status, type: 'unknown', detail: 'The answer was not understood.' }));
        }
        return;
      }
      const err = problemFrom(status, xhr.getResponseHeader('Content-Type'), text, (h) => xhr.getResponseHeader(h));
      reject(handle401(err, path));
    });
    // A server that refuses an oversize body often closes the connection
    // before the browser sees the 413, which looks like a network error.
    xhr.addEventListener('error', () => reject(new ApiError({ type: 'upload-interrupted' })));
    xhr.addEventListener('abort', () => reject(new ApiError({ type: 'aborted' })));
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

/** Where to download a version (or the current one when number is omitted). */
export function contentUrl(documentId, number) {
  const id = encodeURIComponent(documentId);
  return number ? `${API}/documents/${id}/versions/${number}/content` : `${API}/documents/${id}/content`;
}
