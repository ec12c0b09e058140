// A page's requests for BokehJS bundles to an output's kernel (bokeh_nb/kernel/bokehjs.py),
// over the output's comm: the Jupyter server does not serve the kernel's bokeh version.

import type { JSONObject } from '@lumino/coreutils';

import type { KernelDelivery } from './bokehjs';
import { IBokehJSReply, IBokehJSRequest, KIND_BOKEHJS } from './protocol';
import { uniqueId } from './wire';

type Bundles = Awaited<ReturnType<KernelDelivery>>;

interface IPending {
  resolve(bundles: Bundles): void;
  reject(err: Error): void;
}

/** How long a page waits for the kernel's BokehJS (a few MB over the kernel's websocket). */
const TIMEOUT_MS = 120_000;

export function isBokehJSReply(frame: { kind: string }): frame is IBokehJSReply {
  return frame.kind === KIND_BOKEHJS;
}

export class BokehJSRequests {
  private _pending = new Map<string, IPending>();

  /** ``model`` is the output's: its comm carries the requests and their answers. */
  constructor(
    private readonly _model: {
      readonly client: string;
      readonly comm_live: boolean;
      send(msg: JSONObject, callbacks: object): void;
    }
  ) {}

  /** Ask the kernel for bundles at version (a KernelDelivery). */
  request(version: string, bundles: string[]): Promise<Bundles> {
    const request = uniqueId('j');
    return new Promise<Bundles>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(request);
        reject(
          new Error(
            `no answer within ${TIMEOUT_MS / 1000} s: is the same bokeh_nb version installed ` +
              "in the kernel's environment?"
          )
        );
      }, TIMEOUT_MS);
      this._pending.set(request, {
        resolve: value => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: err => {
          clearTimeout(timer);
          reject(err);
        }
      });
      const model = this._model;
      const msg: IBokehJSRequest = { kind: KIND_BOKEHJS, client: model.client, request, version, bundles };
      if (model.comm_live) {
        model.send(msg as unknown as JSONObject, {});
      } else {
        this._pending.get(request)?.reject(new Error('the kernel is not connected'));
        this._pending.delete(request);
      }
    });
  }

  /** The kernel's answer to a request of this page (other pages' answers are ignored). */
  answered(reply: IBokehJSReply, buffers: DataView[]): void {
    const pending = this._pending.get(reply.request);
    if (pending === undefined) {
      return;
    }
    this._pending.delete(reply.request);
    if (reply.error !== undefined || reply.bundles === undefined) {
      pending.reject(new Error(reply.error ?? 'the kernel sent no bundles'));
      return;
    }
    if (reply.bundles.length !== buffers.length) {
      pending.reject(new Error(`${reply.bundles.length} bundles in ${buffers.length} buffers`));
      return;
    }
    const decoder = new TextDecoder();
    const bundles: Bundles = new Map();
    reply.bundles.forEach((bundle, i) =>
      bundles.set(bundle.name, { text: decoder.decode(buffers[i]), sha256: bundle.sha256 })
    );
    pending.resolve(bundles);
  }

  /** The output closed: no answer will come. */
  close(): void {
    for (const pending of this._pending.values()) {
      pending.reject(new Error('the output was closed'));
    }
    this._pending.clear();
  }
}
