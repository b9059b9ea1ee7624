// The organisation's OneDrive connection (admins): connect a folder, see how
// mirroring goes (refreshed while the page is open: progress, sync lag, open
// conflicts), sync now, replace the client secret, disconnect. The client secret is write-only: typed into a
// password field, sent once, never shown again.

import { get, put, post, del, describeError, ApiError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { personName, loadUsers } from '../state.js';
import { timeEl, plural, formatDuration } from '../format.js';
import { conflictItem, conflictsPath } from '../components/onedrive-conflict.js';

const PATH = '/onedrive/connection';
const REFRESH_MS = 5000;
/** A change waiting longer than this is shown as late (seconds). */
const LATE_S = 300;

const STATE_LABELS = {
  active: 'Active',
  pending: 'Setting up',
  error: 'Error',
  throttled: 'Paused by Microsoft',
};

export async function render(container) {
  container.dataset.testid = 'onedrive-view';
  container.classList.add('view--narrow');
  const body = h('div');
  container.append(h('h1', { tabindex: '-1', text: 'OneDrive' }), body);
  let timer = null;

  let conflicts = { items: [], total: 0 };

  async function load() {
    try {
      const connection = await get(PATH);
      conflicts = await get(conflictsPath());
      return connection;
    } catch (err) {
      if (err instanceof ApiError && err.type === 'not-found') return null;
      throw err;
    }
  }

  function show(connection) {
    clearTimeout(timer);
    timer = null;
    if (connection) {
      replace(body, status(connection, conflicts));
      timer = setTimeout(refresh, REFRESH_MS);
    } else {
      replace(body, connectForm());
    }
  }

  async function refresh() {
    try {
      show(await load());
    } catch {
      // A failed refresh keeps what is shown; the next action reports errors.
      timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  function status(c, open) {
    const actions = h('div', { class: 'form__actions' });
    const syncButton = h('button', { type: 'button', class: 'button', 'data-testid': 'onedrive-sync', text: 'Sync now' });
    syncButton.addEventListener('click', async () => {
      syncButton.disabled = true;
      try {
        show(await post(`${PATH}/sync`));
        notify('Looking for changes in OneDrive now.');
      } catch (err) {
        notifyError(err, 'Could not start a sync.');
        syncButton.disabled = false;
      }
    });
    const disconnectButton = h('button', { type: 'button', class: 'button button--danger-quiet', 'data-testid': 'onedrive-disconnect', text: 'Disconnect' });
    disconnectButton.addEventListener('click', () => confirmDisconnect(actions));
    const secretButton = h('button', { type: 'button', class: 'button', 'data-testid': 'onedrive-replace-secret', text: 'Replace secret' });
    const secretSlot = h('div');
    secretButton.addEventListener('click', () => {
      clearTimeout(timer);
      replace(secretSlot, replaceSecretForm(secretSlot));
    });
    actions.append(syncButton, secretButton, disconnectButton);
    const row = (label, value, testid) => [h('dt', { text: label }), h('dd', { 'data-testid': testid }, value)];
    return h(
      'div',
      {},
      c.last_error
        ? h('p', { class: 'inline-message inline-message--error', role: 'alert', 'data-testid': 'onedrive-error' }, `Last problem: ${c.last_error}`)
        : null,
      h(
        'dl',
        { class: 'card details', 'data-testid': 'onedrive-status' },
        row('State', h('span', { class: ['badge', `badge--onedrive-${c.state}`], 'data-state': c.state, text: STATE_LABELS[c.state] || c.state }), 'onedrive-state'),
        row('Documents mirrored', String(c.documents_mirrored), 'onedrive-mirrored'),
        row('Last sync', c.last_sync_at ? timeEl(c.last_sync_at) : 'Not yet', 'onedrive-last-sync'),
        row(c.sync.in_progress ? 'Sync in progress' : 'Last sync counted', progressText(c.sync), 'onedrive-progress'),
        row('Sync lag', lagText(c.lag), 'onedrive-lag'),
        row('Files skipped', String(c.skipped.total), 'onedrive-skipped-total'),
        row('Open conflicts', String(c.open_conflicts), 'onedrive-open-conflicts'),
        c.paused_until ? row('Paused until', timeEl(c.paused_until), 'onedrive-paused-until') : [],
        row('Subscription renews before', c.subscription_expires_at ? timeEl(c.subscription_expires_at) : 'No live subscription yet', 'onedrive-subscription'),
        row('Tenant', c.tenant_id ?? '', 'onedrive-tenant'),
        row('App id', c.app_id ?? '', 'onedrive-app'),
        row('Client secret', c.client_secret_set_at ? ['Entered ', timeEl(c.client_secret_set_at)] : 'Entered', 'onedrive-secret-set'),
        row('Drive', c.drive_id ?? '', 'onedrive-drive'),
        row('Folder id', c.folder_id ?? '', 'onedrive-folder'),
        row('Connected by', [personName(c.connected_by), ' ', timeEl(c.connected_at)], 'onedrive-connected-by'),
      ),
      h(
        'p',
        { class: 'muted' },
        `Files in the folder become documents; each change in OneDrive becomes a new version marked “OneDrive”. ${plural(c.documents_mirrored, 'file is', 'files are')} mirrored now.`,
      ),
      conflictList(open),
      skippedList(c.skipped),
      actions,
      secretSlot,
    );
  }

  // Rotation: a new client secret, checked with Microsoft Graph before it
  // replaces the stored one.
  function replaceSecretForm(slot) {
    const secret = h('input', { type: 'password', name: 'client_secret', required: true, autocomplete: 'new-password', spellcheck: 'false', maxlength: '1024', 'data-testid': 'onedrive-new-secret-input' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const cancel = h('button', { type: 'button', class: 'button button--quiet', text: 'Cancel', onclick: () => refresh() });
    const form = h(
      'form',
      { class: 'card form', novalidate: true, 'aria-label': 'Replace the client secret' },
      errorSlot,
      field('New client secret', secret, { hint: 'The new secret’s value from the app registration. It is checked with Microsoft and never shown again.' }),
      h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'onedrive-replace-secret-save', text: 'Replace secret' }), cancel),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(errorSlot);
      clearFieldErrors(form);
      if (!secret.value.trim()) {
        replace(errorSlot, inlineMessage('error', 'Enter the new client secret.', 'onedrive-replace-secret-error'));
        secret.focus();
        return;
      }
      try {
        const connection = await busy(form, put(`${PATH}/client-secret`, { client_secret: secret.value.trim() }));
        secret.value = '';
        notify('The client secret is replaced.');
        show(connection);
      } catch (err) {
        const unmatched = showFieldErrors(form, err);
        replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'onedrive-replace-secret-error'));
      }
    });
    setTimeout(() => secret.focus(), 0);
    return form;
  }

  // How long a change in OneDrive takes to show in Folio: waiting now (late
  // ones stand out), or what the last one took.
  function lagText(lag) {
    const last = lag.last_seconds === null ? null : `the last change took ${formatDuration(lag.last_seconds)}`;
    if (lag.current_seconds > 0) {
      const late = lag.current_seconds >= LATE_S;
      return h(
        'span',
        { class: ['lag', late ? 'lag--late' : null], 'data-late': String(late) },
        `A change is waiting for ${formatDuration(lag.current_seconds)}`,
        last ? ` (${last})` : null,
      );
    }
    return h('span', { class: 'lag', 'data-late': 'false' }, last ? `Up to date; ${last}` : 'Up to date');
  }

  // Sends that found the file changed in OneDrive, until sent again or dismissed.
  function conflictList(open) {
    if (!open.items.length) return null;
    return h(
      'section',
      { class: 'card', 'data-testid': 'onedrive-conflicts' },
      h('h2', { text: 'Open conflicts' }),
      h('p', { class: 'muted', text: 'These documents were not sent because their file had changed in OneDrive. A conflict closes when the document is sent again, or when you dismiss it.' }),
      h('ul', { class: 'plain-list' }, open.items.map((c) => conflictItem(c, { withDocument: true, onDismissed: () => refresh() }))),
    );
  }

  function progressText(p) {
    return `${p.items_seen} seen, ${p.items_mirrored} mirrored, ${p.items_skipped} skipped`;
  }

  // Files kept out of Folio and why (the API lists them for admins).
  function skippedList(skipped) {
    if (!skipped.items.length) return null;
    return h(
      'section',
      { class: 'card', 'data-testid': 'onedrive-skipped' },
      h('h2', { text: 'Skipped files' }),
      h('p', { class: 'muted', text: 'These OneDrive files are not mirrored. Each is tried again when it changes in OneDrive.' }),
      h(
        'ul',
        { class: 'plain-list' },
        skipped.items.map((s) =>
          h('li', { 'data-testid': 'onedrive-skipped-item', 'data-item': s.item_id }, h('strong', { text: s.name }), ' — ', s.reason, ' ', timeEl(s.skipped_at)),
        ),
      ),
    );
  }

  function confirmDisconnect(actions) {
    const yes = h('button', { type: 'button', class: 'button button--danger', 'data-testid': 'onedrive-disconnect-confirm', text: 'Yes, disconnect' });
    const no = h('button', { type: 'button', class: 'button button--quiet', text: 'Cancel', onclick: () => refresh() });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await del(PATH);
        notify('OneDrive is disconnected. Documents mirrored so far stay in Folio.');
        show(null);
      } catch (err) {
        notifyError(err, 'Could not disconnect OneDrive.');
        refresh();
      }
    });
    clearTimeout(timer);
    replace(actions, h('span', { class: 'confirm-text', role: 'alert', text: 'Stop mirroring this OneDrive folder? Documents already in Folio stay.' }), yes, no);
    no.focus();
  }

  function connectForm() {
    const input = (name, testid, attrs = {}) => h('input', { type: 'text', name, required: true, autocomplete: 'off', spellcheck: 'false', 'data-testid': testid, ...attrs });
    const tenant = input('tenant_id', 'onedrive-tenant-input', { maxlength: '255', placeholder: 'contoso.onmicrosoft.com' });
    const app = input('app_id', 'onedrive-app-input', { maxlength: '64', placeholder: '00000000-0000-0000-0000-000000000000' });
    const secret = input('client_secret', 'onedrive-secret-input', { type: 'password', maxlength: '1024', autocomplete: 'new-password' });
    const drive = input('drive_id', 'onedrive-drive-input', { maxlength: '255' });
    const folder = input('folder', 'onedrive-folder-input', { maxlength: '1024', placeholder: '/Clients' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const form = h(
      'form',
      { class: 'card form', novalidate: true, 'aria-labelledby': 'onedrive-connect-title' },
      errorSlot,
      field('Tenant', tenant, { hint: 'The Microsoft Entra tenant: its id or domain.' }),
      field('App id', app, { hint: 'The application (client) id of the app registration Folio uses.' }),
      field('Client secret', secret, { hint: 'The value of a client secret of that app registration. Folio keeps it for your organisation only and never shows it again.' }),
      field('Drive id', drive),
      field('Folder', folder, { hint: 'A path from the drive’s root, such as /Clients, or a folder’s item id.' }),
      h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'onedrive-connect', text: 'Connect' })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(errorSlot);
      clearFieldErrors(form);
      const values = {
        tenant_id: tenant.value.trim(),
        app_id: app.value.trim(),
        client_secret: secret.value.trim(),
        drive_id: drive.value.trim(),
        folder: folder.value.trim(),
      };
      const empty = Object.entries(values).find(([, v]) => !v);
      if (empty) {
        replace(errorSlot, inlineMessage('error', 'Fill in every field.', 'onedrive-connect-error'));
        form.querySelector(`[name="${empty[0]}"]`).focus();
        return;
      }
      try {
        const connection = await busy(form, put(PATH, values));
        secret.value = '';
        notify('OneDrive is connected. Its files will appear as documents in a moment.');
        show(connection);
      } catch (err) {
        const unmatched = showFieldErrors(form, err);
        replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'onedrive-connect-error'));
      }
    });
    return h(
      'section',
      { 'aria-labelledby': 'onedrive-connect-title' },
      h('p', { 'data-testid': 'onedrive-not-connected', text: 'Folio is not connected to OneDrive. Connect a folder to mirror its files into Folio as documents; changes in OneDrive become new versions.' }),
      h('h2', { id: 'onedrive-connect-title', text: 'Connect a OneDrive folder' }),
      form,
    );
  }

  body.append(h('p', { class: 'loading', text: 'Loading…' }));
  await loadUsers().catch(() => null);
  show(await load());
  return () => clearTimeout(timer);
}

/** Whether the organisation is connected (for the Send to OneDrive action). */
export async function connected() {
  try {
    await get(PATH);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.type === 'unauthenticated') throw err;
    return false;
  }
}
