// Sign in.

import { post, describeError } from '../api.js';
import { h, field, replace, busy } from '../dom.js';
import { clearMessages } from '../messages.js';

export function render(container, ctx) {
  const email = h('input', {
    type: 'email',
    name: 'email',
    autocomplete: 'username',
    required: true,
    maxlength: '254',
    'data-testid': 'login-email',
  });
  const password = h('input', {
    type: 'password',
    name: 'password',
    autocomplete: 'current-password',
    required: true,
    maxlength: '1024',
    'data-testid': 'login-password',
  });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const submit = h('button', { type: 'submit', class: 'button button--primary button--wide', 'data-testid': 'login-submit', text: 'Sign in' });

  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'login-title' },
    errorSlot,
    field('Email', email),
    field('Password', password),
    submit,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    if (!email.value.trim() || !password.value) {
      showError('Enter your email and password.');
      (email.value.trim() ? password : email).focus();
      return;
    }
    try {
      const answer = await busy(form, post('/session', { email: email.value.trim(), password: password.value }));
      clearMessages();
      ctx.onSignedIn(answer);
    } catch (err) {
      password.value = '';
      showError(describeError(err));
      password.focus();
    }
  });

  function showError(text) {
    replace(errorSlot, h('p', { class: 'inline-message inline-message--error', role: 'alert', 'data-testid': 'login-error', text }));
  }

  container.classList.add('view--narrow');
  container.append(
    h(
      'div',
      { class: 'login' },
      h('h1', { id: 'login-title', tabindex: '-1', text: 'Sign in to Folio' }),
      h('p', { class: 'muted', text: 'Your documents and tasks, in one place.' }),
      form,
    ),
  );
  email.focus();
}
