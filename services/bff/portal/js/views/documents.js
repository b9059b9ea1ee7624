// The document list: search, filters and "load more" paging.

import { get, describeError as describe } from '../api.js';
import { h, field, replace, inlineMessage } from '../dom.js';
import { notifyError } from '../messages.js';
import { canWrite, rememberDocument } from '../state.js';
import { formatBytes, timeEl, plural, TASK_STATUS_LABELS } from '../format.js';

const PAGE_SIZE = 25;

export async function render(container, ctx) {
  const filters = {
    q: (ctx.query.get('q') || '').trim(),
    tag: (ctx.query.get('tag') || '').trim(),
    task_status: TASK_STATUS_LABELS[ctx.query.get('task_status')] ? ctx.query.get('task_status') : '',
  };
  const filtering = Boolean(filters.q || filters.tag || filters.task_status);

  // ---- search form ----
  const q = h('input', { type: 'search', name: 'q', value: filters.q, maxlength: '200', placeholder: 'Title, description or file name', 'data-testid': 'search-q' });
  const tag = h('input', { type: 'text', name: 'tag', value: filters.tag, maxlength: '50', 'data-testid': 'search-tag' });
  const status = h(
    'select',
    { name: 'task_status', 'data-testid': 'search-task-status' },
    h('option', { value: '', text: 'Any' }),
    Object.entries(TASK_STATUS_LABELS).map(([value, label]) => h('option', { value, text: label, selected: value === filters.task_status })),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Search documents' },
    h('div', { class: 'filters__q' }, field('Search', q)),
    field('Tag', tag),
    field('With tasks', status),
    h(
      'div',
      { class: 'filters__actions' },
      h('button', { type: 'submit', class: 'button button--primary', 'data-testid': 'search-submit', text: 'Search' }),
      filtering ? h('a', { href: '#/documents', class: 'button button--quiet', 'data-testid': 'search-clear', text: 'Clear' }) : null,
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(listHash({ q: q.value.trim(), tag: tag.value.trim(), task_status: status.value }));
  });

  const list = h('ul', { class: 'doc-list', 'data-testid': 'document-list', 'aria-label': 'Documents' });
  const summary = h('p', { class: 'muted list-summary', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'button', 'data-testid': 'load-more', hidden: true, text: 'Load more' });
  const errorSlot = h('div', { class: 'form-error-slot' });

  container.append(
    h(
      'div',
      { class: 'view-header' },
      h('h1', { tabindex: '-1', text: 'Documents' }),
      canWrite() ? h('a', { href: '#/documents/new', class: 'button button--primary', 'data-testid': 'add-document', text: 'Add document' }) : null,
    ),
    form,
    errorSlot,
    summary,
    list,
    h('div', { class: 'load-more' }, more),
  );
  container.dataset.testid = 'documents-view';

  let cursor = null;
  let shown = 0;

  async function loadPage() {
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const page = await get('/documents', { ...filters, limit: PAGE_SIZE, cursor: cursor || undefined });
      replace(errorSlot);
      for (const doc of page.items) {
        rememberDocument(doc);
        list.append(documentItem(doc, ctx));
      }
      shown += page.items.length;
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      if (shown === 0) {
        replace(
          summary,
          filtering
            ? 'No documents match these filters.'
            : canWrite()
              ? h('span', {}, 'No documents yet. ', h('a', { href: '#/documents/new', text: 'Add the first one' }), '.')
              : 'No documents yet.',
        );
      } else {
        summary.textContent = `Showing ${plural(shown, 'document', 'documents')}${cursor ? ' (more available)' : ''}.`;
      }
    } catch (err) {
      if (shown === 0) {
        replace(errorSlot, inlineMessage('error', `Could not load documents. ${describe(err)}`, 'documents-error'));
      } else {
        notifyError(err, 'Could not load more documents.');
      }
      // Later pages keep "Load more"; a first page that failed offers to try again.
      more.hidden = shown > 0 && !cursor;
    } finally {
      more.disabled = false;
      more.textContent = shown === 0 ? 'Try again' : 'Load more';
    }
  }
  more.addEventListener('click', loadPage);
  await loadPage();
}

function listHash(filters) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  const qs = params.toString();
  return qs ? `#/documents?${qs}` : '#/documents';
}

function documentItem(doc, ctx) {
  const current = doc.current;
  const href = `#/documents/${encodeURIComponent(doc.id)}`;
  return h(
    'li',
    { class: 'doc-card', 'data-testid': 'document-item', 'data-document-id': doc.id },
    h(
      'div',
      { class: 'doc-card__main' },
      h('a', { href, class: 'doc-card__title', 'data-testid': 'document-link', text: doc.title }),
      current?.source === 'onedrive'
        ? h('span', { class: 'badge badge--onedrive', 'data-testid': 'onedrive-marker', title: 'The current version came from OneDrive', text: 'OneDrive' })
        : null,
      doc.description ? h('p', { class: 'doc-card__description', text: truncate(doc.description, 180) }) : null,
      h(
        'p',
        { class: 'doc-card__meta muted' },
        current ? `${current.file_name} · ${formatBytes(current.size)} · version ${doc.current_version} · ` : 'No content yet · ',
        'changed ',
        timeEl(doc.updated_at),
      ),
    ),
    doc.tags.length
      ? h(
          'ul',
          { class: 'tags', 'aria-label': 'Tags' },
          doc.tags.map((t) =>
            h(
              'li',
              {},
              h('a', {
                class: 'tag',
                href: listHash({ tag: t }),
                title: `Show documents tagged “${t}”`,
                text: t,
                onclick: (e) => {
                  e.preventDefault();
                  ctx.navigate(listHash({ tag: t }));
                },
              }),
            ),
          ),
        )
      : null,
  );
}

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
