// The signed-in user's account: who they are, changing their password,
// which emails they get, the identity provider accounts linked to them, and
// their API tokens for scripts (admins also see the organisation's tokens).

import { get, put, post, del, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { session } from '../state.js';
import { ROLE_LABELS, timeEl } from '../format.js';

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 128;
const MAX_TOKEN_DAYS = 366;
const SCOPE_LABELS = { read: 'Read only', write: 'Read and write' };

export function render(container) {
  container.dataset.testid = 'account-view';
  const user = session.user;

  const current = h('input', { type: 'password', name: 'current_password', required: true, autocomplete: 'current-password', maxlength: '1024', 'data-testid': 'current-password' });
  const next = h('input', { type: 'password', name: 'new_password', required: true, autocomplete: 'new-password', minlength: String(MIN_PASSWORD), maxlength: String(MAX_PASSWORD), 'data-testid': 'new-password' });
  const confirm = h('input', { type: 'password', name: 'confirm_password', required: true, autocomplete: 'new-password', maxlength: String(MAX_PASSWORD), 'data-testid': 'confirm-password' });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'password-title' },
    errorSlot,
    field('Current password', current),
    field('New password', next, { hint: `${MIN_PASSWORD} to ${MAX_PASSWORD} characters.` }),
    field('New password again', confirm),
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'change-password-submit', text: 'Change password' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    let problem = null;
    if (!current.value) problem = 'Enter your current password.';
    else if (next.value.length < MIN_PASSWORD) problem = `The new password needs at least ${MIN_PASSWORD} characters.`;
    else if (next.value !== confirm.value) problem = 'The two new passwords are not the same.';
    else if (next.value === current.value) problem = 'The new password must differ from the current one.';
    if (problem) {
      replace(errorSlot, inlineMessage('error', problem, 'change-password-error'));
      return;
    }
    try {
      await busy(form, post('/session/password', { current_password: current.value, new_password: next.value }));
      form.reset();
      replace(errorSlot, inlineMessage('success', 'Your password was changed. Your other sessions were signed out.', 'change-password-done'));
      notify('Password changed.');
    } catch (err) {
      current.value = '';
      showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', describeError(err), 'change-password-error'));
    }
  });

  container.classList.add('view--narrow');
  const choices = notificationChoices();
  container.append(
    h('h1', { tabindex: '-1', text: 'Your account' }),
    h(
      'dl',
      { class: 'card details' },
      h('dt', { text: 'Name' }),
      h('dd', { text: user.display_name }),
      h('dt', { text: 'Email' }),
      h('dd', { text: user.email }),
      h('dt', { text: 'Role' }),
      h('dd', { text: ROLE_LABELS[user.role] }),
    ),
    h('h2', { id: 'password-title', text: 'Change password' }),
    form,
    h('h2', { id: 'notifications-title', text: 'Email notifications' }),
    choices,
    identitiesSection(),
    tokensSection(),
  );
}

/** The provider identities linked to the person; each may be unlinked. */
function identitiesSection() {
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table table--stack', 'data-testid': 'identities-table' },
    h('thead', {}, h('tr', {}, ['Provider', 'Linked', ''].map((c) => h('th', { scope: 'col', text: c })))),
    tbody,
  );
  const slot = h('div', { class: 'form-error-slot' });
  async function refresh() {
    try {
      const { items } = await get('/session/identities');
      replace(tbody);
      if (!items.length) {
        tbody.append(h('tr', {}, h('td', { colspan: '3', class: 'empty', text: 'No provider account is linked.' })));
      }
      for (const identity of items) {
        const unlink = h('button', {
          type: 'button',
          class: 'button button--small button--danger-quiet',
          'data-testid': 'identity-unlink',
          text: 'Unlink',
          'aria-label': `Unlink ${identity.issuer}`,
        });
        const actions = h('td', { 'data-label': 'Actions', class: 'cell-actions' }, unlink);
        tbody.append(
          h(
            'tr',
            { 'data-testid': 'identity-row', 'data-identity-id': identity.id },
            h('td', { 'data-label': 'Provider', class: 'cell-email', text: identity.issuer + (identity.current ? '' : ' (no longer used)') }),
            h('td', { 'data-label': 'Linked' }, timeEl(identity.created_at)),
            actions,
          ),
        );
        unlink.addEventListener('click', async () => {
          unlink.disabled = true;
          try {
            await del(`/session/identities/${encodeURIComponent(identity.id)}`);
            notify('The provider account was unlinked.');
            replace(slot);
            refresh();
          } catch (err) {
            unlink.disabled = false;
            replace(slot, inlineMessage('error', describeError(err), 'identity-error'));
          }
        });
      }
    } catch (err) {
      replace(slot, inlineMessage('error', describeError(err), 'identity-error'));
    }
  }
  refresh();
  return h(
    'section',
    { class: 'section', 'aria-labelledby': 'identities-title', 'data-testid': 'identities-section' },
    h('h2', { id: 'identities-title', text: 'Linked sign-in accounts' }),
    h('p', { class: 'hint', text: 'Your accounts at your organisation’s identity provider that sign you in. You can unlink one while you keep another way in.' }),
    slot,
    h('div', { class: 'table-wrap' }, table),
  );
}

/** A table of tokens; each row can be revoked through `revokePath`. */
function tokenTable(testid, withOwner, revokePath, onRevoked) {
  const tbody = h('tbody');
  const heads = ['Name', ...(withOwner ? ['Owner'] : []), 'Access', 'Expires', 'Last used', ''];
  const table = h(
    'table',
    { class: 'table table--stack', 'data-testid': testid },
    h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col', text: c })))),
    tbody,
  );
  function fill(tokens) {
    replace(tbody);
    if (!tokens.length) {
      tbody.append(h('tr', {}, h('td', { colspan: String(heads.length), class: 'empty', text: 'No tokens.' })));
      return;
    }
    for (const token of tokens) {
      const revoke = h('button', {
        type: 'button',
        class: 'button button--small button--danger-quiet',
        'data-testid': 'token-revoke',
        text: 'Revoke',
        'aria-label': `Revoke ${token.name}`,
      });
      const actions = h('td', { 'data-label': 'Actions', class: 'cell-actions' }, revoke);
      const row = h(
        'tr',
        { 'data-testid': 'token-row', 'data-token-id': token.id },
        h('td', { 'data-label': 'Name', 'data-testid': 'token-name', text: token.name }),
        withOwner ? h('td', { 'data-label': 'Owner', class: 'cell-email', text: token.user_email }) : null,
        h('td', { 'data-label': 'Access', 'data-testid': 'token-scope-label', text: SCOPE_LABELS[token.scope] || token.scope }),
        h('td', { 'data-label': 'Expires' }, timeEl(token.expires_at)),
        h('td', { 'data-label': 'Last used', 'data-testid': 'token-last-used' }, token.last_used_at ? timeEl(token.last_used_at) : h('span', { text: 'Never' })),
        actions,
      );
      // Asked in place, like other destructive actions of the portal.
      revoke.addEventListener('click', () => {
        const yes = h('button', { type: 'button', class: 'button button--small button--danger', 'data-testid': 'token-revoke-confirm', text: 'Yes, revoke' });
        const no = h('button', { type: 'button', class: 'button button--small', text: 'Keep' });
        replace(actions, h('div', { class: 'row-actions' }, h('span', { text: 'Scripts using it stop at once.' }), yes, no));
        no.addEventListener('click', () => replace(actions, revoke));
        yes.addEventListener('click', async () => {
          yes.disabled = true;
          try {
            await del(`${revokePath}/${encodeURIComponent(token.id)}`);
            row.remove();
            notify(`Token "${token.name}" revoked.`);
            onRevoked();
          } catch (err) {
            replace(actions, revoke);
            notifyError(err, 'The token was not revoked');
          }
        });
        yes.focus();
      });
      tbody.append(row);
    }
  }
  return { table, fill };
}

function isoDaysAhead(days) {
  const d = new Date(Date.now() + days * 86400 * 1000);
  return d.toISOString().slice(0, 10);
}

/** Personal API tokens: create (shown once), list, revoke. */
function tokensSection() {
  const section = h('section', { class: 'section', 'aria-labelledby': 'tokens-title', 'data-testid': 'tokens-section' });
  const own = tokenTable('tokens-table', false, '/session/tokens', () => refresh());
  const org = session.user.role === 'admin' ? tokenTable('org-tokens-table', true, '/tokens', () => refresh()) : null;
  const listError = h('div', { class: 'form-error-slot' });

  async function refresh() {
    try {
      const mine = await get('/session/tokens');
      own.fill(mine.items);
      if (org) org.fill((await get('/tokens')).items);
      replace(listError);
    } catch (err) {
      replace(listError, inlineMessage('error', describeError(err), 'tokens-error'));
    }
  }

  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '100', 'data-testid': 'token-name-input' });
  const expires = h('input', {
    type: 'date',
    name: 'expires_at',
    required: true,
    min: isoDaysAhead(1),
    max: isoDaysAhead(MAX_TOKEN_DAYS - 1),
    value: isoDaysAhead(90),
    'data-testid': 'token-expires',
  });
  const scope = h(
    'select',
    { name: 'scope', 'data-testid': 'token-scope' },
    Object.entries(SCOPE_LABELS).map(([value, label]) => h('option', { value, text: label })),
  );
  const errorSlot = h('div', { class: 'form-error-slot' });
  const shown = h('div', { 'data-testid': 'token-shown-slot' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'new-token-title' },
    errorSlot,
    field('Name', name, { hint: 'What the token is for, e.g. "nightly backup".' }),
    field('Expires', expires, { hint: `At most ${MAX_TOKEN_DAYS} days ahead.` }),
    field('Access', scope, { hint: 'Read only acts as a viewer, whatever your role.' }),
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'token-create', text: 'Create token' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    replace(shown);
    clearFieldErrors(form);
    const title = name.value.trim();
    if (!title) {
      replace(errorSlot, inlineMessage('error', 'Give the token a name.', 'token-error'));
      return;
    }
    if (!expires.value) {
      replace(errorSlot, inlineMessage('error', 'Choose when the token expires.', 'token-error'));
      return;
    }
    // The end of the chosen day, in the person's own time zone.
    const end = new Date(`${expires.value}T23:59:59`);
    try {
      const created = await busy(form, post('/session/tokens', { name: title, expires_at: end.toISOString(), scope: scope.value }));
      form.reset();
      expires.value = isoDaysAhead(90);
      const secret = h('input', { type: 'text', readonly: true, value: created.token, class: 'token-secret', 'aria-label': 'The new token', 'data-testid': 'token-secret' });
      const copy = h('button', { type: 'button', class: 'button button--small', text: 'Copy' });
      copy.addEventListener('click', async () => {
        secret.select();
        try {
          await navigator.clipboard.writeText(created.token);
          notify('Token copied.');
        } catch {
          // No clipboard permission: the text stays selected for the person to copy.
        }
      });
      replace(
        shown,
        h(
          'div',
          { class: 'card', role: 'status', 'data-testid': 'token-shown' },
          h('p', { text: `Your token "${created.name}". Copy it now: Folio shows it only this once. Send it as "Authorization: Bearer <token>".` }),
          h('div', { class: 'row-actions' }, secret, copy),
        ),
      );
      notify('Token created.');
      refresh();
    } catch (err) {
      showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', describeError(err), 'token-error'));
    }
  });

  section.append(
    h('h2', { id: 'tokens-title', text: 'API tokens' }),
    h('p', { class: 'hint', text: 'Tokens let your scripts use Folio’s API as you. Revoke a token as soon as it is no longer needed.' }),
    listError,
    h('div', { class: 'table-wrap' }, own.table),
    h('h3', { id: 'new-token-title', text: 'New token' }),
    form,
    shown,
  );
  if (org) {
    section.append(h('h3', { text: 'All tokens of the organisation' }), h('div', { class: 'table-wrap' }, org.table));
  }
  refresh();
  return section;
}

const ANY = ['immediate', 'daily', 'off'];
const KINDS = [
  { kind: 'assignment', label: 'A task is assigned to me', options: ANY },
  { kind: 'reminder', label: 'My tasks due tomorrow or overdue', options: ['daily', 'off'] },
  { kind: 'stale', label: 'A new version makes my task out of date', options: ANY },
  { kind: 'approval', label: 'An approval I asked for is decided', options: ANY },
  { kind: 'request', label: 'A request I made is fulfilled', options: ANY },
  { kind: 'onedrive', label: 'OneDrive sync fails or works again', options: ANY, admin: true },
  { kind: 'webhook', label: 'A webhook endpoint is disabled after failing', options: ANY, admin: true },
];
const CHOICE_LABELS = { immediate: 'At once', daily: 'In the daily digest', off: 'Never' };

// One select per kind; loaded from and saved to /session/notifications.
function notificationChoices() {
  const slot = h('div', { class: 'form-error-slot' });
  const selects = {};
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'notifications-title', 'data-testid': 'notifications-form' }, slot);
  const isAdmin = session.user.role === 'admin';
  for (const { kind, label, options, admin } of KINDS.filter((k) => isAdmin || !k.admin)) {
    const select = h(
      'select',
      { name: kind, 'data-testid': `notify-${kind}`, disabled: true },
      ...options.map((o) => h('option', { value: o, text: CHOICE_LABELS[o] })),
    );
    selects[kind] = select;
    form.append(field(label, select));
  }
  form.append(h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'notify-save', text: 'Save email choices' })));
  const show = (choices) => {
    for (const [kind, select] of Object.entries(selects)) {
      if (choices[kind]) select.value = choices[kind];
      select.disabled = false;
    }
  };
  get('/session/notifications').then(show, (err) => replace(slot, inlineMessage('error', describeError(err), 'notify-error')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(slot);
    const body = Object.fromEntries(Object.entries(selects).map(([k, s]) => [k, s.value]));
    try {
      show(await busy(form, put('/session/notifications', body)));
      replace(slot, inlineMessage('success', 'Your email choices were saved.', 'notify-saved'));
    } catch (err) {
      replace(slot, inlineMessage('error', describeError(err), 'notify-error'));
    }
  });
  return form;
}
