// Sign-in with the organisation's identity provider (admins): Microsoft
// Entra ID by tenant, or any OpenID Connect provider by issuer. The client
// secret is write-only: the form never shows a stored one.

import { get, put, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify } from '../messages.js';

export async function signInSection() {
  const current = (await get('/organisation/sign-in')).oidc;
  const kind = h(
    'select',
    { name: 'provider', 'data-testid': 'sso-provider' },
    h('option', { value: 'off', text: 'Off: passwords only', selected: !current }),
    h('option', { value: 'entra', text: 'Microsoft Entra ID', selected: current?.provider === 'entra' }),
    h('option', { value: 'oidc', text: 'Another OpenID Connect provider', selected: current?.provider === 'oidc' }),
  );
  const tenant = h('input', { name: 'tenant_id', maxlength: '36', value: current?.tenant_id ?? '', 'data-testid': 'sso-tenant', placeholder: '00000000-0000-0000-0000-000000000000' });
  const issuer = h('input', { name: 'issuer', type: 'url', maxlength: '300', value: current?.issuer ?? '', 'data-testid': 'sso-issuer', placeholder: 'https://idp.example.com/realms/acme' });
  const clientId = h('input', { name: 'client_id', maxlength: '255', value: current?.client_id ?? '', 'data-testid': 'sso-client-id' });
  const secret = h('input', { name: 'client_secret', type: 'password', maxlength: '1024', autocomplete: 'new-password', 'data-testid': 'sso-client-secret', placeholder: current?.client_secret_set ? 'stored — leave empty to keep it' : '' });
  const domains = h('input', { name: 'domains', maxlength: '4000', value: (current?.domains ?? []).join(', '), 'data-testid': 'sso-domains', placeholder: 'contoso.com, contoso.co.uk' });
  const onlySso = h('input', { type: 'checkbox', name: 'only_sso', checked: Boolean(current?.only_sso), 'data-testid': 'sso-only' });
  const create = h('input', { type: 'checkbox', name: 'create_accounts', checked: Boolean(current?.create_accounts), 'data-testid': 'sso-create' });
  const role = h(
    'select',
    { name: 'default_role', 'data-testid': 'sso-default-role' },
    h('option', { value: 'viewer', text: 'Viewer', selected: current?.default_role !== 'editor' }),
    h('option', { value: 'editor', text: 'Editor', selected: current?.default_role === 'editor' }),
  );
  const entraFields = h('div', {}, field('Tenant id', tenant, { hint: 'Leave the client id and secret empty to use this deployment’s Microsoft app.' }));
  const issuerFields = h('div', {}, field('Issuer URL', issuer));
  const common = h(
    'div',
    {},
    field('Email domains', domains, { hint: 'Addresses in these domains are sent to your provider from the sign-in page. Others use your organisation’s sign-in link.' }),
    field('Client id', clientId),
    field('Client secret', secret),
    h('label', { class: 'checkbox' }, onlySso, ' Only this way for non-admins (admins keep their password)'),
    h('label', { class: 'checkbox' }, create, ' Create an account at a first sign-in without an invitation'),
    field('Role of created accounts', role),
  );
  function show() {
    entraFields.hidden = kind.value !== 'entra';
    issuerFields.hidden = kind.value !== 'oidc';
    common.hidden = kind.value === 'off';
  }
  kind.addEventListener('change', show);
  show();
  const errorSlot = h('div', { class: 'form-error-slot' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true, 'aria-labelledby': 'sso-title', 'data-testid': 'sso-form' },
    h('p', { class: 'hint', text: 'People are matched by their identity at the provider. A first sign-in links to the account you added with their email, when the provider vouches for that address.' }),
    errorSlot,
    field('Sign in with', kind),
    entraFields,
    issuerFields,
    common,
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'sso-save', text: 'Save sign-in' })),
  );
  const text = (input) => (input.value.trim() === '' ? undefined : input.value.trim());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    let oidc = null;
    if (kind.value !== 'off') {
      oidc = {
        client_id: text(clientId),
        client_secret: secret.value === '' ? undefined : secret.value,
        only_sso: onlySso.checked,
        create_accounts: create.checked,
        default_role: role.value,
        domains: domains.value.split(/[\s,]+/).filter(Boolean),
      };
      if (kind.value === 'entra') oidc.tenant_id = text(tenant) ?? '';
      else oidc.issuer = text(issuer) ?? '';
    }
    try {
      const saved = await busy(form, put('/organisation/sign-in', { oidc }));
      secret.value = '';
      secret.placeholder = saved.oidc?.client_secret_set ? 'stored — leave empty to keep it' : '';
      notify(saved.oidc ? 'Sign-in with your provider is on.' : 'Sign-in with a provider is off.');
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'sso-error'));
    }
  });
  return h('section', { class: 'section', 'aria-labelledby': 'sso-title' }, h('h2', { id: 'sso-title', text: 'Sign-in with your identity provider' }), form);
}
