// Answers on the kernel's FRONTEND_TARGET (see bokeh_nb/kernel/frontend.py): "this page
// renders bokeh_nb outputs", and the kernel's requests for share links. Every host that
// renders bokeh_nb outputs answers (JupyterLab, Notebook 7, Voilà), once per kernel.

import { PageConfig } from '@jupyterlab/coreutils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';

import { bokehKernels } from './panel';
import { FRONTEND_TARGET } from './protocol';
import { createShare, revokeShare } from './shares';
import { version as PACKAGE_VERSION } from '../package.json';

/** Make or revoke a share link the kernel asked for (see kernel/share.py). */
async function answerShareRequest(data: JSONObject): Promise<JSONObject> {
  try {
    if (data.request === 'share') {
      const share = await createShare(
        data.kernel_id as string,
        data.app as string,
        data.mode as string,
        data.expires as number
      );
      return { share: share as unknown as JSONObject };
    }
    await revokeShare(String(data.id));
    return { revoked: true };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The kernels this page answers already (a kernel keeps one handler per target). */
const answered = new WeakSet<Kernel.IKernelConnection>();

/** Tell the kernel that this frontend renders bokeh_nb outputs, and answer its requests
 * for share links: only the page whose client ran the code answers those, so two open
 * pages of one notebook never make two links. ``path`` is the notebook's, where the page
 * knows it (the side panel lists the kernel's apps under it). */
export function answerProbes(
  kernel: Kernel.IKernelConnection | null | undefined,
  path?: string
): void {
  if (!kernel || answered.has(kernel)) {
    return;
  }
  answered.add(kernel);
  kernel.registerCommTarget(FRONTEND_TARGET, (comm, msg: KernelMessage.ICommOpenMsg) => {
    const data = msg.content.data as JSONObject;
    if (data.request === 'share' || data.request === 'revoke') {
      const parent = msg.parent_header as { session?: string };
      if (parent.session !== kernel.clientId) {
        comm.dispose(); // forget it here without closing it in the kernel
        return;
      }
      void answerShareRequest(data).then(answer => {
        comm.send(answer);
        comm.close();
      });
      return;
    }
    if (path !== undefined) {
      bokehKernels.set(kernel.id, { kernel, path });
    }
    comm.send({ version: PACKAGE_VERSION, base_url: PageConfig.getBaseUrl() });
    comm.close();
  });
}
