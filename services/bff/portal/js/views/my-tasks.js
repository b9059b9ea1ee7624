// Tasks assigned to the signed-in user, across documents.

import { get } from '../api.js';
import { h, field, replace } from '../dom.js';
import { assignableUsers, documentTitle } from '../state.js';
import { plural, TASK_STATUS_LABELS } from '../format.js';
import { taskItem } from '../components/tasks.js';

export async function render(container, ctx) {
  const status = TASK_STATUS_LABELS[ctx.query.get('status')] ? ctx.query.get('status') : '';
  container.dataset.testid = 'my-tasks-view';

  const select = h(
    'select',
    { name: 'status', 'data-testid': 'my-tasks-status' },
    h('option', { value: '', text: 'All' }),
    Object.entries(TASK_STATUS_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === status })),
  );
  select.addEventListener('change', () => ctx.navigate(select.value ? `#/tasks?status=${select.value}` : '#/tasks'));

  const list = h('ul', { class: 'task-list', 'data-testid': 'my-task-list', 'aria-label': 'My tasks' });
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  container.append(
    h('div', { class: 'view-header' }, h('h1', { tabindex: '-1', text: 'My tasks' })),
    h('div', { class: 'filters filters--compact' }, field('Show', select)),
    summary,
    list,
  );

  const [answer, assignees] = await Promise.all([get('/tasks', { assignee: 'me', status: status || undefined }), assignableUsers()]);

  function count() {
    const all = list.querySelectorAll('[data-testid="task-item"]').length;
    const open = list.querySelectorAll('[data-testid="task-item"]:not(.task--done)').length;
    summary.textContent = all ? `${plural(all, 'task', 'tasks')}, ${open} not done.` : status ? 'No tasks of yours in this state.' : 'Nothing is assigned to you.';
  }

  for (const task of answer.items) {
    const docLink = h('a', { href: `#/documents/${encodeURIComponent(task.document_id)}`, 'data-testid': 'task-document-link', text: 'Document…' });
    documentTitle(task.document_id)
      .then((title) => {
        replace(docLink, title === null ? 'a deleted document' : title);
      })
      .catch(() => replace(docLink, 'Open document'));
    list.append(taskItem(task, { assignees, documentLink: h('span', {}, 'On ', docLink), onChanged: count, onDeleted: count }));
  }
  count();
}
