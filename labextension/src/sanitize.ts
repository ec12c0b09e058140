// The page side of showing an untrusted snapshot (untrusted.ts decides what is shown):
// the HTML cleaner built on JupyterLab's sanitizer, and the trust action in place.

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { Widget } from '@lumino/widgets';

import { CSS_COVERS, CSS_LOADS, HtmlCleaner } from './untrusted';

/** Elements that run, load or restyle something, whatever their attributes. */
const DROPPED =
  'script,style,link,meta,base,iframe,frame,frameset,object,embed,applet,template,' +
  'noscript,svg,math,form,portal,audio,video,source,track,picture';
/** Attributes that make the browser request something (JupyterLab's sanitizer keeps
 * `img src`, for one). */
const LOADING = new Set([
  'src', 'srcset', 'href', 'xlink:href', 'poster', 'background', 'data', 'action',
  'formaction', 'lowsrc', 'dynsrc', 'longdesc', 'ping', 'codebase', 'archive', 'manifest',
  'srcdoc', 'imagesrcset', 'cite', 'usemap'
]); // prettier-ignore
const LINK = /^(https?:|mailto:)/i;

/** HTML with nothing that runs or loads: what is left after the sanitizer, parsed in an
 * inert document (no script runs and nothing loads there), without the elements and
 * attributes above, event handlers, and styles that load or cover the page. */
function strip(html: string): string {
  const doc = new DOMParser().parseFromString(`<!DOCTYPE html><body>${html}`, 'text/html');
  doc.body.querySelectorAll(DROPPED).forEach(el => el.remove());
  for (const el of Array.from(doc.body.querySelectorAll('*'))) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const link = name === 'href' && el.localName === 'a' && LINK.test(attr.value.trim());
      if (
        name.startsWith('on') ||
        (LOADING.has(name) && !link) ||
        (name === 'style' && (CSS_LOADS.test(attr.value) || CSS_COVERS.test(attr.value)))
      ) {
        el.removeAttribute(attr.name);
      }
    }
    if (el.localName === 'a' && el.hasAttribute('href')) {
      el.setAttribute('target', '_blank');
      el.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  }
  return doc.body.innerHTML;
}

function asText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The cleaner for an untrusted snapshot's HTML: JupyterLab's sanitizer (the one its
 * untrusted HTML outputs go through), then `strip`. HTML that would not parse back to
 * what was checked is shown as text. */
export function htmlCleaner(sanitizer: IRenderMime.ISanitizer): HtmlCleaner {
  return (html: string) => {
    const clean = strip(sanitizer.sanitize(html));
    return strip(clean) === clean ? clean : asText(html);
  };
}

/** JupyterLab's sanitizer with its default settings, for a host that gives none. */
export async function defaultSanitizer(): Promise<IRenderMime.ISanitizer> {
  const { Sanitizer } = await import('@jupyterlab/apputils');
  return new Sanitizer();
}

let trustCommand: (() => Promise<unknown>) | null = null;

/** The host's "Trust Notebook" command (`notebook:trust`), when it has one: the trust
 * button of an untrusted output runs it. */
export function useTrustCommand(execute: (() => Promise<unknown>) | null): void {
  trustCommand = execute;
}

interface INotebookLike {
  model: { cells: Iterable<{ trusted: boolean }> } | null;
}

/** The notebook widget an output is in, or null (not in one, or not placed yet). */
export function notebookOf(widget: Widget): INotebookLike | null {
  for (let w: Widget | null = widget; w !== null; w = w.parent) {
    if (w.hasClass('jp-Notebook')) {
      return w as unknown as INotebookLike;
    }
  }
  return null;
}

/** What trusts the notebook an output is in, as JupyterLab's "Trust Notebook" does
 * (ask, then mark every cell trusted, which renders its outputs again), or null where
 * the output is not in a notebook this page edits. */
export function trustAction(widget: Widget): (() => Promise<void>) | null {
  const notebook = notebookOf(widget);
  if (notebook === null) {
    return null;
  }
  const command = trustCommand;
  if (command !== null) {
    return async () => void (await command());
  }
  return async () => {
    const { Dialog, showDialog } = await import('@jupyterlab/apputils');
    const result = await showDialog({
      title: 'Trust this notebook?',
      body:
        'A trusted notebook runs the JavaScript its outputs carry. Trust it only if ' +
        'you trust where it comes from.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Trust' })]
    });
    if (result.button.accept && notebook.model !== null) {
      for (const cell of notebook.model.cells) {
        cell.trusted = true;
      }
    }
  };
}
