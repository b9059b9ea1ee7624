// Users of the organisation (admins): provision, change role, disable or
// enable, reset password.

import { get, post, put, patch, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { loadUsers, rememberUser, session, setUser } from '../state.js';
import { timeEl, ROLE_LABELS } from '../format.js';
import { signInSection } from './sign-in-settings.js';

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 128;

export async function render(container, ctx) {
  container.dataset.testid = 'users-view';
  const users = (await loadUsers({ refresh: true })) || [];
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table table--stack', 'data-testid': 'users-table' },
    h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Status', 'Added', ''].map((c) => h('th', { scope: 'col', text: c })))),
    tbody,
  );

  function sortRows() {
    const rows = [...tbody.children].sort((a, b) => a.dataset.sort.localeCompare(b.dataset.sort));
    tbody.append(...rows);
  }

  function userRow(user) {
    const tr = h('tr', { 'data-testid': 'user-row', 'data-user-id': user.id, 'data-email': user.email });

    function draw() {
      tr.dataset.sort = user.display_name.toLowerCase();
      tr.classList.toggle('row--disabled', user.disabled);
      const isMe = user.id === session.user.id;
      const role = h(
        'select',
        { 'data-testid': 'user-role', 'aria-label': `Role of ${user.display_name}` },
        Object.entries(ROLE_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === user.role })),
      );
      role.addEventListener('change', () => change({ role: role.value }, `${user.display_name} is now ${ROLE_LABELS[role.value].toLowerCase()}.`));
      const toggle = h('button', {
        type: 'button',
        class: user.disabled ? 'button button--small' : 'button button--small button--danger-quiet',
        'data-testid': user.disabled ? 'user-enable' : 'user-disable',
        text: user.disabled ? 'Enable' : 'Disable',
        onclick: () => change({ disabled: !user.disabled }, `${user.display_name} is ${user.disabled ? 'enabled' : 'disabled'}.`),
      });
      const reset = h('button', { type: 'button', class: 'button button--small', 'data-testid': 'user-reset-password', text: 'Reset password', onclick: () => resetPassword() });
      replace(
        tr,
        h('td', { 'data-label': 'Name' }, h('span', { 'data-testid': 'user-name', text: user.display_name }), isMe ? h('span', { class: 'badge', text: 'you' }) : null),
        h('td', { 'data-label': 'Email', class: 'cell-email', text: user.email }),
        h('td', { 'data-label': 'Role' }, role),
        h('td', { 'data-label': 'Status' }, h('span', { class: ['badge', user.disabled ? 'badge--disabled' : 'badge--enabled'], 'data-testid': 'user-status', text: user.disabled ? 'Disabled' : 'Enabled' })),
        h('td', { 'data-label': 'Added' }, timeEl(user.created_at)),
        h('td', { 'data-label': 'Actions', class: 'cell-actions' }, h('div', { class: 'row-actions' }, toggle, reset)),
      );
    }

    async function change(changes, message) {
      const controls = [...tr.querySelectorAll('button, select')];
      controls.forEach((c) => {
        c.disabled = true;
      });
      try {
        user = await patch(`/users/${encodeURIComponent(user.id)}`, changes);
        rememberUser(user);
        notify(message);
        if (user.id === session.user.id && (user.role !== 'admin' || user.disabled)) {
          // The admin gave up their own admin role: refresh what the portal shows.
          try {
            const answer = await get('/session');
            setUser(answer.user);
          } catch {
            /* a 401 is handled globally */
          }
          ctx.navigate('#/documents');
          return;
        }
      } catch (err) {
        notifyError(err, `Could not change ${user.display_name}.`);
      }
      draw();
    }

    function resetPassword() {
      const input = h('input', { type: 'text', name: 'new_password', minlength: String(MIN_PASSWORD), maxlength: String(MAX_PASSWORD), autocomplete: 'new-password', 'data-testid': 'reset-password-input', value: generatePassword() });
      const errorSlot = h('div', { class: 'form-error-slot' });
      const form = h(
        'form',
        { class: 'inline-form', novalidate: true, 'aria-label': `New password for ${user.display_name}` },
        errorSlot,
        field(`New password for ${user.display_name}`, input, { hint: `At least ${MIN_PASSWORD} characters. Share it with them safely.` }),
        h(
          'div',
          { class: 'form__actions' },
          h('button', { type: 'submit', class: 'button button--small button--primary', 'data-testid': 'reset-password-submit', text: 'Set password' }),
          h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Cancel', onclick: () => draw() }),
        ),
      );
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        clearFieldErrors(form);
        replace(errorSlot);
        if (input.value.length < MIN_PASSWORD) {
          replace(errorSlot, inlineMessage('error', `The password needs at least ${MIN_PASSWORD} characters.`, 'reset-password-error'));
          return;
        }
        try {
          await busy(form, post(`/users/${encodeURIComponent(user.id)}/password`, { new_password: input.value }));
          notify(`New password set for ${user.display_name}. Their sessions were ended.`);
          draw();
        } catch (err) {
          showFieldErrors(form, err);
          replace(errorSlot, inlineMessage('error', describeError(err), 'reset-password-error'));
        }
      });
      const cell = tr.querySelector('.cell-actions');
      replace(cell, form);
      input.focus();
      input.select();
    }

    draw();
    return tr;
  }

  for (const user of users) tbody.append(userRow(user));
  sortRows();

  // ---- provision ----
  const email = h('input', { type: 'email', name: 'email', required: true, maxlength: '254', autocomplete: 'off', 'data-testid': 'new-user-email' });
  const name = h('input', { type: 'text', name: 'display_name', required: true, maxlength: '100', autocomplete: 'off', 'data-testid': 'new-user-name' });
  const role = h(
    'select',
    { name: 'role', 'data-testid': 'new-user-role' },
    Object.entries(ROLE_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === 'editor' })),
  );
  const password = h('input', { type: 'text', name: 'password', required: true, minlength: String(MIN_PASSWORD), maxlength: String(MAX_PASSWORD), autocomplete: 'new-password', 'data-testid': 'new-user-password', value: generatePassword() });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const form = h(
    'form',
    { class: 'card form form--grid', novalidate: true, 'aria-labelledby': 'new-user-title' },
    errorSlot,
    field('Email', email),
    field('Name', name),
    field('Role', role, { hint: 'Viewers read; editors also change documents and tasks; admins also manage users.' }),
    field('First password', password, { hint: `At least ${MIN_PASSWORD} characters. A random one is suggested; share it with them safely.` }),
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'new-user-submit', text: 'Add user' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    const body = { email: email.value.trim(), display_name: name.value.trim(), role: role.value, password: password.value };
    const missing = [];
    if (!body.email) missing.push('an email');
    if (!body.display_name) missing.push('a name');
    if (body.password.length < MIN_PASSWORD) missing.push(`a password of at least ${MIN_PASSWORD} characters`);
    if (missing.length) {
      replace(errorSlot, inlineMessage('error', `Enter ${missing.join(', ')}.`, 'new-user-error'));
      return;
    }
    try {
      const user = await busy(form, post('/users', body));
      rememberUser(user);
      tbody.append(userRow(user));
      sortRows();
      notify(`Added ${user.display_name} (${ROLE_LABELS[user.role].toLowerCase()}).`);
      email.value = '';
      name.value = '';
      password.value = generatePassword();
      email.focus();
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'new-user-error'));
    }
  });

  container.append(
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Users' })),
    h('section', { class: 'section', 'aria-labelledby': 'users-title' }, h('h2', { id: 'users-title', class: 'visually-hidden', text: 'All users' }), h('div', { class: 'table-wrap' }, table)),
    h('section', { class: 'section', 'aria-labelledby': 'new-user-title' }, h('h2', { id: 'new-user-title', text: 'Add a user' }), form),
    await retentionSection(),
    await signInSection(),
  );
}

/** How long old versions are kept: off, or the last K and/or younger than D days. */
async function retentionSection() {
  const policy = await get('/retention');
  const keepLast = h('input', { type: 'number', name: 'keep_last', min: '1', max: '10000', value: policy.keep_last ?? '', 'data-testid': 'retention-keep-last' });
  const keepDays = h('input', { type: 'number', name: 'keep_days', min: '1', max: '36500', value: policy.keep_days ?? '', 'data-testid': 'retention-keep-days' });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'retention-title', 'data-testid': 'retention-form' },
    h('p', { class: 'hint', text: 'Leave both empty to keep every version. Current and labelled versions, and versions an open task is about, are always kept.' }),
    errorSlot,
    field('Keep the last … versions', keepLast),
    field('Keep versions younger than … days', keepDays),
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'retention-save', text: 'Save retention' })),
  );
  const number = (input) => (input.value.trim() === '' ? null : Number(input.value));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    try {
      const saved = await busy(form, put('/retention', { keep_last: number(keepLast), keep_days: number(keepDays) }));
      const off = saved.keep_last === null && saved.keep_days === null;
      notify(off ? 'Retention is off: every version is kept.' : 'Retention saved.');
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'retention-error'));
    }
  });
  return h('section', { class: 'section', 'aria-labelledby': 'retention-title' }, h('h2', { id: 'retention-title', text: 'Retention' }), form);
}

/** A random, readable 16-character password (no look-alike characters). */
function generatePassword() {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  const limit = 256 - (256 % alphabet.length); // reject bytes that would bias the choice
  let out = '';
  while (out.length < 16) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    for (const b of bytes) if (b < limit && out.length < 16) out += alphabet[b % alphabet.length];
  }
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}`;
}
