// What a page cannot do with an output, in words for the person looking at it: render an
// output of a bokeh or bokeh_nb protocol version it does not know, or send a change larger
// than the Jupyter server accepts.

import { BOKEH_BELOW, BOKEH_MIN, MAX_BROWSER_MESSAGE_BYTES, PROTOCOL_VERSION } from './protocol';

function majorMinor(version: string): [number, number] {
  const [major, minor] = version.split('.').map(n => parseInt(n, 10));
  return [major, minor];
}

function before(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** Why this frontend cannot render an output of this protocol and bokeh version, or null. */
export function cannotRender(protocol: string, version: string): string | null {
  if (protocol !== PROTOCOL_VERSION) {
    return (
      `This output speaks bokeh_nb protocol ${protocol} but this frontend speaks ` +
      `${PROTOCOL_VERSION}: install the same bokeh_nb version in the kernel's environment ` +
      'and in the one that runs JupyterLab, restart both and reload the page.'
    );
  }
  const v = majorMinor(version);
  const known = Number.isFinite(v[0]) && Number.isFinite(v[1]);
  if (known && !before(v, majorMinor(BOKEH_MIN)) && before(v, majorMinor(BOKEH_BELOW))) {
    return null;
  }
  return (
    `This output comes from a kernel with bokeh ${version || '(unknown)'}, but bokeh_nb ` +
    `renders bokeh ${BOKEH_MIN} up to (not including) ${BOKEH_BELOW}. Install ` +
    `"bokeh>=${BOKEH_MIN},<${BOKEH_BELOW}" and bokeh_nb in the kernel's environment, ` +
    'restart the kernel and run the cell again.'
  );
}

/** Why a browser -> kernel message of size bytes is not sent, or null. */
export function tooLargeToSend(size: number): string | null {
  if (size <= MAX_BROWSER_MESSAGE_BYTES) {
    return null;
  }
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return (
    `This change (${mb(size)} MB) was not sent to the kernel: the Jupyter server ` +
    `accepts at most ${mb(MAX_BROWSER_MESSAGE_BYTES)} MB per message from the browser. ` +
    "Send the data in smaller parts, or raise the server's limit " +
    "(c.ServerApp.tornado_settings = {'websocket_max_message_size': ...})."
  );
}
