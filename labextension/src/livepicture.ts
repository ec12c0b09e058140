// The pictures a save draws (png.ts) of the live outputs of this page (registry.ts).

import type { IBokehJS } from './bokehjs';
import { documentPicture, Picture } from './png';
import { liveModel } from './registry';

/** The picture of live outputs' documents as this page shows them, stacked in order
 * (png.ts's PictureSource). */
export function livePicture(modelIds: string[], bk: IBokehJS): Picture | null {
  const docs = modelIds.flatMap(id => {
    const doc = liveModel(id)?.document;
    return doc ? [doc] : [];
  });
  return docs.length > 0 ? documentPicture(bk, docs) : null;
}
