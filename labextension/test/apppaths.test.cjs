// Which paths "Open as Bokeh app" offers (src/apppaths.ts): the rule of bokeh_nb/apps.py.
// Run by `npm test` (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { APP_SUFFIXES, isAppPath, suffixOf } = require('../build/test-lib/apppaths.js');

test('scripts and notebooks are apps, by their suffix', () => {
  assert.deepEqual(APP_SUFFIXES, ['.py', '.ipynb']);
  for (const path of ['app.py', 'dir/sub/app.py', 'report.ipynb', 'a.b.ipynb', '.hidden/x.py']) {
    assert.equal(isAppPath(path, false), true, path);
  }
});

test('other files are not, nor names that only end like one', () => {
  for (const path of ['data.csv', 'app.pyc', 'app.py.bak', 'notes.ipynb~', 'app', 'APP.PY', '.py', 'dir/.ipynb', 'app.']) {
    assert.equal(isAppPath(path, false), false, path);
  }
});

test('a directory may be an app (the server checks for main.py or main.ipynb)', () => {
  assert.equal(isAppPath('dashboards/sales', true), true);
  assert.equal(isAppPath('data.csv', true), true);
});

test("a suffix as Python's Path.suffix gives it", () => {
  const cases = {
    'a.py': '.py', 'a.tar.gz': '.gz', 'dir.d/file': '', '.bashrc': '', 'a.': '', 'x/a.py/': '.py',
    '': '', 'a..py': '.py'
  }; // prettier-ignore
  for (const [path, suffix] of Object.entries(cases)) {
    assert.equal(suffixOf(path), suffix, path);
  }
});
