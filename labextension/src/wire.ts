// One Bokeh protocol message <-> one comm message: JSON text in the frame, every array
// payload as its own binary buffer (never base64, never fragments). See docs/protocol.md.

import type { IBokehJS } from './bokehjs';
import { IBokehFrame, IBokehHeader, IStreamFrame, KIND_BOKEH, KIND_STREAM } from './protocol';

let counter = 0;

export function uniqueId(prefix = 'js'): string {
  counter += 1;
  return `${prefix}${counter.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

export interface IOutgoing {
  frame: IBokehFrame;
  buffers: ArrayBuffer[];
}

export interface IIncoming {
  header: IBokehHeader;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Map<string, ArrayBuffer>;
}

/** Encode a Bokeh message; BokehJS Buffer objects in content become binary buffers. */
export function encodeMessage(
  bk: IBokehJS,
  client: string,
  msgtype: string,
  content: unknown,
  metadata: Record<string, unknown> = {}
): IOutgoing {
  const buffers: ArrayBuffer[] = [];
  const ids: string[] = [];
  const json = JSON.stringify(content, (_key, value: unknown) => {
    if (value instanceof bk.Buffer) {
      const id = String(ids.length);
      ids.push(id);
      buffers.push(value.buffer);
      return { id };
    }
    return value;
  });
  const header: IBokehHeader = { msgid: uniqueId(), msgtype };
  if (buffers.length > 0) {
    header.num_buffers = buffers.length;
  }
  return {
    frame: { kind: KIND_BOKEH, client, header, metadata, content: json, buffers: ids },
    buffers
  };
}

function toArrayBuffer(view: DataView | ArrayBuffer): ArrayBuffer {
  if (view instanceof ArrayBuffer) {
    return view;
  }
  const { buffer, byteOffset, byteLength } = view;
  if (byteOffset === 0 && byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) {
    return buffer;
  }
  return buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer;
}

/** Decode a kernel frame; throws on a frame that does not match its buffers. */
export function decodeFrame(frame: IBokehFrame, raw: (DataView | ArrayBuffer)[]): IIncoming {
  const ids = frame.buffers ?? [];
  if (ids.length !== raw.length) {
    throw new Error(`frame announces ${ids.length} buffers, ${raw.length} arrived`);
  }
  const buffers = new Map<string, ArrayBuffer>();
  ids.forEach((id, i) => buffers.set(id, toArrayBuffer(raw[i])));
  return {
    header: frame.header,
    metadata: frame.metadata ?? {},
    content: JSON.parse(frame.content) as Record<string, unknown>,
    buffers
  };
}

/** What a kernel stream frame (KIND_STREAM) says, or null for any other frame. */
export interface IStreamText {
  name: 'stdout' | 'stderr';
  text: string;
  /** the page client whose event ran the callbacks; null: every page shows it */
  client: string | null;
}

export function readStreamFrame(frame: unknown): IStreamText | null {
  if (typeof frame !== 'object' || frame === null) {
    return null;
  }
  const f = frame as Partial<IStreamFrame>;
  if (f.kind !== KIND_STREAM || typeof f.text !== 'string') {
    return null;
  }
  return {
    name: f.name === 'stderr' ? 'stderr' : 'stdout',
    text: f.text,
    client: typeof f.client === 'string' ? f.client : null
  };
}
