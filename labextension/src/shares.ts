// The share links API of the server extension (bokeh_nb/server/shares.py), called as the
// page's user.
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';

import { LIVE_APP_ROUTE, SHARES_API } from './protocol';

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
