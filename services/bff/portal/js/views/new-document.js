// Add a document: a file (picked or dropped) plus optional title, description,
// tags and note, uploaded with a progress bar.

import { upload, describeError } from '../api.js';
import { h, field, replace, showFieldErrors, clearFieldErrors, inlineMessage } from '../dom.js';
import { notify } from '../messages.js';
import { rememberDocument } from '../state.js';
import { filePicker, uploadProgress } from '../components/file-picker.js';

export function render(container, ctx) {
  const title = h('input', { type: 'text', name: 'title', maxlength: '200', 'data-testid': 'new-document-title' });
  const description = h('textarea', { name: 'description', rows: '3', maxlength: '10000', 'data-testid': 'new-document-description' });
  const tags = h('input', { type: 'text', name: 'tags', maxlength: '1100', 'data-testid': 'new-document-tags' });
  const note = h('input', { type: 'text', name: 'note', maxlength: '1000', 'data-testid': 'new-document-note' });

  const picker = filePicker({
    label: 'File',
    testid: 'file-input',
    onChange(file) {
      if (file && !title.value.trim()) title.placeholder = file.name;
    },
  });
  let current = null;
  const progress = uploadProgress({ testid: 'upload-progress', onCancel: () => current && current.abort() });
  const errorSlot = h('div', { class: 'form-error-slot' });
  const submit = h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'new-document-submit', text: 'Add document' });

  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    errorSlot,
    h('div', { class: 'field', 'data-field': 'file' }, picker.element, h('p', { class: 'field-error', hidden: true })),
    field('Title', title, { hint: 'Optional. Defaults to the file name.' }),
    field('Description', description, { hint: 'Optional.' }),
    field('Tags', tags, { hint: 'Optional. Separate tags with commas, e.g. “contract, 2025”.' }),
    field('Note about this version', note, { hint: 'Optional, e.g. “signed copy”.' }),
    progress.element,
    h('div', { class: 'form__actions' }, submit, h('a', { href: '#/documents', class: 'button button--quiet', text: 'Cancel' })),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(errorSlot);
    clearFieldErrors(form);
    const file = picker.file();
    if (!file) {
      replace(errorSlot, inlineMessage('error', 'Choose a file to upload.', 'new-document-error'));
      picker.input.focus();
      return;
    }
    // Nothing to change while the file is on its way (Cancel upload stays).
    const inputs = [title, description, tags, note, picker.input, submit];
    inputs.forEach((c) => {
      c.disabled = true;
    });
    progress.start(file.size);
    current = upload(
      '/documents',
      [
        ['title', title.value.trim()],
        ['description', description.value],
        ['tags', tags.value],
        ['note', note.value.trim()],
      ],
      file,
      (loaded, total) => progress.update(loaded, total),
    );
    try {
      const { body } = await current.promise;
      rememberDocument(body.document);
      notify(`Added “${body.document.title}”.`, { carry: true });
      ctx.navigate(`#/documents/${encodeURIComponent(body.document.id)}`);
    } catch (err) {
      const unmatched = showFieldErrors(form, err);
      const text = describeError(err);
      replace(errorSlot, inlineMessage('error', unmatched.length || !err.errors?.length ? text : 'Please correct the fields below.', 'new-document-error'));
    } finally {
      current = null;
      inputs.forEach((c) => {
        c.disabled = false;
      });
      progress.stop();
    }
  });

  container.append(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' }, h('a', { href: '#/documents', text: 'Documents' }), ' / '),
    h('h1', { tabindex: '-1', text: 'Add a document' }),
    form,
  );
  container.dataset.testid = 'new-document-view';

  // Leaving the page cancels an upload in flight.
  return () => {
    if (current) current.abort();
  };
}
