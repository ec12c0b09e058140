// Small pieces of output UI shared by the live view (view.ts) and the output renderer
// (output.ts).

/** An error in words for the person looking at the output, with a Dismiss button. */
export function errorBox(text: string, traceback: string): HTMLElement {
  const box = document.createElement('div');
  box.className = 'bokeh-nb-error';
  box.setAttribute('role', 'alert');
  box.style.cssText =
    'border-left:4px solid #d32f2f;background:#fdecea;color:#611a15;padding:6px 10px;' +
    'margin:4px 0;font-family:var(--jp-code-font-family,monospace);font-size:12px;';
  const title = document.createElement('div');
  title.textContent = text;
  title.style.fontWeight = 'bold';
  box.appendChild(title);
  if (traceback) {
    const pre = document.createElement('pre');
    pre.textContent = traceback;
    pre.style.cssText = 'white-space:pre-wrap;margin:4px 0 0 0;';
    box.appendChild(pre);
  }
  const close = document.createElement('button');
  close.textContent = 'Dismiss';
  close.onclick = () => box.remove();
  box.appendChild(close);
  return box;
}

/** The line above an output that is not connected to a kernel session, saying why and
 * what to do. */
export function statusBadge(text: string): HTMLElement {
  const badge = document.createElement('div');
  badge.className = 'bokeh-nb-badge';
  badge.setAttribute('role', 'status');
  badge.textContent = text;
  badge.style.cssText =
    'display:inline-block;margin:0 0 4px 0;padding:1px 6px;border-radius:3px;' +
    'font-size:var(--jp-ui-font-size0,11px);color:var(--jp-ui-font-color2,#616161);' +
    'background:var(--jp-layout-color2,#eee);';
  return badge;
}
