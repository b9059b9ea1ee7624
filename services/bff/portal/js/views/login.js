// Sign in.

import { get, post, describeError } from '../api.js';
import { h, field, replace, busy } from '../dom.js';
import { clearMessages } from '../messages.js';

// What went wrong when a provider sent the browser back (the bff names the
// problem's kind only; the words are ours).
const PROVIDER_PROBLEMS = {
  'sign-in-refused': "Your organisation's sign-in could not be completed. Start again; if it keeps failing, ask your admin.",
  'provider-unavailable': "Your organisation's identity provider did not answer. Try again later, or sign in with your password.",
  'provider-sign-in': "Sign-in with your organisation's provider is not set up correctly. Ask your admin.",
  'rate-limited': 'Too many sign-in attempts. Wait a minute, then try again.',
};

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
  // "Sign in with Microsoft" / "with your organisation", for an email whose
  // organisation signs in with its identity provider (asked when the email
  // is entered; nothing shows otherwise).
  const providerSlot = h('div', { class: 'login-provider', 'data-testid': 'login-provider-slot' });
  let askedFor = '';
  async function offerProvider() {
    const address = email.value.trim();
    if (!address.includes('@') || address === askedFor) return;
    askedFor = address;
    try {
      const found = await get('/session/oidc', { email: address });
      const label = found.provider === 'entra' ? 'Sign in with Microsoft' : 'Sign in with your organisation';
      replace(
        providerSlot,
        h('a', { class: 'button button--wide', href: found.start, 'data-testid': 'login-provider', text: label }),
      );
    } catch {
      replace(providerSlot);
    }
  }
  email.addEventListener('change', offerProvider);
  email.addEventListener('blur', offerProvider);
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
    await signIn({ email: email.value.trim(), password: password.value });
  });

  // The password may open accounts in several organisations (an email is
  // unique per organisation): the bff then names them, and the person picks.
  async function signIn(credentials) {
    try {
      const answer = await busy(form, post('/session', credentials));
      if (answer.organisations) {
        chooseOrganisation(credentials, answer.organisations);
        return;
      }
      clearMessages();
      ctx.onSignedIn(answer);
    } catch (err) {
      password.value = '';
      replace(choiceSlot);
      showError(describeError(err));
      if (err.type === 'provider-sign-in-only') {
        askedFor = '';
        offerProvider();
      }
      password.focus();
    }
  }

  const choiceSlot = h('div', { class: 'login-choice' });

  function chooseOrganisation(credentials, organisations) {
    const buttons = organisations.map((org) => {
      const button = h('button', {
        type: 'button',
        class: 'button button--wide',
        'data-testid': 'login-organisation',
        text: org.name,
      });
      button.addEventListener('click', () => signIn({ ...credentials, organisation_id: org.id }));
      return h('li', {}, button);
    });
    replace(
      choiceSlot,
      h(
        'fieldset',
        { class: 'card form', 'aria-labelledby': 'login-choice-title' },
        h('h2', { id: 'login-choice-title', tabindex: '-1', text: 'Which organisation?' }),
        h('p', { class: 'muted', text: 'Your email has an account in each of these. Choose where to sign in.' }),
        h('ul', { class: 'plain-list' }, ...buttons),
      ),
    );
    choiceSlot.querySelector('h2').focus();
  }

  function showError(text) {
    replace(errorSlot, h('p', { class: 'inline-message inline-message--error', role: 'alert', 'data-testid': 'login-error', text }));
  }

  const problem = ctx.query?.get('problem');
  if (problem) {
    showError(PROVIDER_PROBLEMS[problem] ?? 'Sign-in with your organisation did not work. Start again.');
  }

  container.classList.add('view--narrow');
  container.append(
    h(
      'div',
      { class: 'login' },
      h('h1', { id: 'login-title', tabindex: '-1', text: 'Sign in to Folio' }),
      h('p', { class: 'muted', text: 'Your documents and tasks, in one place.' }),
      form,
      providerSlot,
      choiceSlot,
    ),
  );
  email.focus();
}
