// Names shared with the kernel (bokeh_nb/protocol.py). Checked equal by
// tests/unit/test_protocol_names.py against tests/fixtures/protocol.json.

export const PROTOCOL_VERSION = '1';

export const WIDGET_MODULE = 'bokeh-nb';
export const WIDGET_MODULE_VERSION = '^0.1.0';
export const WIDGET_MODEL = 'BokehModel';
export const WIDGET_VIEW = 'BokehView';

export const STATIC_ROUTE = 'bokeh-nb/static/bokehjs';

export const CORE_BUNDLES = ['bokeh', 'bokeh-gl', 'bokeh-widgets', 'bokeh-tables'];
export const OPTIONAL_BUNDLES = ['bokeh-mathjax'];

export const OUTPUT_MIME = 'application/vnd.bokeh-nb.output+json';
export const SHARE_MIME = 'application/vnd.bokeh-nb.share+json';
export const CONTAINER_MIME = 'application/vnd.bokeh-nb.container+json';
export const SNAPSHOT_SCRIPT_TYPE = 'application/vnd.bokeh-nb.snapshot+json';
// prettier-ignore
export const SNAPSHOT_FALLBACK = 'Interactive Bokeh output (bokeh_nb). It renders in JupyterLab or Notebook 7 with bokeh_nb installed, and in this notebook exported with jupyter nbconvert --to html once it has been saved from there.';
export const SNAPSHOT_FORMAT = '1';
export const SNAPSHOT_MAX_BYTES = 25165824;

// jupyter_server closes a websocket receiving more than 10 MiB (its default
// websocket_max_message_size); 64 KiB stay for the Jupyter envelope.
export const MAX_BROWSER_MESSAGE_BYTES = 10420224;

export const FRONTEND_TARGET = 'bokeh_nb.frontend';

export const SESSION_TARGET = 'bokeh_nb.session';
export const APPS_TARGET = 'bokeh_nb.apps';
export const LIVE_APP_ROUTE = 'bokeh-nb/kernels/{kernel_id}/apps/{name}';
export const FILES_ROUTE = 'bokeh-nb/files/{path}';
export const SHARES_API = 'bokeh-nb/api/shares';
/** Lifetime of a share link made without one, in seconds. */
export const SHARE_SECONDS = 3600;
export const SHARE_ROUTE = 'bokeh-nb/s/{token}';

export const KIND_BOKEH = 'bokeh';
export const KIND_VIEWS = 'views';
export const KIND_BYE = 'bye';
export const KIND_ERROR = 'error';
export const KIND_ACK = 'ack';
export const KIND_STREAM = 'stream';
export const ACK_EVERY = 8;
export const ACK_AFTER_MS = 16;
export const ACK_GAP_MS = 20;
export const ACK_WINDOW = 32;
export const ACK_WINDOW_BYTES = 49152;
export const PAGE_HANDLED = 'bokeh_nb:handled:';
export const ACKNOWLEDGE_KEY = 'bokeh_nb_acknowledge';
export const PACKED_ARG = 'bokeh-nb-packed';

export const BROWSER_MSGTYPES = ['PULL-DOC-REQ', 'PATCH-DOC'];
export const KERNEL_MSGTYPES = ['PULL-DOC-REPLY', 'PATCH-DOC', 'OK', 'ERROR'];

export interface IBokehHeader {
  msgid: string;
  msgtype: string;
  reqid?: string;
  num_buffers?: number;
}

/** One Bokeh protocol message as one comm message (plus its binary buffers). */
export interface IBokehFrame {
  kind: 'bokeh';
  client?: string;
  /** kernel -> browser, notebook outputs only: the frame's number, acknowledged */
  seq?: number;
  /** kernel -> browser: acknowledge this frame as soon as it is handled */
  acknowledge?: boolean;
  /** browser -> kernel: the last kernel frame handled (an acknowledgement riding along) */
  ack?: number;
  header: IBokehHeader;
  metadata: Record<string, unknown>;
  content: string;
  buffers: string[];
}

export interface IViewsFrame {
  kind: 'views';
  client: string;
  count: number;
}

export interface IByeFrame {
  kind: 'bye';
  client: string;
}

export interface IAckFrame {
  kind: 'ack';
  client: string;
  seq: number;
}

export interface IErrorFrame {
  kind: 'error';
  text: string;
  traceback: string;
}

/** kernel -> browser: text the output's callbacks wrote to stdout or stderr. */
export interface IStreamFrame {
  kind: 'stream';
  name: string;
  text: string;
  /** the browser client whose event ran the callback (absent: every page shows it) */
  client?: string;
}

export type KernelFrame = IBokehFrame | IErrorFrame | IStreamFrame;

export function bokehjsUrlPath(version: string, bundle: string): string {
  return `${STATIC_ROUTE}/${version}/${bundle}.min.js`;
}

export const KIND_BOKEHJS = 'bokehjs';
export const SERVER_BOKEH_OPTION = 'bokehNbBokehVersion';
export const BOKEH_MIN = '3.9';
export const BOKEH_BELOW = '3.11';

/** browser -> kernel: BokehJS bundles this page needs and its server does not serve. */
export interface IBokehJSRequest {
  kind: 'bokehjs';
  client: string;
  request: string;
  version: string;
  bundles: string[];
}

/** kernel -> browser: those bundles, each one binary buffer in this order. */
export interface IBokehJSReply {
  kind: 'bokehjs';
  request: string;
  version?: string;
  bundles?: { name: string; sha256: string; bytes: number }[];
  error?: string;
}

/** Keys of a PULL-DOC-REPLY's content beside `doc` (kernel/extensions.py): the custom
 * model code to run before building the document, or why it could not be built. */
export const EXTENSIONS_KEY = 'bokeh_nb_extensions';
export const EXTENSIONS_ERROR_KEY = 'bokeh_nb_extensions_error';

/** One bundle of custom model code, as a PULL-DOC-REPLY carries it. */
export interface IExtensionPart {
  name: string;
  sha256: string;
  code: string;
}
