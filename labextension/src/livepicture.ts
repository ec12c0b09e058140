// The pictures a save draws (png.ts) of the live outputs of this page (registry.ts).

import type { IBokehJS } from './bokehjs';
import { documentPicture, Picture } from './png';
import { liveModel } from './registry';

/** The picture of a live output's document as this page shows it (png.ts's PictureSource). */
export function livePicture(modelId: string, bk: IBokehJS): Picture | null {
  const doc = liveModel(modelId)?.document;
  return doc ? documentPicture(bk, doc) : null;
}
