// The share links API of the server extension (bokeh_nb/server/shares.py), called as the
// page's user, and the renderer of a share link's output (bokeh_nb/kernel/share.py).
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ServerConnection } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { LIVE_APP_ROUTE, SHARE_MIME, SHARES_API } from './protocol';

export interface IShare {
  id: string;
  kernel_id: string;
  app: string;
  mode: string;
  expires_at: number;
  path: string;
  /** The absolute URL of the link (added here from ``path``). */
  url: string;
}

/** The full-page URL of a live app of a kernel (what ``App.url`` is in the kernel). */
export function appUrl(kernelId: string, appName: string): string {
  const route = LIVE_APP_ROUTE.replace('{kernel_id}', encodeURIComponent(kernelId)).replace(
    '{name}',
    encodeURIComponent(appName)
  );
  return URLExt.join(PageConfig.getBaseUrl(), route);
}

/** Call the share links API; the parsed JSON body, or throw with the server's message. */
export async function sharesApi(method: string, path: string, body?: JSONObject): Promise<any> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, SHARES_API, path);
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
  }
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    throw new Error(data.message || `${response.status} ${response.statusText}`);
  }
  return data;
}

/** Make a share link to a live app of a kernel. */
export async function createShare(
  kernelId: string,
  app: string,
  mode: string,
  expires: number
): Promise<IShare> {
  const share = await sharesApi('POST', '', { kernel_id: kernelId, app, mode, expires });
  share.url = new URL(share.path, PageConfig.getBaseUrl()).href;
  return share as IShare;
}

/** Revoke a share link: its visitors are refused and its open sessions close. */
export async function revokeShare(id: string): Promise<void> {
  await sharesApi('DELETE', encodeURIComponent(id));
}

/** A share link's output entry (SHARE_MIME). */
export interface IShareEntry {
  app: string;
  mode: string;
  state: string;
  text?: string;
  url?: string;
}

/** The entry a save keeps: no URL and no text with the URL in it, so no notebook file
 * carries a link (or its token) past the page that made it; `saved` is what the output's
 * `text/plain` says instead. */
export function savedShareEntry(entry: IShareEntry, saved: string): IShareEntry {
  return { app: entry.app, mode: entry.mode, state: 'saved', text: saved };
}

/** The output of `bokeh_nb.share(...)`: the link while this page has it, else what the
 * kernel says of it (a saved notebook keeps no link). */
export class ShareOutput extends Widget implements IRenderMime.IRenderer {
  private _shown: string | null = null; // the URL shown, if any

  constructor() {
    super();
    this.addClass('bokeh-nb-share');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const entry = model.data[SHARE_MIME] as unknown as IShareEntry;
    if (entry.state === 'saved' && this._shown !== null) {
      return; // this page's save took the URL out of the file: the page keeps showing it
    }
    const text = String(entry.text ?? model.data['text/plain'] ?? '');
    const url = typeof entry.url === 'string' ? entry.url : '';
    this.node.replaceChildren();
    this._shown = null;
    if (entry.state === 'ready' && model.trusted && /^https?:\/\//.test(url)) {
      const link = document.createElement('a');
      link.href = url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.textContent = url;
      const prefix = text.endsWith(url)
        ? text.slice(0, text.length - url.length)
        : `Share link (${entry.mode}) to app ${JSON.stringify(entry.app)}: `;
      this.node.append(prefix, link);
      this._shown = url;
      return;
    }
    this.node.textContent = entry.state === 'saved' ? String(model.data['text/plain'] ?? '') : text;
  }
}
