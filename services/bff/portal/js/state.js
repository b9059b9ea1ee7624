// What the portal knows about the signed-in user, and small caches that turn
// ids into names (users) and titles (documents).

import { get, ApiError } from './api.js';
import { shortId } from './format.js';

export const session = {
  user: null,
};

export function setUser(user) {
  session.user = user;
  users = null;
  usersPromise = null;
  documentTitles.clear();
}

export const isAdmin = () => session.user?.role === 'admin';
export const canWrite = () => session.user?.role === 'admin' || session.user?.role === 'editor';

// ---- users -----------------------------------------------------------------

let users = null; // Map id -> User, when the list could be read (admins)
let usersPromise = null;

/** The organisation's users (admins only); null when not available. */
export async function loadUsers({ refresh = false } = {}) {
  if (!isAdmin()) return null;
  if (refresh) {
    users = null;
    usersPromise = null;
  }
  if (users) return [...users.values()];
  if (!usersPromise) {
    usersPromise = get('/users')
      .then((answer) => {
        users = new Map(answer.items.map((u) => [u.id, u]));
        return [...users.values()];
      })
      .catch((err) => {
        usersPromise = null;
        if (err instanceof ApiError && err.type === 'forbidden') return null;
        throw err;
      });
  }
  return usersPromise;
}

/** Users to offer in an assignee picker: enabled users, or just "me". */
export async function assignableUsers() {
  let list = null;
  try {
    list = await loadUsers();
  } catch {
    list = null;
  }
  if (!list) return [session.user];
  return list.filter((u) => !u.disabled || u.id === session.user.id).sort(byName);
}

function byName(a, b) {
  return a.display_name.localeCompare(b.display_name);
}

/** A person's name for display: "you", their display name, or a short id. */
export function personName(id) {
  if (!id) return 'nobody';
  if (session.user && id === session.user.id) return 'you';
  const u = users && users.get(id);
  if (u) return u.display_name;
  return `user ${shortId(id)}`;
}

export function rememberUser(user) {
  if (users) users.set(user.id, user);
}

// ---- document titles --------------------------------------------------------

const documentTitles = new Map(); // id -> Promise<string|null>

export function rememberDocument(doc) {
  documentTitles.set(doc.id, Promise.resolve(doc.title));
}

/** The title of a document, or null when it no longer exists. */
export function documentTitle(id) {
  if (!documentTitles.has(id)) {
    const p = get(`/documents/${encodeURIComponent(id)}`)
      .then((doc) => doc.title)
      .catch((err) => {
        if (err instanceof ApiError && err.type === 'not-found') return null;
        documentTitles.delete(id);
        throw err;
      });
    documentTitles.set(id, p);
  }
  return documentTitles.get(id);
}
