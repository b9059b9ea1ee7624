// The signed-in user's account: who they are, changing their password, and
// which emails they get.

import { get, put, post, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify } from '../messages.js';
import { session } from '../state.js';
import { ROLE_LABELS } from '../format.js';

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 128;

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
  );
}

const KINDS = [
  { kind: 'assignment', label: 'A task is assigned to me', options: ['immediate', 'daily', 'off'] },
  { kind: 'reminder', label: 'My tasks due tomorrow or overdue', options: ['daily', 'off'] },
];
const CHOICE_LABELS = { immediate: 'At once', daily: 'In the daily digest', off: 'Never' };

// One select per kind; loaded from and saved to /session/notifications.
function notificationChoices() {
  const slot = h('div', { class: 'form-error-slot' });
  const selects = {};
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'notifications-title', 'data-testid': 'notifications-form' }, slot);
  for (const { kind, label, options } of KINDS) {
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
