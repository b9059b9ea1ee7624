// Recent activity in the organisation, newest first, with "load more".

import { get, describeError } from '../api.js';
import { h, replace, inlineMessage } from '../dom.js';
import { notifyError } from '../messages.js';
import { documentTitle, loadUsers, personName } from '../state.js';
import { timeEl } from '../format.js';

const PAGE_SIZE = 30;

const VERBS = {
  document_created: () => 'added',
  document_updated: () => 'edited the details of',
  document_deleted: () => 'deleted',
  version_added: (e) => `uploaded version ${e.version} of`,
  task_created: () => 'added a task to',
  task_updated: () => 'updated a task on',
  task_deleted: () => 'deleted a task from',
  task_pinned: (e) => (e.from_version ? `asked again, about v${e.version}, for approval of` : `pinned a task to v${e.version} of`),
  task_stale: (e) => `made a task about v${e.from_version} stale with v${e.version} of`,
  task_carried_forward: (e) => `carried a task forward from v${e.from_version} to v${e.version} of`,
  task_closed: () => 'closed a stale task on',
  task_approved: (e) => `approved v${e.version} of`,
  task_rejected: (e) => `rejected v${e.version} of`,
  task_commented: () => 'commented on a task on',
  request_fulfilled: (e) => `fulfilled a request with v${e.version} of`,
  request_accepted: (e) => `accepted v${e.version} for a request on`,
  request_rejected: (e) => `sent back v${e.version} for a request on`,
  version_restored: (e) => `restored v${e.from_version} as v${e.version} of`,
  version_labelled: (e) => `labelled v${e.version} of`,
  version_removed: (e) => `removed v${e.version} (retention) of`,
};

const ICONS = {
  document_created: '+',
  document_updated: '✎',
  document_deleted: '✕',
  version_added: '⇪',
  task_created: '☐',
  task_updated: '☑',
  task_deleted: '✕',
  task_pinned: '⚲',
  task_stale: '⚠',
  task_carried_forward: '↻',
  task_closed: '☑',
  task_approved: '✔',
  task_rejected: '✘',
  task_commented: '✉',
  request_fulfilled: '⇪',
  request_accepted: '✔',
  request_rejected: '✘',
  version_restored: '↺',
  version_labelled: '⚑',
  version_removed: '✕',
};

export async function render(container) {
  container.dataset.testid = 'activity-view';
  const list = h('ol', { class: 'activity', 'data-testid': 'activity-list', 'aria-label': 'Recent activity' });
  const more = h('button', { type: 'button', class: 'button', 'data-testid': 'activity-more', hidden: true, text: 'Load more' });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const empty = h('p', { class: 'muted', hidden: true, text: 'Nothing has happened yet.' });
  container.append(h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'Activity' })), errorSlot, empty, list, h('div', { class: 'load-more' }, more));

  await loadUsers().catch(() => null);
  let cursor = null;
  let shown = 0;

  async function loadPage() {
    more.disabled = true;
    try {
      const page = await get('/activity', { limit: PAGE_SIZE, cursor: cursor || undefined });
      replace(errorSlot);
      for (const e of page.items) list.append(eventItem(e));
      shown += page.items.length;
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = shown > 0;
    } catch (err) {
      if (shown === 0) replace(errorSlot, inlineMessage('error', `Could not load activity. ${describeError(err)}`, 'activity-error'));
      else notifyError(err, 'Could not load more activity.');
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', loadPage);
  await loadPage();
}

// The integration's events concern the OneDrive connection, not a person's act on a document.
const ONEDRIVE = {
  onedrive_sync_failed: ['⚠', 'OneDrive stopped syncing; Folio keeps trying.'],
  onedrive_sync_recovered: ['↻', 'OneDrive syncs again.'],
};

function eventItem(e) {
  const [icon, text] = ONEDRIVE[e.kind] ? [ONEDRIVE[e.kind][0], [h('a', { href: '#/onedrive', text: ONEDRIVE[e.kind][1] })]] : [ICONS[e.kind] || '•', personActText(e)];
  return h(
    'li',
    { class: ['activity__item', `activity__item--${e.kind}`], 'data-testid': 'activity-item', 'data-kind': e.kind },
    h('span', { class: 'activity__icon', 'aria-hidden': 'true', text: icon }),
    h('span', { class: 'activity__text' }, ...text),
    h('span', { class: 'activity__when muted' }, timeEl(e.at)),
  );
}

/** "<person> <verb> <document>", the document's title filled in when known. */
function personActText(e) {
  const verb = (VERBS[e.kind] || (() => e.kind.replace(/_/g, ' ')))(e);
  const docRef = h('span', { class: 'activity__doc', text: e.document_id ? 'a document' : 'a document not uploaded yet' });
  if (e.document_id) documentTitle(e.document_id)
    .then((title) => {
      if (title === null) {
        replace(docRef, h('span', { class: 'muted', text: 'a deleted document' }));
      } else {
        replace(docRef, h('a', { href: `#/documents/${encodeURIComponent(e.document_id)}`, text: `“${title}”` }));
      }
    })
    .catch(() => replace(docRef, h('a', { href: `#/documents/${encodeURIComponent(e.document_id)}`, text: 'a document' })));

  const actor = personName(e.actor_id);
  return [h('strong', { text: actor === 'you' ? 'You' : actor }), ` ${verb} `, docRef];
}
