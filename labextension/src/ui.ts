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

/** At most this many characters of printed text stay in one output; older text goes. */
export const MAX_STREAM_CHARS = 100000;

/** What an output's callbacks printed, under the document, looking like a cell's own
 * stdout / stderr (JupyterLab's and Notebook 7's classes); consecutive text of one stream
 * shares a block; only the last MAX_STREAM_CHARS characters are kept. */
export class StreamOutput {
  readonly node: HTMLElement;
  private _size = 0;
  private _dropped = false;

  constructor() {
    this.node = document.createElement('div');
    this.node.className = 'bokeh-nb-streams';
    this.node.hidden = true;
  }

  append(name: 'stdout' | 'stderr', text: string): void {
    const last = this.node.lastElementChild as HTMLElement | null;
    let pre: HTMLElement;
    if (last !== null && last.dataset.stream === name) {
      pre = last.firstElementChild as HTMLElement;
    } else {
      const block = document.createElement('div');
      block.className = 'jp-RenderedText bokeh-nb-stream';
      block.dataset.stream = name;
      block.setAttribute('data-mime-type', `application/vnd.jupyter.${name}`);
      pre = document.createElement('pre');
      block.appendChild(pre);
      this.node.appendChild(block);
    }
    pre.textContent = (pre.textContent ?? '') + text;
    this._size += text.length;
    this.node.hidden = false;
    this._trim();
  }

  /** Everything shown, as one text (tests read this). */
  get text(): string {
    return Array.from(this.node.querySelectorAll('.bokeh-nb-stream pre'))
      .map(pre => pre.textContent ?? '')
      .join('');
  }

  private _trim(): void {
    while (this._size > MAX_STREAM_CHARS) {
      const first = this.node.querySelector('.bokeh-nb-stream') as HTMLElement | null;
      const pre = first?.firstElementChild as HTMLElement | null | undefined;
      if (!first || !pre) {
        return;
      }
      const text = pre.textContent ?? '';
      const excess = this._size - MAX_STREAM_CHARS;
      if (text.length <= excess) {
        first.remove();
        this._size -= text.length;
      } else {
        pre.textContent = text.slice(excess);
        this._size -= excess;
      }
      this._dropped = true;
    }
    if (this._dropped && this.node.querySelector(':scope > .bokeh-nb-dropped') === null) {
      const note = statusBadge("Earlier text printed by this output's callbacks was dropped.");
      note.classList.add('bokeh-nb-dropped');
      this.node.prepend(note);
    }
  }
}
