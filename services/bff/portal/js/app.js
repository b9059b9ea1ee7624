// Start-up, the hash router and the navigation bar.
//
// Routes:
//   #/login                      sign in
//   #/documents?q=&tag=&task_status=   list and search
//   #/documents/new              add a document
//   #/documents/<id>             one document: versions, new version, tasks
//   #/tasks                      my tasks
//   #/activity                   recent activity
//   #/users                      users (admins)
//   #/onedrive                   the OneDrive connection (admins)
//   #/webhooks                   webhook endpoints and mail problems (admins)
//   #/webhooks/<id>              the same, that endpoint's log opened (mails link here)
//   #/account                    own password and email choices

import { ApiError, del, describeError, get, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { h, replace } from './dom.js';
import { clearMessagesOnNavigation, notify, notifyError, notifyInfo } from './messages.js';
import { isAdmin, canWrite, session, setUser } from './state.js';
import { ROLE_LABELS } from './format.js';
import * as loginView from './views/login.js';
import * as documentsView from './views/documents.js';
import * as newDocumentView from './views/new-document.js';
import * as documentView from './views/document.js';
import * as myTasksView from './views/my-tasks.js';
import * as activityView from './views/activity.js';
import * as usersView from './views/users.js';
import * as onedriveView from './views/onedrive.js';
import * as accountView from './views/account.js';
import * as webhooksView from './views/webhooks.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

let cleanup = null;
let returnTo = null;
let started = false;

/** Parses location.hash into { path: ['documents', '<id>'], query: URLSearchParams }. */
function currentRoute() {
  const raw = location.hash.replace(/^#/, '') || '/documents';
  const [pathPart, queryPart = ''] = raw.split('?');
  const path = pathPart.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { path, query: new URLSearchParams(queryPart), hash: `#${raw}` };
}

/** Changes the route; re-renders even when the hash is unchanged. */
export function navigate(hash, { replaceHistory = false } = {}) {
  if (location.hash === hash) {
    clearMessagesOnNavigation();
    render();
  } else if (replaceHistory) {
    history.replaceState(null, '', hash);
    clearMessagesOnNavigation();
    render();
  } else {
    location.hash = hash;
  }
}

function resolve(route) {
  const [first, second] = route.path;
  switch (first) {
    case 'login':
      return { view: loginView, section: 'login' };
    case 'documents':
      if (second === 'new') return { view: newDocumentView, section: 'documents', needsWrite: true };
      if (second) return { view: documentView, section: 'documents', params: { id: second } };
      return { view: documentsView, section: 'documents' };
    case 'tasks':
      return { view: myTasksView, section: 'tasks' };
    case 'activity':
      return { view: activityView, section: 'activity' };
    case 'users':
      return { view: usersView, section: 'users', needsAdmin: true };
    case 'onedrive':
      return { view: onedriveView, section: 'onedrive', needsAdmin: true };
    case 'webhooks':
      return { view: webhooksView, section: 'webhooks', needsAdmin: true, params: second ? { id: second } : {} };
    case 'account':
      return { view: accountView, section: 'account' };
    default:
      return null;
  }
}

async function render() {
  if (cleanup) {
    try {
      cleanup();
    } catch {
      /* a view's cleanup must not stop navigation */
    }
    cleanup = null;
  }
  const route = currentRoute();
  let target = resolve(route);

  if (!session.user && target?.section !== 'login') {
    returnTo = route.hash;
    history.replaceState(null, '', '#/login');
    target = resolve({ path: ['login'] });
  } else if (session.user && target?.section === 'login') {
    history.replaceState(null, '', '#/documents');
    target = resolve({ path: ['documents'] });
  }

  renderNav(target?.section);
  const container = h('div', { class: 'view' });
  replace(main, container);

  if (!target) {
    container.append(
      h('h1', { tabindex: '-1', text: 'Page not found' }),
      h('p', {}, 'There is nothing at this address. ', h('a', { href: '#/documents', text: 'Go to documents' }), '.'),
    );
    focusHeading(container);
    return;
  }
  if ((target.needsAdmin && !isAdmin()) || (target.needsWrite && !canWrite())) {
    container.append(
      h('h1', { tabindex: '-1', text: 'Not allowed' }),
      h('p', { 'data-testid': 'not-allowed', text: 'Your role does not allow this page.' }),
    );
    focusHeading(container);
    return;
  }

  const ctx = {
    params: target.params || {},
    query: route.query,
    navigate,
    onSignedIn,
  };
  try {
    const result = await target.view.render(container, ctx);
    if (typeof result === 'function') cleanup = result;
  } catch (err) {
    if (err instanceof ApiError && err.type === 'unauthenticated') return; // handled globally
    replace(
      container,
      h('h1', { tabindex: '-1', text: 'Could not load this page' }),
      h('p', { class: 'inline-message inline-message--error', role: 'alert', 'data-testid': 'view-error' }, errorText(err)),
      h('p', {}, h('button', { type: 'button', class: 'button', text: 'Try again', onclick: () => render() })),
    );
  }
  if (started) focusHeading(container);
  started = true;
}

function errorText(err) {
  return describeError(err);
}

function focusHeading(container) {
  const heading = container.querySelector('h1');
  if (heading) {
    if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

function renderNav(section) {
  if (!session.user) {
    nav.hidden = true;
    replace(nav);
    return;
  }
  nav.hidden = false;
  const link = (href, label, key, testid) =>
    h('a', {
      href,
      class: 'nav__link',
      'aria-current': section === key ? 'page' : null,
      'data-testid': testid,
      text: label,
    });
  replace(
    nav,
    h(
      'ul',
      { class: 'nav__links' },
      h('li', {}, link('#/documents', 'Documents', 'documents', 'nav-documents')),
      h('li', {}, link('#/tasks', 'My tasks', 'tasks', 'nav-tasks')),
      h('li', {}, link('#/activity', 'Activity', 'activity', 'nav-activity')),
      isAdmin() ? h('li', {}, link('#/users', 'Users', 'users', 'nav-users')) : null,
      isAdmin() ? h('li', {}, link('#/onedrive', 'OneDrive', 'onedrive', 'nav-onedrive')) : null,
      isAdmin() ? h('li', {}, link('#/webhooks', 'Webhooks', 'webhooks', 'nav-webhooks')) : null,
    ),
    h(
      'div',
      { class: 'nav__user' },
      h(
        'a',
        {
          href: '#/account',
          class: 'nav__me',
          'aria-current': section === 'account' ? 'page' : null,
          'data-testid': 'nav-account',
          title: 'Your account',
        },
        h('span', { class: 'nav__name', 'data-testid': 'current-user', text: session.user.display_name }),
        h('span', { class: ['badge', `badge--${session.user.role}`], text: ROLE_LABELS[session.user.role] }),
      ),
      h('button', { type: 'button', class: 'button button--quiet', 'data-testid': 'sign-out', text: 'Sign out', onclick: signOut }),
    ),
  );
}

function onSignedIn(answer) {
  setCsrfToken(answer.csrf_token);
  setUser(answer.user);
  const target = returnTo && !returnTo.startsWith('#/login') ? returnTo : '#/documents';
  returnTo = null;
  navigate(target, { replaceHistory: true });
}

async function signOut() {
  try {
    await del('/session');
  } catch (err) {
    if (!(err instanceof ApiError && err.type === 'unauthenticated')) {
      notifyError(err, 'Could not sign out.');
      return;
    }
  }
  setCsrfToken(null);
  setUser(null);
  returnTo = null;
  navigate('#/login', { replaceHistory: true });
  notify('You are signed out.');
}

setUnauthenticatedHandler(() => {
  if (!session.user) return;
  setCsrfToken(null);
  setUser(null);
  returnTo = currentRoute().hash;
  navigate('#/login', { replaceHistory: true });
  notifyInfo('Your session has ended. Sign in again.');
});

document.getElementById('skip-link').addEventListener('click', () => main.focus());

window.addEventListener('hashchange', () => {
  clearMessagesOnNavigation();
  render();
});

async function start() {
  try {
    const answer = await get('/session');
    setCsrfToken(answer.csrf_token);
    setUser(answer.user);
  } catch (err) {
    setUser(null);
    if (!(err instanceof ApiError && err.type === 'unauthenticated')) {
      notifyError(err, 'Could not check your session.');
    }
  }
  render();
}

start();
