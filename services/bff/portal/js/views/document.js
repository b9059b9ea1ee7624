// One document: details (editable), versions with downloads, a new version
// upload, and the document's tasks.

import { get, post, patch, del, upload, contentUrl, describeError, ApiError } from '../api.js';
import { h, field, replace, busy, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify, notifyError, notifyInfo } from '../messages.js';
import { canWrite, personName, loadUsers, assignableUsers, rememberDocument } from '../state.js';
import { formatBytes, formatDate, timeEl, plural } from '../format.js';
import { filePicker, uploadProgress } from '../components/file-picker.js';
import { taskItem, newTaskForm } from '../components/tasks.js';
import { connected as oneDriveConnected } from './onedrive.js';
import { conflictItem, conflictsPath } from '../components/onedrive-conflict.js';

export async function render(container, ctx) {
  const id = ctx.params.id;
  const path = `/documents/${encodeURIComponent(id)}`;
  container.dataset.testid = 'document-view';
  container.append(h('p', { class: 'loading', text: 'Loading document…' }));

  let doc;
  let versions;
  let tasks;
  try {
    // Users are only needed to show names; failing to read them is fine.
    [doc, versions, tasks] = await Promise.all([get(path), get(`${path}/versions`), get(`${path}/tasks`), loadUsers().catch(() => null)]);
  } catch (err) {
    if (err instanceof ApiError && err.type === 'not-found') {
      replace(
        container,
        h('h1', { tabindex: '-1', text: 'Document not found' }),
        h('p', { 'data-testid': 'document-not-found' }, 'It may have been deleted, or the link is wrong. ', h('a', { href: '#/documents', text: 'Back to documents' }), '.'),
      );
      return;
    }
    throw err;
  }
  rememberDocument(doc);
  const [assignees, canSend] = await Promise.all([assignableUsers(), canWrite() ? oneDriveConnected() : false]);
  let currentUpload = null;

  // ---- OneDrive conflicts (docs/adr/0043) ----------------------------------------
  const conflictsSlot = h('div', { 'data-testid': 'document-conflicts' });
  async function drawConflicts() {
    if (!canSend) return;
    let open;
    try {
      open = await get(conflictsPath(doc.id));
    } catch {
      return; // The document itself still shows; the next send reports errors.
    }
    replace(
      conflictsSlot,
      open.items.length
        ? h(
            'div',
            { class: 'inline-message inline-message--warning', role: 'status', 'data-testid': 'document-conflict-notice' },
            h('strong', { text: 'OneDrive conflict. ' }),
            h('ul', { class: 'plain-list' }, open.items.map((c) => conflictItem(c, { onDismissed: () => drawConflicts() }))),
          )
        : null,
    );
  }

  // ---- header -----------------------------------------------------------------
  const header = h('div', { class: 'doc-header' });
  function drawHeader() {
    replace(
      header,
      h(
        'div',
        { class: 'view-header' },
        h('h1', { tabindex: '-1', 'data-testid': 'document-title', text: doc.title }),
        h(
          'div',
          { class: 'view-header__actions' },
          doc.current
            ? h('a', { href: contentUrl(doc.id), class: 'button button--primary', download: doc.current.file_name, 'data-testid': 'download-current', text: 'Download' })
            : null,
          canSend && doc.current
            ? h('button', { type: 'button', class: 'button', 'data-testid': 'send-to-onedrive', text: 'Send to OneDrive', onclick: (e) => sendToOneDrive(e.currentTarget) })
            : null,
          canWrite() ? h('button', { type: 'button', class: 'button', 'data-testid': 'document-edit', text: 'Edit details', onclick: editDetails }) : null,
          canWrite() ? h('button', { type: 'button', class: 'button button--danger-quiet', 'data-testid': 'document-delete', text: 'Delete', onclick: confirmDelete }) : null,
        ),
      ),
      doc.description ? h('p', { class: 'doc-description', 'data-testid': 'document-description', text: doc.description }) : null,
      doc.approval ? approvalLine(doc.approval) : null,
      h(
        'p',
        { class: 'muted' },
        fromOneDrive() ? h('span', { class: 'badge badge--onedrive badge--first', 'data-testid': 'onedrive-marker', text: 'Mirrored from OneDrive' }) : null,
        fromOneDrive() ? ' ' : null,
        doc.tags.length ? h('span', { class: 'tags-inline' }, doc.tags.map((t) => h('a', { class: 'tag', 'data-testid': 'document-tag', href: `#/documents?tag=${encodeURIComponent(t)}`, text: t }))) : null,
        doc.tags.length ? ' · ' : null,
        `Added by ${personName(doc.created_by)} `,
        timeEl(doc.created_at),
        ' · changed ',
        timeEl(doc.updated_at),
      ),
    );
  }

  /** "v3 approved by Ana on 2 Dec 2026", or "v4 awaiting approval". */
  function approvalLine(approval) {
    const state = approval.decision || 'awaiting';
    const text = approval.decision
      ? `v${approval.version} ${approval.decision} by ${personName(approval.approver_id)} on ${formatDate(approval.decided_at.slice(0, 10))}`
      : `v${approval.version} awaiting approval${approval.approver_id ? ` by ${personName(approval.approver_id)}` : ''}`;
    return h('p', { class: ['doc-approval', `doc-approval--${state}`], 'data-testid': 'document-approval', 'data-state': state, text });
  }

  /** After a new version: the document, its versions and its tasks as they are now. */
  async function refresh() {
    try {
      [doc, versions, tasks] = await Promise.all([get(path), get(`${path}/versions`), get(`${path}/tasks`)]);
      rememberDocument(doc);
      drawHeader();
      drawVersions();
      drawTasks();
    } catch (err) {
      notifyError(err, 'Could not reload the document.');
    }
  }

  async function restore(v, button) {
    button.disabled = true;
    try {
      const body = await post(`${path}/versions/${v.number}/restore`);
      notify(`Version ${v.number} restored as version ${body.version.number}.`);
      await refresh();
    } catch (err) {
      notifyError(err, `Could not restore version ${v.number}.`);
      button.disabled = false;
    }
  }

  function editLabel(v, cell) {
    const input = h('input', { type: 'text', name: 'label', maxlength: '40', value: v.label || '', 'data-testid': `version-label-input-${v.number}`, 'aria-label': `Label of version ${v.number}` });
    const form = h(
      'form',
      { class: 'inline-form', novalidate: true },
      input,
      h('button', { type: 'submit', class: 'button button--small', 'data-testid': `version-label-save-${v.number}`, text: 'Save' }),
      h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Cancel', onclick: () => drawVersions() }),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const label = input.value.trim();
      try {
        const updated = await busy(form, patch(`${path}/versions/${v.number}`, { label: label || null }));
        versions.items = versions.items.map((x) => (x.number === updated.number ? updated : x));
        notify(label ? `Version ${v.number} labelled “${label}”.` : `Label of version ${v.number} removed.`);
        drawVersions();
      } catch (err) {
        notifyError(err, 'Could not label the version.');
      }
    });
    replace(cell, form);
    input.focus();
  }

  function fromOneDrive() {
    return versions.items.some((v) => v.source === 'onedrive');
  }

  async function sendToOneDrive(button) {
    const number = doc.current_version;
    button.disabled = true;
    try {
      const sent = await post(`${path}/versions/${number}/send-to-onedrive`);
      notify(`Version ${number} was sent to OneDrive as “${sent.name}”.`);
      drawConflicts();
    } catch (err) {
      notifyError(err, 'Could not send to OneDrive.');
      // Nothing was overwritten; OneDrive's change arrives as a new version
      // in a moment: show it when it does, so it can be reviewed.
      if (err instanceof ApiError && err.type === 'onedrive-conflict') {
        drawConflicts();
        showIncomingVersion(versions.items.length);
      }
    } finally {
      button.disabled = false;
    }
  }

  async function showIncomingVersion(known) {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      if (!container.isConnected) return;
      try {
        const [fresh, list] = await Promise.all([get(path), get(`${path}/versions`)]);
        if (list.items.length > known) {
          doc = fresh;
          versions = list;
          rememberDocument(doc);
          drawHeader();
          drawVersions();
          drawConflicts();
          return;
        }
      } catch {
        return;
      }
    }
  }

  function editDetails() {
    const title = h('input', { type: 'text', name: 'title', required: true, maxlength: '200', value: doc.title, 'data-testid': 'edit-title' });
    const description = h('textarea', { name: 'description', rows: '4', maxlength: '10000', 'data-testid': 'edit-description' });
    description.value = doc.description;
    const tags = h('input', { type: 'text', name: 'tags', value: doc.tags.join(', '), 'data-testid': 'edit-tags' });
    const errorSlot = h('div', { class: 'form-error-slot' });
    const form = h(
      'form',
      { class: 'card form', novalidate: true, 'aria-label': 'Edit document details' },
      errorSlot,
      field('Title', title),
      field('Description', description),
      field('Tags', tags, { hint: 'Separate tags with commas.' }),
      h(
        'div',
        { class: 'form__actions' },
        h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'edit-save', text: 'Save' }),
        h('button', { type: 'button', class: 'button button--quiet', text: 'Cancel', onclick: () => drawHeader() }),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(errorSlot);
      clearFieldErrors(form);
      const newTags = [...new Set(tags.value.split(',').map((t) => t.trim()).filter(Boolean))];
      const changes = {};
      if (title.value.trim() !== doc.title) changes.title = title.value.trim();
      if (description.value !== doc.description) changes.description = description.value;
      if (newTags.join('\u0000') !== doc.tags.join('\u0000')) changes.tags = newTags;
      if (!title.value.trim()) {
        replace(errorSlot, inlineMessage('error', 'A document needs a title.', 'edit-error'));
        return;
      }
      if (!Object.keys(changes).length) {
        drawHeader();
        return;
      }
      try {
        doc = await busy(form, patch(path, changes));
        rememberDocument(doc);
        notify('Details saved.');
        drawHeader();
        header.querySelector('h1').focus();
      } catch (err) {
        const unmatched = showFieldErrors(form, err);
        replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'edit-error'));
      }
    });
    replace(header, h('h1', { tabindex: '-1', text: `Edit “${doc.title}”` }), form);
    title.focus();
  }

  function confirmDelete() {
    const actions = header.querySelector('.view-header__actions');
    const yes = h('button', { type: 'button', class: 'button button--danger', 'data-testid': 'document-delete-confirm', text: 'Yes, delete it' });
    const no = h('button', { type: 'button', class: 'button button--quiet', text: 'Cancel', onclick: () => drawHeader() });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      try {
        await del(path);
        notify(`Deleted “${doc.title}”.`, { carry: true });
        ctx.navigate('#/documents');
      } catch (err) {
        notifyError(err, 'Could not delete the document.');
        drawHeader();
      }
    });
    replace(actions, h('span', { class: 'confirm-text', role: 'alert', text: 'Delete this document and its versions and tasks?' }), yes, no);
    no.focus();
  }

  // ---- versions ---------------------------------------------------------------
  const versionsBody = h('tbody');
  const versionsCount = h('span', { class: 'muted' });
  function drawVersions() {
    versionsCount.textContent = ` (${versions.items.length})`;
    replace(
      versionsBody,
      versions.items.map((v) =>
        h(
          'tr',
          { 'data-testid': 'version-row', 'data-version': String(v.number) },
          h(
            'td',
            { 'data-label': 'Version' },
            h('span', { class: 'version-number', text: `v${v.number}` }),
            v.number === doc.current_version ? h('span', { class: 'badge badge--current', text: 'current' }) : null,
            v.label ? h('span', { class: 'badge badge--label', 'data-testid': `version-label-${v.number}`, text: v.label }) : null,
          ),
          h('td', { 'data-label': 'File', class: 'cell-file' }, v.file_name, v.source === 'onedrive' ? h('span', { class: 'badge badge--onedrive', 'data-testid': 'version-onedrive-marker', title: 'This version came from OneDrive', text: 'OneDrive' }) : null),
          h('td', { 'data-label': 'Size', class: 'cell-nowrap' }, formatBytes(v.size)),
          h('td', { 'data-label': 'By' }, personName(v.created_by)),
          h('td', { 'data-label': 'When', class: 'cell-nowrap' }, timeEl(v.created_at)),
          h('td', { 'data-label': 'Note', class: 'cell-note' }, v.note || h('span', { class: 'muted', text: '—' })),
          h(
            'td',
            { 'data-label': 'Download', class: 'cell-actions' },
            h('a', {
              href: contentUrl(doc.id, v.number),
              download: v.file_name,
              class: 'button button--small',
              'data-testid': `download-version-${v.number}`,
              'aria-label': `Download version ${v.number} (${v.file_name})`,
              text: 'Download',
            }),
            canWrite()
              ? h('button', { type: 'button', class: 'button button--small button--quiet', 'data-testid': `version-label-edit-${v.number}`, 'aria-label': `Label version ${v.number}`, text: v.label ? 'Relabel' : 'Label', onclick: (e) => editLabel(v, e.currentTarget.parentElement) })
              : null,
            canWrite() && v.number !== doc.current_version
              ? h('button', { type: 'button', class: 'button button--small button--quiet', 'data-testid': `version-restore-${v.number}`, 'aria-label': `Restore version ${v.number} as a new version`, text: 'Restore', onclick: (e) => restore(v, e.currentTarget) })
              : null,
          ),
        ),
      ),
    );
  }

  const versionsSection = h(
    'section',
    { class: 'section', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, 'Versions', versionsCount),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table table--stack', 'data-testid': 'versions-table' },
        h('thead', {}, h('tr', {}, ['Version', 'File', 'Size', 'By', 'When', 'Note', ''].map((c) => h('th', { scope: 'col', text: c })))),
        versionsBody,
      ),
    ),
  );

  // ---- new version --------------------------------------------------------------
  let uploadSection = null;
  if (canWrite()) {
    const picker = filePicker({ label: 'New version', testid: 'version-file-input' });
    const note = h('input', { type: 'text', name: 'note', maxlength: '1000', 'data-testid': 'version-note' });
    const progress = uploadProgress({ testid: 'version-progress', onCancel: () => currentUpload && currentUpload.abort() });
    const resultSlot = h('div', { class: 'form-error-slot' });
    const submit = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'version-submit', text: 'Upload version' });
    const form = h(
      'form',
      { class: 'card form', novalidate: true, 'aria-labelledby': 'upload-title' },
      resultSlot,
      h('div', { class: 'field', 'data-field': 'file' }, picker.element, h('p', { class: 'field-error', hidden: true })),
      field('Note', note, { hint: 'Optional: what changed?' }),
      progress.element,
      h('div', { class: 'form__actions' }, submit),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      replace(resultSlot);
      clearFieldErrors(form);
      const file = picker.file();
      if (!file) {
        replace(resultSlot, inlineMessage('error', 'Choose a file to upload.', 'version-error'));
        picker.input.focus();
        return;
      }
      submit.disabled = true;
      progress.start(file.size);
      currentUpload = upload(`${path}/versions`, [['note', note.value.trim()]], file, (l, t) => progress.update(l, t));
      try {
        const { body } = await currentUpload.promise;
        doc = body.document;
        rememberDocument(doc);
        if (body.created) {
          versions.items = [body.version, ...versions.items.filter((v) => v.number !== body.version.number)];
          replace(resultSlot, inlineMessage('success', `Version ${body.version.number} added.`, 'version-created'));
          notify(`Version ${body.version.number} of “${doc.title}” added.`);
        } else {
          const text = `Identical to the current version (version ${body.version.number}), so no new version was added.`;
          replace(resultSlot, inlineMessage('info', text, 'version-identical'));
          notifyInfo(text);
        }
        picker.reset();
        note.value = '';
        drawHeader();
        drawVersions();
        // Open work about an older version is stale now.
        if (body.created) await refresh();
      } catch (err) {
        const unmatched = showFieldErrors(form, err);
        replace(resultSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? describeError(err) : 'Please correct the fields below.', 'version-error'));
      } finally {
        currentUpload = null;
        submit.disabled = false;
        progress.stop();
      }
    });
    uploadSection = h('section', { class: 'section', 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title', text: 'Upload a new version' }), form);
  }

  // ---- tasks ------------------------------------------------------------------
  const taskList = h('ul', { class: 'task-list', 'data-testid': 'task-list', 'aria-label': 'Tasks' });
  const tasksCount = h('span', { class: 'muted' });
  const emptyTasks = h('p', { class: 'muted', 'data-testid': 'tasks-empty', text: 'No tasks yet.' });
  function countTasks() {
    const all = taskList.querySelectorAll('[data-testid="task-item"]').length;
    const open = taskList.querySelectorAll('[data-testid="task-item"]:not(.task--done)').length;
    tasksCount.textContent = all ? ` (${plural(open, 'open', 'open')} of ${all})` : '';
    emptyTasks.hidden = all > 0;
  }
  const itemOptions = { assignees, onChanged: countTasks, onDeleted: countTasks, onUploaded: () => refresh() };
  function drawTasks() {
    replace(taskList, tasks.items.map((t) => taskItem(t, itemOptions)));
    countTasks();
  }
  drawTasks();

  const tasksSection = h(
    'section',
    { class: 'section', 'aria-labelledby': 'tasks-title' },
    h('h2', { id: 'tasks-title' }, 'Tasks', tasksCount),
    emptyTasks,
    taskList,
    canWrite()
      ? newTaskForm(doc.id, assignees, (task) => {
          taskList.append(taskItem(task, itemOptions));
          countTasks();
        })
      : null,
  );

  drawHeader();
  drawVersions();
  await drawConflicts();
  replace(
    container,
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/documents', text: 'Documents' }), ' / '),
    header,
    conflictsSlot,
    versionsSection,
    h('div', { class: 'doc-columns' }, h('div', { class: 'doc-columns__main' }, tasksSection), uploadSection ? h('div', { class: 'doc-columns__side' }, uploadSection) : null),
  );

  return () => {
    if (currentUpload) currentUpload.abort();
  };
}
