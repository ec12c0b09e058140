// What a standalone app page says when it cannot show its app (src/page/problems.ts; the
// page is bokeh_nb/server/page.py): which case, in which words, and never a share link's
// token. Run by `npm test` (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const {
  bokehjsMissing,
  clearedByReconnect,
  connectionLost,
  offersReload,
  sessionFailed,
  shown,
  websocketUrl
} = require('../build/test-lib/page/problems.js');

const problems = {
  app: 'This app could not be opened.',
  bokehjs: 'BokehJS could not be loaded from',
  websocket: 'This page could not open its WebSocket connection to',
  proxy: 'If Jupyter is behind a reverse proxy, see deploying.md.',
  lost: 'The connection to this app was lost.'
};

const item = (app_path, bokehjs = '/bokeh-nb/static/bokehjs/3.9.2/bokeh.min.js') => ({
  version: '3.9.2',
  app_path,
  bokehjs,
  problems,
  render_item: { token: 't', elementid: 'bokeh-nb-root', use_for_title: true }
});

const LIVE = '/jupyter/bokeh-nb/kernels/k1/apps/sliders';
const SHARE = '/bokeh-nb/s/abc123.SIGNATURE';

test('a share link path is shown without its token, other paths as they are', () => {
  assert.equal(
    shown(`http://h:8888${SHARE}/ws`),
    'http://h:8888/bokeh-nb/s/[link]/ws'
  );
  assert.equal(shown(`ws://h${SHARE}?x=1`), 'ws://h/bokeh-nb/s/[link]?x=1');
  assert.equal(shown(`ws://h${SHARE}#f`), 'ws://h/bokeh-nb/s/[link]#f');
  assert.equal(shown(`http://h${LIVE}`), `http://h${LIVE}`);
  assert.equal(shown('http://h/bokeh-nb/static/x'), 'http://h/bokeh-nb/static/x');
});

test("the app's websocket is the page's host with ws: or wss:", () => {
  assert.equal(websocketUrl(LIVE, `http://h:8888${LIVE}?who=ann`), `ws://h:8888${LIVE}/ws`);
  assert.equal(websocketUrl(LIVE, `https://example.org${LIVE}`), `wss://example.org${LIVE}/ws`);
});

test('BokehJS missing: its URL as the page reached it, then the proxy advice', () => {
  const problem = bokehjsMissing(item(LIVE), `http://h:8080/apps/bokeh-nb/kernels/k1/apps/sliders`);
  assert.equal(problem.kind, 'bokehjs');
  assert.equal(
    problem.text,
    `${problems.bokehjs} http://h:8080/bokeh-nb/static/bokehjs/3.9.2/bokeh.min.js. ${problems.proxy}`
  );
});

test("BokehJS missing on a share link's page: the token is not in the message", () => {
  const shared = item(SHARE, `${SHARE}/static/3.9.2/bokeh.min.js`);
  const { text } = bokehjsMissing(shared, `https://h${SHARE}`);
  assert.ok(!text.includes('abc123'), text);
  assert.ok(text.includes('https://h/bokeh-nb/s/[link]/static/3.9.2/bokeh.min.js.'), text);
});

test('a websocket that never opened: the way there failed, with its URL', () => {
  const problem = sessionFailed(item(LIVE), `https://h${LIVE}`, false);
  assert.equal(problem.kind, 'websocket');
  assert.equal(problem.text, `${problems.websocket} wss://h${LIVE}/ws. ${problems.proxy}`);
  const shared = sessionFailed(item(SHARE), `http://h${SHARE}`, false);
  assert.equal(shared.text, `${problems.websocket} ws://h/bokeh-nb/s/[link]/ws. ${problems.proxy}`);
});

test('a websocket that opened, then no session: the app is the problem', () => {
  assert.deepEqual(sessionFailed(item(SHARE), `http://h${SHARE}`, true), {
    kind: 'app',
    text: problems.app
  });
});

// page.py's FILE_PROBLEMS: an app file's page says what the server closed its websocket with
const fileProblems = {
  ...problems,
  app: 'This app file could not be opened:',
  no_reason: 'the server could not start it; its log says why.'
};
const FILE = '/bokeh-nb/files/apps/broken.py';
const fileItem = { ...item(FILE), problems: fileProblems };

test("an app file's page: the reason the server gave, after its own words", () => {
  const reason = "the app file 'apps/broken.py' raised ValueError: boom";
  assert.deepEqual(sessionFailed(fileItem, `http://h${FILE}`, true, reason), {
    kind: 'app',
    text: `This app file could not be opened: ${reason}`
  });
  assert.deepEqual(sessionFailed(fileItem, `http://h${FILE}`, true, '  '), {
    kind: 'app',
    text: 'This app file could not be opened: the server could not start it; its log says why.'
  });
  assert.equal(
    sessionFailed(fileItem, `http://h${FILE}`, true).text,
    `${fileProblems.app} ${fileProblems.no_reason}`
  );
  // a reason never shows a share link's token, and a websocket that never opened is the
  // way there, whatever the reason
  const leaky = sessionFailed(fileItem, `http://h${FILE}`, true, `see ${SHARE}/ws`);
  assert.equal(leaky.text, `${fileProblems.app} see /bokeh-nb/s/[link]/ws`);
  assert.equal(sessionFailed(fileItem, `http://h${FILE}`, false, 'x').kind, 'websocket');
});

test('live-app pages and share links keep their own words, whatever the reason', () => {
  for (const path of [LIVE, SHARE]) {
    assert.deepEqual(sessionFailed(item(path), `http://h${path}`, true, 'the app failed'), {
      kind: 'app',
      text: problems.app
    });
  }
});

test('a lost connection offers a reload, and a reconnection takes it away', () => {
  assert.deepEqual(connectionLost(item(LIVE)), { kind: 'lost', text: problems.lost });
  assert.equal(offersReload('lost'), true);
  assert.equal(clearedByReconnect('lost'), true);
  for (const kind of ['app', 'bokehjs', 'websocket']) {
    assert.equal(offersReload(kind), false, kind);
    assert.equal(clearedByReconnect(kind), false, kind);
  }
  assert.equal(clearedByReconnect(undefined), false);
});
