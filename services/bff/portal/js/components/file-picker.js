// A file chooser that also takes a dropped file, and an upload progress bar.

import { h, replace, uid } from '../dom.js';
import { formatBytes } from '../format.js';

/**
 * Returns { element, input, file(), reset() }. `testid` names the file input
 * (e.g. "file-input"); `onChange(file)` is called when a file is chosen.
 */
export function filePicker({ label = 'File', testid = 'file-input', onChange } = {}) {
  const id = uid('file');
  let chosen = null;

  const input = h('input', { type: 'file', id, name: 'file', class: 'visually-hidden', 'data-testid': testid });
  const chosenText = h('span', { class: 'dropzone__chosen', 'data-testid': `${testid}-chosen`, 'aria-live': 'polite' });
  const zone = h(
    'div',
    { class: 'dropzone', 'data-testid': `${testid}-dropzone` },
    input,
    h(
      'label',
      { for: id, class: 'dropzone__label' },
      h('span', { class: 'dropzone__icon', 'aria-hidden': 'true', text: '⇪' }),
      h('span', { class: 'dropzone__title', text: label }),
      h('span', { class: 'dropzone__hint', text: 'Drop a file here, or ' }),
      h('span', { class: 'button button--small', text: 'Choose a file' }),
    ),
    chosenText,
  );

  function choose(file) {
    chosen = file || null;
    zone.classList.toggle('dropzone--has-file', Boolean(chosen));
    replace(chosenText, chosen ? `Selected: ${chosen.name} (${formatBytes(chosen.size)})` : '');
    if (onChange) onChange(chosen);
  }

  input.addEventListener('change', () => choose(input.files && input.files[0]));

  let depth = 0;
  zone.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    zone.classList.add('dropzone--over');
  });
  zone.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dropzone--over');
  });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dropzone--over');
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) {
      input.value = '';
      choose(files[0]);
    }
  });

  return {
    element: zone,
    input,
    file: () => chosen,
    reset() {
      input.value = '';
      choose(null);
    },
  };
}

function hasFiles(event) {
  return event.dataTransfer && [...event.dataTransfer.types].includes('Files');
}

/** A progress bar for an upload, hidden until start(). */
export function uploadProgress({ testid = 'upload-progress', onCancel } = {}) {
  const bar = h('progress', { max: '100', value: '0', 'data-testid': `${testid}-bar`, 'aria-label': 'Upload progress' });
  const text = h('span', { class: 'progress__text', 'data-testid': `${testid}-text` });
  const cancel = h('button', { type: 'button', class: 'button button--small button--quiet', text: 'Cancel upload', 'data-testid': `${testid}-cancel` });
  if (onCancel) cancel.addEventListener('click', onCancel);
  const element = h('div', { class: 'progress', hidden: true, 'data-testid': testid }, bar, text, onCancel ? cancel : null);

  return {
    element,
    start(total) {
      element.hidden = false;
      bar.value = 0;
      text.textContent = `Uploading… 0 of ${formatBytes(total)}`;
    },
    update(loaded, total) {
      const pct = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
      bar.value = pct;
      text.textContent =
        loaded >= total ? 'Upload sent, waiting for Folio to store it…' : `Uploading… ${pct}% (${formatBytes(loaded)} of ${formatBytes(total)})`;
    },
    stop() {
      element.hidden = true;
      bar.value = 0;
      text.textContent = '';
    },
  };
}
