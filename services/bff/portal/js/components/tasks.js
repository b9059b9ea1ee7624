// Task items (shown on a document and in "my tasks") and the form to add one.
// Every task is about one version ("about v3"); a newer version makes open
// work stale, approvals ask their approver about one version, and requests
// are fulfilled by uploading the file from the request itself.

import { patch, del, post, get, upload, describeError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { canWrite, personName, session } from '../state.js';
import { formatBytes, formatDate, timeEl, todayYmd, TASK_STATUS_LABELS, TASK_KIND_LABELS } from '../format.js';

const COMMENT_EDIT_WINDOW_MS = 15 * 60 * 1000;

/** "about v3", or what a request without a document is waiting for. */
export function aboutVersion(task) {
  if (task.version) return `about v${task.version}`;
  return task.kind === 'request' ? 'no document yet' : 'no version yet';
}

/** The approval state in words: "awaiting approval of v4", "v3 approved by Ana". */
function decisionText(task) {
  if (!task.decision) return `awaiting approval of v${task.version}`;
  const by = personName(task.decided_by);
  return `v${task.version} ${task.decision} by ${by}`;
}

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
export function taskItem(task, { assignees, documentLink, onChanged, onDeleted, onUploaded }) {
  const li = h('li', { class: 'task', 'data-testid': 'task-item', 'data-task-id': task.id });
  let commentsOpen = false;
  const commentsSlot = h('div', { class: 'task__comments' });

  function draw() {
    li.classList.toggle('task--done', task.status === 'done');
    li.classList.toggle('task--stale', task.stale);
    li.dataset.kind = task.kind;
    li.dataset.stale = String(task.stale);
    const writable = canWrite();
    const mine = task.assignee_id === session.user.id;
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

    const kindBadge =
      task.kind !== 'todo' ? h('span', { class: ['badge', `badge--kind-${task.kind}`], 'data-testid': 'task-kind', text: TASK_KIND_LABELS[task.kind] }) : null;
    const about = h('span', { class: 'badge badge--version', 'data-testid': 'task-version', text: aboutVersion(task) });
    const staleBadge = task.stale ? h('span', { class: 'badge badge--stale', 'data-testid': 'task-stale-marker', text: 'Stale' }) : null;

    // What changed since the version the task is about.
    const changed = task.stale && task.changed
      ? h(
          'p',
          { class: 'task__changed', 'data-testid': 'task-changed' },
          `A newer version arrived: v${task.changed.from_version} → v${task.changed.to_version}, by ${personName(task.changed.created_by)} `,
          timeEl(task.changed.created_at),
          `, ${formatBytes(task.changed.size)}`,
          task.changed.note ? ` — “${task.changed.note}”` : '',
        )
      : null;
    const approvalLine =
      task.kind === 'approval' ? h('p', { class: ['task__decision', task.decision ? `task__decision--${task.decision}` : null], 'data-testid': 'task-decision', text: decisionText(task) }) : null;
    const requestLine =
      task.kind === 'request' && task.status === 'in_progress' ? h('p', { class: 'task__decision', 'data-testid': 'task-request-state', text: `v${task.version} uploaded, awaiting review` }) : null;

    const controls = [];
    if (task.stale && (writable || mine)) {
      controls.push(h('button', { type: 'button', class: 'button button--small button--primary', 'data-testid': 'task-carry-forward', text: `Carry forward to v${task.current_version}`, onclick: () => act('carry-forward', null, `Now about v${task.current_version}.`) }));
      controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-close', text: 'Close', onclick: () => act('close', null, 'Task closed.') }));
    }
    if (task.kind === 'approval' && mine && task.status !== 'done' && !task.decision) {
      controls.push(h('button', { type: 'button', class: 'button button--small button--primary', 'data-testid': 'task-approve', text: `Approve v${task.version}`, onclick: () => act('decision', { decision: 'approve' }, `v${task.version} approved.`) }));
      controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-reject', text: 'Reject…', onclick: () => askReason('decision', 'Why do you reject it?', (comment) => ({ decision: 'reject', comment }), `v${task.version} rejected.`) }));
    }
    if (task.kind === 'request' && task.status === 'open' && (mine || writable)) {
      controls.push(fulfilControl());
    }
    if (task.kind === 'request' && task.status === 'in_progress' && writable) {
      controls.push(h('button', { type: 'button', class: 'button button--small button--primary', 'data-testid': 'task-accept', text: 'Accept', onclick: () => act('accept', null, 'Request accepted.') }));
      controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-request-reject', text: 'Reject…', onclick: () => askReason('reject', 'What is wrong with it?', (reason) => ({ reason }), 'Request rejected: it is open again.') }));
    }
    controls.push(h('button', { type: 'button', class: 'button button--small button--quiet', 'data-testid': 'task-comments-toggle', 'aria-expanded': String(commentsOpen), text: commentsOpen ? 'Hide comments' : 'Comments', onclick: () => toggleComments() }));
    // Approvals' and requests' status follows their decision and review.
    if (writable && task.kind === 'todo') {
      if (task.status === 'done') {
        controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-reopen', text: 'Reopen', onclick: () => update({ status: 'open' }, 'Task reopened.') }));
      } else {
        if (task.status === 'open') {
          controls.push(h('button', { type: 'button', class: 'button button--small', 'data-testid': 'task-start', text: 'Start', onclick: () => update({ status: 'in_progress' }, 'Task in progress.') }));
        }
        controls.push(h('button', { type: 'button', class: 'button button--small button--primary', 'data-testid': 'task-complete', text: 'Mark done', onclick: () => update({ status: 'done' }, 'Task completed.') }));
      }
    }
    if (writable) {
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
        h('div', { class: 'task__head' }, h('span', { class: 'task__title', 'data-testid': 'task-title', text: task.title }), kindBadge, about, staleBadge, statusBadge),
        documentLink ? h('p', { class: 'task__document' }, documentLink) : null,
        task.description ? h('p', { class: 'task__description', text: task.description }) : null,
        changed,
        approvalLine,
        requestLine,
        meta,
      ),
      controls.length ? h('div', { class: 'task__controls' }, controls) : null,
      commentsSlot,
    );
  }

  /** POSTs one of the task's actions and redraws with the answer. */
  async function act(action, body, message) {
    li.setAttribute('aria-busy', 'true');
    for (const c of li.querySelectorAll('button, select, input, textarea')) c.disabled = true;
    let changed = false;
    try {
      task = await post(`/tasks/${encodeURIComponent(task.id)}/${action}`, body === null ? undefined : body);
      changed = true;
      notify(message);
    } catch (err) {
      notifyError(err, 'Could not change the task.');
    } finally {
      li.removeAttribute('aria-busy');
      draw();
      if (commentsOpen) loadComments();
      if (changed && onChanged) onChanged(task);
      const first = li.querySelector('.task__controls button');
      if (first) first.focus();
    }
  }

  /** A reason is required to reject: asks for it in place. */
  function askReason(action, question, bodyFor, message) {
    const reason = h('textarea', { name: 'reason', rows: '2', maxlength: '4000', 'data-testid': 'task-reason-input' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const form = h(
      'form',
      { class: 'task-reason form', novalidate: true, 'aria-label': question },
      errorSlot,
      field(question, reason),
      h(
        'div',
        { class: 'form__actions' },
        h('button', { type: 'submit', class: 'button button--small button--danger', 'data-testid': 'task-reason-confirm', text: 'Reject' }),
        h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Cancel', onclick: () => draw() }),
      ),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!reason.value.trim()) {
        replace(errorSlot, inlineMessage('error', 'Say why, so that they know what to change.', 'task-reason-error'));
        reason.focus();
        return;
      }
      act(action, bodyFor(reason.value.trim()), message);
    });
    const controls = li.querySelector('.task__controls');
    replace(controls, form);
    reason.focus();
  }

  /** The assignee uploads what the request asks for, from the request itself. */
  function fulfilControl() {
    const input = h('input', { type: 'file', class: 'visually-hidden-file', 'data-testid': 'task-fulfil-file', 'aria-label': `File for “${task.title}”` });
    const label = h('label', { class: 'button button--small button--primary', text: 'Upload the file…' }, input);
    input.addEventListener('change', async () => {
      const file = input.files && input.files[0];
      if (!file) return;
      li.setAttribute('aria-busy', 'true');
      const progress = h('span', { class: 'muted', 'data-testid': 'task-fulfil-progress', text: 'Uploading…' });
      label.replaceWith(progress);
      try {
        const { body } = await upload(`/tasks/${encodeURIComponent(task.id)}/fulfil`, [], file, (loaded, total) => {
          progress.textContent = `Uploading… ${Math.round((loaded / total) * 100)}%`;
        }).promise;
        task = body.task;
        notify(`Uploaded “${body.version.file_name}” as v${body.version.number} of “${body.document.title}”.`);
        if (onUploaded) onUploaded(body);
        if (onChanged) onChanged(task);
      } catch (err) {
        notifyError(err, 'Could not upload the file.');
      } finally {
        li.removeAttribute('aria-busy');
        draw();
      }
    });
    return label;
  }

  function toggleComments() {
    commentsOpen = !commentsOpen;
    draw();
    if (commentsOpen) loadComments();
    else replace(commentsSlot);
  }

  async function loadComments() {
    replace(commentsSlot, h('p', { class: 'muted', text: 'Loading comments…' }));
    let thread;
    try {
      thread = await get(`/tasks/${encodeURIComponent(task.id)}/comments`);
    } catch (err) {
      replace(commentsSlot, inlineMessage('error', `Could not load the comments. ${describeError(err)}`, 'task-comments-error'));
      return;
    }
    const list = h('ul', { class: 'comments', 'data-testid': 'task-comments', 'aria-label': `Comments on “${task.title}”` });
    for (const c of thread.items) list.append(commentItem(c));
    const body = h('textarea', { name: 'body', rows: '2', maxlength: '4000', 'data-testid': 'task-comment-input' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const form = h(
      'form',
      { class: 'form comment-form', novalidate: true, 'aria-label': 'Add a comment' },
      errorSlot,
      field('Comment', body),
      h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--small', 'data-testid': 'task-comment-submit', text: 'Comment' })),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(errorSlot);
      if (!body.value.trim()) {
        replace(errorSlot, inlineMessage('error', 'Write something first.', 'task-comment-error'));
        return;
      }
      try {
        const comment = await busy(form, post(`/tasks/${encodeURIComponent(task.id)}/comments`, { body: body.value }));
        list.append(commentItem(comment));
        body.value = '';
        body.focus();
      } catch (err) {
        replace(errorSlot, inlineMessage('error', describeError(err), 'task-comment-error'));
      }
    });
    replace(commentsSlot, thread.items.length ? null : h('p', { class: 'muted', text: 'No comments yet.' }), list, form);
  }

  function commentItem(comment) {
    const item = h('li', { class: 'comment', 'data-testid': 'task-comment' });
    function drawComment() {
      const editable = comment.author_id === session.user.id && Date.now() - Date.parse(comment.created_at) < COMMENT_EDIT_WINDOW_MS;
      replace(
        item,
        h('p', { class: 'comment__meta muted' }, h('strong', { text: personName(comment.author_id) }), ' ', timeEl(comment.created_at), comment.updated_at !== comment.created_at ? ' (edited)' : ''),
        h('p', { class: 'comment__body', 'data-testid': 'task-comment-body', text: comment.body }),
        editable ? h('button', { type: 'button', class: 'button button--small button--quiet', 'data-testid': 'task-comment-edit', text: 'Edit', onclick: editComment }) : null,
      );
    }
    function editComment() {
      const text = h('textarea', { name: 'body', rows: '2', maxlength: '4000', 'data-testid': 'task-comment-edit-input' });
      text.value = comment.body;
      const form = h('form', { class: 'form', novalidate: true, 'aria-label': 'Edit the comment' }, field('Comment', text), h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--small', 'data-testid': 'task-comment-save', text: 'Save' }), h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Cancel', onclick: drawComment })));
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        try {
          comment = await busy(form, patch(`/tasks/${encodeURIComponent(task.id)}/comments/${encodeURIComponent(comment.id)}`, { body: text.value }));
          drawComment();
        } catch (err) {
          notifyError(err, 'Could not save the comment.');
        }
      });
      replace(item, form);
      text.focus();
    }
    drawComment();
    return item;
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
function taskFields(task, assignees, { withStatus = false, withKind = false } = {}) {
  const kind = withKind
    ? h(
        'select',
        { name: 'kind', 'data-testid': 'task-kind-input' },
        Object.entries(TASK_KIND_LABELS).map(([value, label]) => h('option', { value, text: label })),
      )
    : null;
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
      kind ? field('Kind', kind, { hint: 'An approval or a request asks the assignee.' }) : null,
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
      kind: kind ? kind.value : undefined,
    }),
    reset() {
      title.value = '';
      description.value = '';
      assignee.value = '';
      due.value = '';
      if (kind) kind.value = 'todo';
    },
    focus: () => title.focus(),
  };
}

/** The "add a task" form for one document. `onCreated(task)`. */
export function newTaskForm(documentId, assignees, onCreated) {
  const inputs = taskFields(null, assignees, { withKind: true });
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
    if (values.kind && values.kind !== 'todo') body.kind = values.kind;
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

/** "Ask for a document": a request to someone for a document that does not exist yet. */
export function newRequestForm(assignees, onCreated) {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '200', 'data-testid': 'request-title-input' });
  const assignee = h('select', { name: 'assignee', 'data-testid': 'request-assignee-input' }, assigneeOptions(assignees, ''));
  const due = h('input', { type: 'date', name: 'due', 'data-testid': 'request-due-input' });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const form = h(
    'form',
    { class: 'card form new-task', novalidate: true, 'aria-label': 'Ask for a document', 'data-testid': 'new-request-form' },
    h('h2', { text: 'Ask for a document' }),
    errorSlot,
    h('div', { class: 'task-fields' }, h('div', { class: 'task-fields__title' }, field('What is needed', title, { hint: 'Also the title of the document it becomes.' })), field('From', assignee), field('By', due)),
    h('div', { class: 'form__actions' }, h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'request-add', text: 'Send the request' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    if (!title.value.trim() || !assignee.value || !due.value) {
      replace(errorSlot, inlineMessage('error', 'Say what is needed, from whom and by when.', 'request-add-error'));
      return;
    }
    try {
      const task = await busy(form, post('/tasks', { kind: 'request', title: title.value.trim(), assignee: assignee.value, due: due.value }));
      notify(`Asked ${personName(task.assignee_id)} for “${task.title}”.`);
      title.value = '';
      onCreated(task);
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'request-add-error'));
    }
  });
  return form;
}
