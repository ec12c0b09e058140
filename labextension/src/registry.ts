// The live output models of this page, by ipywidgets model id, so an output's renderer
// (output.ts) can show a model's live view and the save hook (snapshot.ts) can read its
// current document. Also the last state of each model that ended in this page (kernel
// restarted or stopped), so its output shows that state and keeps it at the next save.

import type { IBkDocument } from './bokehjs';
import { snapshotText } from './snapshot';

/** The parts of a BokehModel (widget.ts) used outside the widget chunk. */
export interface ILiveModel {
  readonly model_id: string;
  readonly document: IBkDocument | null;
  readonly comm_live: boolean;
  readonly widget_manager: { create_view(model: unknown): Promise<ILiveView> };
  on(event: string, callback: () => void, context?: unknown): void;
  off(event: string, callback: () => void, context?: unknown): void;
}

export interface ILiveView {
  readonly luminoWidget: import('@lumino/widgets').Widget;
}

const live = new Map<string, ILiveModel>();
const ended = new Map<string, string>();
const waiting = new Map<string, Set<(model: ILiveModel) => void>>();

export function liveModel(modelId: string): ILiveModel | undefined {
  return live.get(modelId);
}

/** The last state of a model that ended in this page, as snapshot text. */
export function endedSnapshot(modelId: string): string | undefined {
  return ended.get(modelId);
}

/** A model is live in this page. */
export function modelAdded(model: ILiveModel): void {
  live.set(model.model_id, model);
  ended.delete(model.model_id);
  for (const callback of waiting.get(model.model_id) ?? []) {
    callback(model);
  }
  waiting.delete(model.model_id);
}

/** A model lost its kernel session (restart, shutdown, closed): keep its last state. */
export function modelEnded(model: ILiveModel): void {
  if (model.document !== null) {
    ended.set(model.model_id, snapshotText(model.document));
  }
  live.delete(model.model_id);
}

/** Call back once when the model appears in this page; returns a function that stops
 * waiting. */
export function whenLive(modelId: string, callback: (model: ILiveModel) => void): () => void {
  let callbacks = waiting.get(modelId);
  if (callbacks === undefined) {
    callbacks = new Set();
    waiting.set(modelId, callbacks);
  }
  callbacks.add(callback);
  return () => {
    callbacks!.delete(callback);
    if (callbacks!.size === 0 && waiting.get(modelId) === callbacks) {
      waiting.delete(modelId);
    }
  };
}

/** The snapshot of an output's model as this page has it now, or null. */
export function currentSnapshot(modelId: string): string | null {
  const model = live.get(modelId);
  if (model?.document) {
    return snapshotText(model.document);
  }
  return ended.get(modelId) ?? null;
}

/** Forget the ended models no output refers to any more. */
export function forgetEndedExcept(modelIds: Set<string>): void {
  for (const id of [...ended.keys()]) {
    if (!modelIds.has(id)) {
      ended.delete(id);
    }
  }
}
