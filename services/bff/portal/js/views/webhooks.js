// The organisation's webhook endpoints (admins): add one (its signing secret
// is shown once), choose its events, see its delivery log, redeliver,
// disable or remove it; and the mails that could not be delivered.

import { get, post, patch, del, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { timeEl } from '../format.js';

const EVENTS = [
  ['document.created', 'A document is created'],
  ['version.created', 'A version is added'],
  ['task.created', 'A task is created'],
  ['task.assigned', 'A task is assigned'],
  ['task.completed', 'A task is completed'],
  ['task.stale', 'A new version makes a task stale'],
  ['approval.decided', 'An approval is decided'],
  ['request.fulfilled', 'A document request is fulfilled'],
  ['onedrive.sync_failed', 'OneDrive sync starts failing'],
  ['onedrive.sync_recovered', 'OneDrive syncs again'],
];
const STATE_LABELS = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };

export async function render(container, ctx = {}) {
  const focusId = ctx.params?.id;
  container.dataset.testid = 'webhooks-view';
  const list = h('div', { 'data-testid': 'webhooks-list' });
  const secretSlot = h('div');
  const problems = h('div', { 'data-testid': 'mail-problems' });
  container.append(
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Webhooks' })),
    h('p', { class: 'muted', text: 'Your systems are told of changes by signed HTTPS requests (Standard Webhooks). Only public https:// addresses are accepted.' }),
    secretSlot,
    list,
    h('h2', { id: 'new-webhook-title', text: 'Add an endpoint' }),
    newWebhookForm(),
    h('h2', { id: 'mail-problems-title', text: 'Mail problems' }),
    problems,
  );

  async function draw() {
    try {
      const { items } = await get('/webhooks');
      replace(list, items.length ? items.map(card) : h('p', { class: 'muted', 'data-testid': 'webhooks-empty', text: 'No endpoints yet.' }));
      // A mail's link names one endpoint: show it with its log.
      const focused = focusId && [...list.querySelectorAll('[data-testid="webhook"]')].find((c) => c.dataset.webhookId === focusId);
      if (focused) {
        focused.classList.add('card--focus');
        focused.querySelector('[data-testid="webhook-deliveries"]').click();
        focused.scrollIntoView({ block: 'start' });
      }
    } catch (err) {
      replace(list, inlineMessage('error', describeError(err), 'webhooks-error'));
    }
  }

  function card(hook) {
    const log = h('div', { 'data-testid': 'webhook-log' });
    const toggle = h('button', {
      type: 'button',
      class: 'button button--small',
      'data-testid': 'webhook-toggle',
      text: hook.enabled ? 'Disable' : 'Enable',
      onclick: async () => {
        try {
          await patch(`/webhooks/${encodeURIComponent(hook.id)}`, { enabled: !hook.enabled });
          notify(hook.enabled ? 'Endpoint disabled.' : 'Endpoint enabled.');
          draw();
        } catch (err) {
          notifyError(err, 'Could not change the endpoint.');
        }
      },
    });
    const remove = h('button', {
      type: 'button',
      class: 'button button--small button--danger-quiet',
      'data-testid': 'webhook-delete',
      text: 'Remove',
      onclick: async () => {
        try {
          await del(`/webhooks/${encodeURIComponent(hook.id)}`);
          notify('Endpoint removed.');
          draw();
        } catch (err) {
          notifyError(err, 'Could not remove the endpoint.');
        }
      },
    });
    const showLog = h('button', { type: 'button', class: 'button button--small', 'data-testid': 'webhook-deliveries', text: 'Delivery log', onclick: () => drawLog(hook, log) });
    const state = hook.enabled ? 'Enabled' : hook.disabled_reason === 'failing' ? 'Disabled: it kept failing' : 'Disabled';
    return h(
      'section',
      { class: 'card', 'data-testid': 'webhook', 'data-webhook-id': hook.id },
      h('p', {}, h('strong', { 'data-testid': 'webhook-url', text: hook.url })),
      h('p', { class: 'muted', 'data-testid': 'webhook-state', text: `${state} · ${hook.events.join(', ')}` }),
      h('div', { class: 'row-actions' }, showLog, toggle, remove),
      log,
    );
  }

  async function drawLog(hook, slot) {
    try {
      const { items } = await get(`/webhooks/${encodeURIComponent(hook.id)}/deliveries`);
      if (!items.length) {
        replace(slot, h('p', { class: 'muted', 'data-testid': 'deliveries-empty', text: 'Nothing delivered yet.' }));
        return;
      }
      const rows = items.map((d) =>
        h(
          'tr',
          { 'data-testid': 'delivery' },
          h('td', { 'data-label': 'When' }, d.last_attempt_at ? timeEl(d.last_attempt_at) : timeEl(d.created_at)),
          h('td', { 'data-label': 'Event', text: d.event_type }),
          h('td', { 'data-label': 'State', 'data-testid': 'delivery-state', text: STATE_LABELS[d.state] || d.state }),
          h('td', { 'data-label': 'Status', 'data-testid': 'delivery-status', text: d.last_status ?? '—' }),
          h('td', { 'data-label': 'Duration', text: d.last_duration_ms == null ? '—' : `${d.last_duration_ms} ms` }),
          h('td', { 'data-label': 'Attempts', text: d.attempts }),
          h(
            'td',
            { 'data-label': 'Actions' },
            h('button', {
              type: 'button',
              class: 'button button--small',
              'data-testid': 'delivery-redeliver',
              text: 'Redeliver',
              onclick: async () => {
                try {
                  await post(`/webhooks/${encodeURIComponent(hook.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
                  notify('Sending it again.');
                  drawLog(hook, slot);
                } catch (err) {
                  notifyError(err, 'Could not redeliver.');
                }
              },
            }),
          ),
        ),
      );
      replace(
        slot,
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table table--stack', 'data-testid': 'deliveries-table' },
            h('thead', {}, h('tr', {}, ...['When', 'Event', 'State', 'Status', 'Duration', 'Attempts', ''].map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, rows),
          ),
        ),
      );
    } catch (err) {
      replace(slot, inlineMessage('error', describeError(err), 'deliveries-error'));
    }
  }

  function newWebhookForm() {
    const url = h('input', { type: 'url', name: 'url', required: true, maxlength: '2000', placeholder: 'https://hooks.example.com/folio', 'data-testid': 'webhook-url-input' });
    const boxes = EVENTS.map(([name, label]) =>
      h('label', { class: 'checkbox' }, h('input', { type: 'checkbox', name: 'events', value: name, checked: true, 'data-testid': `webhook-event-${name}` }), ` ${label}`),
    );
    const slot = h('div', { class: 'form-error-slot' });
    const form = h(
      'form',
      { class: 'card form', novalidate: true, 'aria-labelledby': 'new-webhook-title' },
      slot,
      field('Endpoint URL', url),
      h('fieldset', { class: 'fieldset' }, h('legend', { text: 'Events' }), ...boxes),
      h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'webhook-submit', text: 'Add endpoint' })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(slot);
      clearFieldErrors(form);
      const events = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      if (!url.value.trim() || !events.length) {
        replace(slot, inlineMessage('error', 'Enter the endpoint URL and choose at least one event.', 'webhook-form-error'));
        return;
      }
      try {
        const created = await busy(form, post('/webhooks', { url: url.value.trim(), events }));
        form.reset();
        replace(
          secretSlot,
          h(
            'div',
            { class: 'card', role: 'status' },
            h('p', { text: 'Copy the signing secret now: it is shown only this once.' }),
            h('code', { 'data-testid': 'webhook-secret', text: created.secret }),
          ),
        );
        notify('Endpoint added.');
        draw();
      } catch (err) {
        showFieldErrors(form, err);
        replace(slot, inlineMessage('error', describeError(err), 'webhook-form-error'));
      }
    });
    return form;
  }

  async function drawProblems() {
    try {
      const { items } = await get('/mail-problems');
      replace(
        problems,
        items.length
          ? h(
              'ul',
              { class: 'list' },
              items.map((p) =>
                h('li', { 'data-testid': 'mail-problem' }, timeEl(p.created_at), ` ${p.address}: ${p.subject} — ${p.state === 'refused' ? 'refused' : 'undeliverable'} (${p.reason})`),
              ),
            )
          : h('p', { class: 'muted', 'data-testid': 'mail-problems-empty', text: 'Every mail was delivered.' }),
      );
    } catch (err) {
      replace(problems, inlineMessage('error', describeError(err), 'mail-problems-error'));
    }
  }

  await Promise.all([draw(), drawProblems()]);
}
