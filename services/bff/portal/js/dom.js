// Small DOM helpers. Text always goes in as text nodes, never as HTML, so
// nothing a user typed can run in the page.

/**
 * Creates an element. `attrs` keys: `class`, `text`, `dataset`-style
 * `data-*`, `aria-*`, boolean properties (`disabled`, `checked`, `hidden`,
 * `required`, `selected`, `multiple`), `on*` for event listeners (functions),
 * anything else as an attribute. Children may be nodes, strings, numbers,
 * arrays, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (['disabled', 'checked', 'hidden', 'required', 'selected', 'multiple', 'value'].includes(key)) {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let fieldCounter = 0;
/** A unique id for label/control pairs. */
export function uid(prefix = 'f') {
  fieldCounter += 1;
  return `${prefix}-${fieldCounter}`;
}

/**
 * A labelled form field. `control` is an input/select/textarea element; it gets
 * an id, and an error slot is wired with aria-describedby.
 */
export function field(labelText, control, { hint } = {}) {
  const id = control.id || uid('field');
  control.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  return h(
    'div',
    { class: 'field', 'data-field': control.name || '' },
    h('label', { for: id, text: labelText }),
    control,
    // Below the control, so that controls side by side line up whatever their hints.
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    error,
  );
}

/** Shows the `errors` of an ApiError next to the form fields they name;
 * returns the messages that matched no field. */
export function showFieldErrors(form, err) {
  clearFieldErrors(form);
  const unmatched = [];
  for (const { field: name, message } of (err && err.errors) || []) {
    const base = String(name).replace(/\[.*$/, '');
    const wrapper = form.querySelector(`.field[data-field="${CSS.escape(base)}"]`);
    const slot = wrapper && wrapper.querySelector('.field-error');
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
      slot.hidden = false;
      const control = wrapper.querySelector('input, select, textarea');
      if (control) control.setAttribute('aria-invalid', 'true');
    } else {
      unmatched.push(`${name}: ${message}`);
    }
  }
  return unmatched;
}

export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll('.field-error')) {
    slot.textContent = '';
    slot.hidden = true;
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** A message box inside a view (for errors that belong to one form). */
export function inlineMessage(kind, text, testid) {
  return h('p', {
    class: ['inline-message', `inline-message--${kind}`],
    role: kind === 'error' ? 'alert' : 'status',
    'data-testid': testid,
    text,
  });
}

/** Disables a form's controls while `promise` runs. */
export async function busy(form, promise) {
  const controls = [...form.querySelectorAll('button, input, select, textarea')].filter((c) => !c.disabled);
  controls.forEach((c) => {
    c.disabled = true;
  });
  form.setAttribute('aria-busy', 'true');
  try {
    return await promise;
  } finally {
    controls.forEach((c) => {
      c.disabled = false;
    });
    form.removeAttribute('aria-busy');
  }
}
