// One open OneDrive conflict (docs/adr/0043): a send refused because the
// file changed in OneDrive. Shows the version that was being sent and the
// version OneDrive's change became, each downloadable, and a Dismiss button.
// Used on the OneDrive page and on the document's page.

import { del, contentUrl } from '../api.js';
import { h } from '../dom.js';
import { notify, notifyError } from '../messages.js';
import { personName } from '../state.js';
import { timeEl } from '../format.js';

const PATH = '/onedrive/conflicts';

/** The organisation's open conflicts, or one document's. */
export function conflictsPath(documentId) {
  return documentId ? `${PATH}?document_id=${encodeURIComponent(documentId)}` : PATH;
}

function versionLink(documentId, number, text, testid) {
  return h('a', { href: contentUrl(documentId, number), download: '', 'data-testid': testid, text });
}

/** `withDocument`: name the document and link to it (the OneDrive page). */
export function conflictItem(c, { withDocument = false, onDismissed } = {}) {
  const sent = versionLink(c.document_id, c.sent_version, `version ${c.sent_version}`, 'conflict-sent-version');
  let incoming;
  if (c.incoming_version) {
    incoming = ['OneDrive’s change came in as ', versionLink(c.document_id, c.incoming_version, `version ${c.incoming_version}`, 'conflict-incoming-version'), '. Compare them, then send the one to keep.'];
  } else if (c.incoming_at) {
    incoming = 'OneDrive changed only the file’s details, not its content: sending again is safe.';
  } else {
    incoming = 'OneDrive’s change is on its way as a new version.';
  }
  const dismiss = h('button', { type: 'button', class: 'button button--small button--quiet', 'data-testid': 'conflict-dismiss', text: 'Dismiss' });
  dismiss.addEventListener('click', async () => {
    dismiss.disabled = true;
    try {
      await del(`${PATH}/${encodeURIComponent(c.id)}`);
      notify('The conflict is dismissed.');
      if (onDismissed) onDismissed(c);
    } catch (err) {
      notifyError(err, 'Could not dismiss the conflict.');
      dismiss.disabled = false;
    }
  });
  return h(
    'li',
    { 'data-testid': 'onedrive-conflict', 'data-conflict': c.id },
    withDocument ? [h('a', { href: `#/documents/${encodeURIComponent(c.document_id)}`, 'data-testid': 'conflict-document', text: c.name }), ': '] : null,
    'Folio’s ',
    sent,
    ` was not sent by ${personName(c.sent_by)} `,
    timeEl(c.sent_at),
    ' because the file had changed in OneDrive; nothing was overwritten. ',
    incoming,
    ' ',
    dismiss,
  );
}
