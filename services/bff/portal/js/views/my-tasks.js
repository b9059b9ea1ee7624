// "What do I do now": the tasks assigned to the signed-in user, across
// documents, grouped as overdue, due soon, stale, awaiting my approval,
// requests to me, the rest, and done; filterable by kind and state.

import { get } from '../api.js';
import { h, field, replace } from '../dom.js';
import { assignableUsers, canWrite, documentTitle } from '../state.js';
import { plural, todayYmd, TASK_KIND_LABELS, TASK_STATUS_LABELS } from '../format.js';
import { taskItem, newRequestForm } from '../components/tasks.js';

const SOON_DAYS = 7;
const PAGE = 20;

const GROUPS = [
  ['overdue', 'Overdue'],
  ['soon', 'Due soon'],
  ['stale', 'Stale: a newer version arrived'],
  ['approve', 'Awaiting my approval'],
  ['requests', 'Requests to me'],
  ['later', 'Everything else'],
  ['done', 'Done'],
];

function addDays(ymd, days) {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The one group a task belongs to, the most pressing first. */
export function groupOf(task, today) {
  if (task.status === 'done') return 'done';
  if (task.due_date && task.due_date < today) return 'overdue';
  if (task.due_date && task.due_date <= addDays(today, SOON_DAYS)) return 'soon';
  if (task.stale) return 'stale';
  if (task.kind === 'approval' && !task.decision) return 'approve';
  if (task.kind === 'request' && task.status === 'open') return 'requests';
  return 'later';
}

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

  const [answer, assignees] = await Promise.all([
    get('/tasks', { assignee: 'me', status: status || undefined, kind: kind || undefined }),
    assignableUsers(),
  ]);
  const today = todayYmd();

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

  for (const [key, title] of GROUPS) {
    const tasks = answer.items.filter((t) => groupOf(t, today) === key);
    if (!tasks.length) continue;
    const list = h('ul', { class: 'task-list', 'aria-label': title });
    const more = h('button', { type: 'button', class: 'button button--small', 'data-testid': `my-tasks-more-${key}`, hidden: tasks.length <= PAGE });
    let shown = 0;
    const showMore = () => {
      for (const t of tasks.slice(shown, shown + PAGE)) list.append(item(t));
      shown = Math.min(tasks.length, shown + PAGE);
      more.hidden = shown >= tasks.length;
      more.textContent = `Show ${Math.min(PAGE, tasks.length - shown)} more`;
      count();
    };
    more.addEventListener('click', showMore);
    groups.append(
      h('section', { class: 'section task-group', 'data-testid': `my-tasks-group-${key}`, 'aria-label': title }, h('h2', {}, title, h('span', { class: 'muted', text: ` (${tasks.length})` })), list, more),
    );
    showMore();
  }
  count();

  // A request is the assignee's task, so nothing is added to this list.
  if (canWrite()) container.append(newRequestForm(assignees, () => {}));
}
