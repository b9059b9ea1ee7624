// The page-wide message area. Two live regions exist in index.html from the
// start (so screen readers pick up changes): #status for news, #alert for
// errors.

import { h, replace } from './dom.js';
import { describeError } from './api.js';

let timer = null;
let carry = false;

function region(id) {
  return document.getElementById(id);
}

function show(kind, text, options = {}) {
  carry = Boolean(options.carry);
  const statusEl = region('status');
  const alertEl = region('alert');
  clearTimeout(timer);
  const target = kind === 'error' ? alertEl : statusEl;
  const other = kind === 'error' ? statusEl : alertEl;
  replace(other);
  const close = h('button', {
    type: 'button',
    class: 'message__close',
    'aria-label': 'Dismiss message',
    'data-testid': 'message-dismiss',
    text: '×',
    onclick: () => clearMessages(),
  });
  replace(
    target,
    h(
      'div',
      { class: ['message', `message--${kind}`], 'data-testid': kind === 'error' ? 'error-message' : 'status-message' },
      h('span', { class: 'message__text', text }),
      close,
    ),
  );
  if (kind !== 'error') timer = setTimeout(clearMessages, 8000);
}

/** Good news. `{ carry: true }` keeps it across the next navigation. */
export function notify(text, options) {
  show('success', text, options);
}

export function notifyInfo(text, options) {
  show('info', text, options);
}

/** Shows an error (an ApiError, anything else, or a string). */
export function notifyError(err, prefix) {
  const text = typeof err === 'string' ? err : describeError(err);
  show('error', prefix ? `${prefix} ${text}` : text);
}

/** On navigation: clears messages, except one shown with `carry`. */
export function clearMessagesOnNavigation() {
  if (carry) {
    carry = false;
    return;
  }
  clearMessages();
}

export function clearMessages() {
  clearTimeout(timer);
  replace(region('status'));
  replace(region('alert'));
}
