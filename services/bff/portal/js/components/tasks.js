// Task items (shown on a document and in "my tasks") and the form to add one.

import { patch, del, post, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { canWrite, personName, session } from '../state.js';
import { formatDate, timeEl, todayYmd, TASK_STATUS_LABELS } from '../format.js';

/** Options for an assignee <select>: unassigned, then people. */
function assigneeOptions(assignees, selectedId) {
  const options = [h('option', { value: '', text: 'Unassigned', selected: !selectedId })];
  const ids = new Set();
  for (const u of assignees) {
    ids.add(u.id);
    const label = u.id === session.user.id ? `${u.display_name} (you)` : u.display_name;
    options.push(h('option', { value: u.id, text: label, selected: u.id === selectedId }));
  }
  if (selectedId && !ids.has(selectedId)) {
    options.push(h('option', { value: selectedId, text: personName(selectedId), selected: true }));
  }
  return options;
}

/**
 * One task. `assignees`: users to offer; `documentLink`: optional node naming
 * the task's document; `onChanged(task)` after an update, `onDeleted(task)`.
 */
export function taskItem(task, { assignees, documentLink, onChanged, onDeleted }) {
  const li = h('li', { class: 'task', 'data-testid': 'task-item', 'data-task-id': task.id });

  function draw() {
    li.classList.toggle('task--done', task.status === 'done');
    const writable = canWrite();
    const overdue = task.due_date && task.status !== 'done' && task.due_date < todayYmd();

    const statusBadge = h('span', {
      class: ['badge', `badge--status-${task.status}`],
      'data-testid': 'task-status',
      'data-status': task.status,
      text: TASK_STATUS_LABELS[task.status] || task.status,
    });

    const meta = h(
      'p',
      { class: 'task__meta muted' },
      h('span', { 'data-testid': 'task-assignee-name' }, task.assignee_id ? `Assigned to ${personName(task.assignee_id)}` : 'Unassigned'),
      task.due_date ? h('span', { class: overdue ? 'overdue' : null }, ` · due ${formatDate(task.due_date)}${overdue ? ' (overdue)' : ''}`) : null,
      task.status === 'done' && task.completed_at ? h('span', {}, ' · completed ', timeEl(task.completed_at)) : null,
    );

    const controls = [];
    if (writable) {
      if (task.status === 'done') {
        controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-reopen', text: 'Reopen', onclick: () => update({ status: 'open' }, 'Task reopened.') }));
      } else {
        if (task.status === 'open') {
          controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-start', text: 'Start', onclick: () => update({ status: 'in_progress' }, 'Task in progress.') }));
        }
        controls.push(h('button', { type: 'button', class: 'button button--small button--primary', 'data-testid': 'task-complete', text: 'Mark done', onclick: () => update({ status: 'done' }, 'Task completed.') }));
      }
      const select = h('select', { 'data-testid': 'task-assignee', 'aria-label': `Assignee of “${task.title}”` }, assigneeOptions(assignees, task.assignee_id));
      select.addEventListener('change', () => {
        const value = select.value || null;
        update({ assignee_id: value }, value ? `Assigned to ${personName(value)}.` : 'Task unassigned.');
      });
      controls.push(h('label', { class: 'inline-label' }, h('span', { class: 'visually-hidden', text: 'Assignee' }), select));
      controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-edit', text: 'Edit', onclick: () => edit() }));
      controls.push(h('button', { type: 'button', class: 'button button--small button--danger-quiet', 'data-testid': 'task-delete', text: 'Delete', onclick: () => confirmDelete() }));
    }

    replace(
      li,
      h(
        'div',
        { class: 'task__body' },
        h('div', { class: 'task__head' }, h('span', { class: 'task__title', 'data-testid': 'task-title', text: task.title }), statusBadge),
        documentLink ? h('p', { class: 'task__document' }, documentLink) : null,
        task.description ? h('p', { class: 'task__description', text: task.description }) : null,
        meta,
      ),
      controls.length ? h('div', { class: 'task__controls' }, controls) : null,
    );
  }

  async function update(changes, message) {
    const focused = li.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    li.setAttribute('aria-busy', 'true');
    for (const c of li.querySelectorAll('button, select')) c.disabled = true;
    let changed = false;
    try {
      task = await patch(`/tasks/${encodeURIComponent(task.id)}`, changes);
      changed = true;
      notify(message);
    } catch (err) {
      notifyError(err, 'Could not change the task.');
    } finally {
      li.removeAttribute('aria-busy');
      draw();
      if (changed && onChanged) onChanged(task);
      // Keep keyboard users where they were (the button may have changed).
      if (focused) {
        const again = li.querySelector(`[data-testid="${focused}"]`) || li.querySelector('.task__controls button');
        if (again) again.focus();
      }
    }
  }

  function confirmDelete() {
    const yes = h('button', { type: 'button', class: 'button button--small button--danger', 'data-testid': 'task-delete-confirm', text: 'Delete task' });
    const no = h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Keep it', onclick: () => draw() });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await del(`/tasks/${encodeURIComponent(task.id)}`);
        notify(`Deleted task “${task.title}”.`);
        li.remove();
        if (onDeleted) onDeleted(task);
      } catch (err) {
        notifyError(err, 'Could not delete the task.');
        draw();
      }
    });
    const controls = li.querySelector('.task__controls');
    replace(controls, h('span', { class: 'confirm-text', text: 'Delete this task?' }), yes, no);
    no.focus();
  }

  function edit() {
    const form = taskFields(task, assignees, { withStatus: true });
    const backToItem = () => {
      draw();
      const again = li.querySelector('[data-testid="task-edit"]');
      if (again) again.focus();
    };
    const cancel = h('button', { type: 'button', class: 'button button--quiet', text: 'Cancel', onclick: backToItem });
    const save = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'task-save', text: 'Save task' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const el = h('form', { class: 'task-edit form', novalidate: true, 'aria-label': `Edit task “${task.title}”` }, errorSlot, form.fields, h('div', { class: 'form__actions' }, save, cancel));
    el.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(errorSlot);
      clearFieldErrors(el);
      const values = form.values();
      if (!values.title) {
        replace(errorSlot, inlineMessage('error', 'A task needs a title.', 'task-edit-error'));
        return;
      }
      const changes = {};
      if (values.title !== task.title) changes.title = values.title;
      if (values.description !== task.description) changes.description = values.description;
      if (values.status !== task.status) changes.status = values.status;
      if ((values.assignee_id || null) !== (task.assignee_id || null)) changes.assignee_id = values.assignee_id || null;
      if ((values.due_date || null) !== (task.due_date || null)) changes.due_date = values.due_date || null;
      if (!Object.keys(changes).length) {
        backToItem();
        return;
      }
      try {
        task = await busy(el, patch(`/tasks/${encodeURIComponent(task.id)}`, changes));
        notify('Task saved.');
        backToItem();
        if (onChanged) onChanged(task);
      } catch (err) {
        const unmatched = showFieldErrors(el, err);
        replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'task-edit-error'));
      }
    });
    replace(li, el);
    el.querySelector('input').focus();
  }

  draw();
  return li;
}

/** The inputs shared by "add task" and "edit task". */
function taskFields(task, assignees, { withStatus = false } = {}) {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '200', value: task?.title || '', 'data-testid': 'task-title-input' });
  const description = h('textarea', { name: 'description', rows: '2', maxlength: '10000', 'data-testid': 'task-description-input' });
  description.value = task?.description || '';
  const assignee = h('select', { name: 'assignee_id', 'data-testid': 'task-assignee-input' }, assigneeOptions(assignees, task?.assignee_id || ''));
  const due = h('input', { type: 'date', name: 'due_date', value: task?.due_date || '', 'data-testid': 'task-due-input' });
  const status = withStatus
    ? h(
        'select',
        { name: 'status', 'data-testid': 'task-status-input' },
        Object.entries(TASK_STATUS_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === task.status })),
      )
    : null;
  return {
    fields: h(
      'div',
      { class: 'task-fields' },
      h('div', { class: 'task-fields__title' }, field('Task', title)),
      h('div', { class: 'task-fields__description' }, field('Details', description, { hint: 'Optional.' })),
      field('Assignee', assignee),
      field('Due date', due),
      status ? field('Status', status) : null,
    ),
    values: () => ({
      title: title.value.trim(),
      description: description.value,
      assignee_id: assignee.value,
      due_date: due.value,
      status: status ? status.value : undefined,
    }),
    reset() {
      title.value = '';
      description.value = '';
      assignee.value = '';
      due.value = '';
    },
    focus: () => title.focus(),
  };
}

/** The "add a task" form for one document. `onCreated(task)`. */
export function newTaskForm(documentId, assignees, onCreated) {
  const inputs = taskFields(null, assignees);
  const errorSlot = h('div', { class: 'form-error-slot' });
  const submit = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'task-add', text: 'Add task' });
  const form = h('form', { class: 'card form new-task', novalidate: true, 'aria-label': 'Add a task', 'data-testid': 'new-task-form' }, h('h3', { text: 'Add a task' }), errorSlot, inputs.fields, h('div', { class: 'form__actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    const values = inputs.values();
    if (!values.title) {
      replace(errorSlot, inlineMessage('error', 'A task needs a title.', 'task-add-error'));
      inputs.focus();
      return;
    }
    const body = { title: values.title };
    if (values.description.trim()) body.description = values.description;
    if (values.assignee_id) body.assignee_id = values.assignee_id;
    if (values.due_date) body.due_date = values.due_date;
    try {
      const task = await busy(form, post(`/documents/${encodeURIComponent(documentId)}/tasks`, body));
      notify(`Added task “${task.title}”.`);
      inputs.reset();
      onCreated(task);
      inputs.focus();
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'task-add-error'));
    }
  });
  return form;
}
