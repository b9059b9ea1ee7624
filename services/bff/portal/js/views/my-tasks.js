// "What do I do now": the tasks assigned to the signed-in user, across
// documents, grouped by the server as overdue, due soon, stale, awaiting my
// approval, requests to me, the rest, and done; filterable by kind and state;
// each group paged with "More".

import { get } from '../api.js';
import { h, field, replace } from '../dom.js';
import { assignableUsers, canWrite, documentTitle } from '../state.js';
import { plural, TASK_KIND_LABELS, TASK_STATUS_LABELS } from '../format.js';
import { taskItem, newRequestForm } from '../components/tasks.js';

const PAGE = 20;

// The server's groups (GET /tasks/mine), in its order; it decides which
// group a task falls in and pages each one with its own cursor.
const GROUPS = [
  ['overdue', 'Overdue'],
  ['due_soon', 'Due soon'],
  ['stale', 'Stale: a newer version arrived'],
  ['awaiting_approval', 'Awaiting my approval'],
  ['requests', 'Requests to me'],
  ['later', 'Everything else'],
  ['done', 'Done'],
];

export async function render(container, ctx) {
  const status = TASK_STATUS_LABELS[ctx.query.get('status')] ? ctx.query.get('status') : '';
  const kind = TASK_KIND_LABELS[ctx.query.get('kind')] ? ctx.query.get('kind') : '';
  container.dataset.testid = 'my-tasks-view';

  const go = (s, k) => {
    const q = new URLSearchParams();
    if (s) q.set('status', s);
    if (k) q.set('kind', k);
    const qs = q.toString();
    ctx.navigate(qs ? `#/tasks?${qs}` : '#/tasks');
  };
  const statusSelect = h(
    'select',
    { name: 'status', 'data-testid': 'my-tasks-status' },
    h('option', { value: '', text: 'All' }),
    Object.entries(TASK_STATUS_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === status })),
  );
  statusSelect.addEventListener('change', () => go(statusSelect.value, kind));
  const kindSelect = h(
    'select',
    { name: 'kind', 'data-testid': 'my-tasks-kind' },
    h('option', { value: '', text: 'Any kind' }),
    Object.entries(TASK_KIND_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === kind })),
  );
  kindSelect.addEventListener('change', () => go(status, kindSelect.value));

  const groups = h('div', { class: 'task-groups', 'data-testid': 'my-task-list' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  container.append(
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'My tasks' })),
    h('div', { class: 'filters filters--compact' }, field('Show', statusSelect), field('Kind', kindSelect)),
    summary,
    groups,
  );

  const filters = { status: status || undefined, kind: kind || undefined };
  const pageOf = (group, cursor) => get('/tasks/mine', { ...filters, group, cursor, limit: PAGE });
  const [firsts, assignees] = await Promise.all([
    Promise.all(GROUPS.map(([key]) => pageOf(key))),
    assignableUsers(),
  ]);

  function count() {
    const all = groups.querySelectorAll('[data-testid="task-item"]').length;
    const open = groups.querySelectorAll('[data-testid="task-item"]:not(.task--done)').length;
    summary.textContent = all ? `${plural(all, 'task', 'tasks')}, ${open} not done.` : status || kind ? 'No tasks of yours like this.' : 'Nothing is assigned to you.';
  }

  function item(task) {
    let documentLink = h('span', { class: 'muted', text: 'No document yet: upload it to fulfil the request.' });
    if (task.document_id) {
      const docLink = h('a', { href: `#/documents/${encodeURIComponent(task.document_id)}`, 'data-testid': 'task-document-link', text: 'Document…' });
      documentTitle(task.document_id)
        .then((title) => replace(docLink, title === null ? 'a deleted document' : title))
        .catch(() => replace(docLink, 'Open document'));
      documentLink = h('span', {}, 'On ', docLink);
    }
    return taskItem(task, { assignees, documentLink, onChanged: count, onDeleted: count });
  }

  GROUPS.forEach(([key, title], i) => {
    const first = firsts[i];
    if (!first.items.length) return;
    const list = h('ul', { class: 'task-list', 'aria-label': title });
    const shownCount = h('span', { class: 'muted' });
    const more = h('button', { type: 'button', class: 'button button--small', 'data-testid': `my-tasks-more-${key}`, text: 'More' });
    let cursor;
    const show = (page) => {
      for (const { task } of page.items) list.append(item(task));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      const n = list.children.length;
      shownCount.textContent = ` (${n}${cursor ? '+' : ''})`;
      count();
    };
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        show(await pageOf(key, cursor));
      } finally {
        more.disabled = false;
      }
    });
    groups.append(
      h('section', { class: 'section task-group', 'data-testid': `my-tasks-group-${key}`, 'aria-label': title }, h('h2', {}, title, shownCount), list, more),
    );
    show(first);
  });
  count();

  // A request is the assignee's task, so nothing is added to this list.
  if (canWrite()) container.append(newRequestForm(assignees, () => {}));
}
