// What an untrusted notebook shows of a snapshot (src/untrusted.ts), on documents as
// BokehJS's Document.to_json() writes them and on documents crafted to slip past.
// Run by `npm test` (tests/unit/test_frontend_logic.py).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { untrustedDocument } = require('../build/test-lib/untrusted.js');
const { allowedModels, printable, WITHHELD, withheldReason } = require('../build/test-lib/allowlist.js');

/** A cleaner that marks what it was given, so a test sees which texts went through it. */
const clean = html => `[clean]${html.replace(/<script>.*?<\/script>/g, '')}`;

const obj = (name, id, attributes) => ({ type: 'object', name, id, attributes });

/** Every model definition and plain reference in a rebuilt document. */
function walk(value, seen = { names: [], refs: [], strings: [] }) {
  if (Array.isArray(value)) {
    value.forEach(v => walk(v, seen));
  } else if (typeof value === 'string') {
    seen.strings.push(value);
  } else if (value !== null && typeof value === 'object') {
    if (value.type === 'object') {
      seen.names.push(value.name);
    } else if (typeof value.id === 'string' && value.type === undefined) {
      seen.refs.push(value.id);
    }
    Object.values(value).forEach(v => walk(v, seen));
  }
  return seen;
}

/** The document of the issue: a plot, a Div with markup that would run and load, and a
 * slider whose CustomJS callback holds the Div's only definition. */
function mustShow() {
  const div = obj('Div', 'p9', {
    text: '<b>bold</b><img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>'
  });
  const js = obj('CustomJS', 'p10', {
    args: { type: 'map', entries: [['d', div]] },
    code: 'd.text = "moved"'
  });
  const slider = obj('Slider', 'p8', {
    js_property_callbacks: { type: 'map', entries: [['change:value', [js]]] },
    start: 0,
    end: 10,
    value: 1
  });
  const source = obj('ColumnDataSource', 'p20', {
    data: { type: 'map', entries: [['x', ['<b>data</b>']], ['y', [1]]] }
  });
  const plot = obj('Figure', 'p11', {
    x_range: obj('DataRange1d', 'p12'),
    renderers: [
      obj('GlyphRenderer', 'p21', {
        data_source: source,
        glyph: obj('Scatter', 'p22', { x: { type: 'field', field: 'x' } })
      })
    ],
    toolbar: obj('Toolbar', 'p19', {
      tools: [obj('PanTool', 'p30'), obj('HoverTool', 'p31', { tooltips: '<b>@x{safe}</b>' })]
    })
  });
  return {
    version: '3.9.2',
    title: 'Bokeh Application',
    config: obj('DocumentConfig', 'p6', { notifications: obj('Notifications', 'p7') }),
    roots: [obj('Column', 'p55', { children: [slider, { id: 'p9' }, plot] })]
  };
}

test('a plot, a Div and a CustomJS: the callback is withheld, the rest is shown', () => {
  const { doc, withheld, cleaned } = untrustedDocument(mustShow(), clean);
  assert.deepEqual(withheld, ['CustomJS']);
  const seen = walk(doc);
  assert.ok(!seen.names.includes('CustomJS'));
  for (const name of ['Column', 'Slider', 'Div', 'Figure', 'HoverTool', 'DocumentConfig']) {
    assert.ok(seen.names.includes(name), name);
  }
  const column = doc.roots[0];
  const [slider, div] = column.attributes.children;
  assert.deepEqual(slider.attributes.js_property_callbacks, {
    type: 'map',
    entries: [['change:value', []]]
  });
  // the Div's only definition was inside the CustomJS: it moves to its first reference
  assert.equal(div.name, 'Div');
  assert.equal(div.id, 'p9');
  assert.equal(div.attributes.text, '[clean]<b>bold</b><img src=x onerror=window.__pwned=1>');
  assert.equal(div.attributes.disable_math, true);
  assert.equal(cleaned, 2); // the Div's text and the hover template
});

test('data is left as it is; a hover template loses {safe}', () => {
  const { doc } = untrustedDocument(mustShow(), clean);
  const plot = doc.roots[0].attributes.children[2];
  const renderer = plot.attributes.renderers[0];
  assert.deepEqual(renderer.attributes.data_source.attributes.data.entries[0], [
    'x',
    ['<b>data</b>']
  ]);
  const hover = plot.attributes.toolbar.attributes.tools[1];
  assert.equal(hover.attributes.tooltips, '[clean]<b>@x</b>');
});

test('a model that loads a third-party script is withheld with its references', () => {
  const gmap = obj('GMapPlot', 'g1', {
    map_options: obj('GMapOptions', 'g2', { lat: 1, lng: 2 }),
    api_key: { type: 'bytes', data: 'a2V5' }
  });
  const json = {
    roots: [obj('Column', 'c1', { children: [gmap, obj('Div', 'd1', { text: 'hi' })] }), { id: 'g1' }]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(withheld, ['GMapPlot']);
  assert.equal(doc.roots.length, 1);
  assert.deepEqual(walk(doc).names, ['Column', 'Div']);
  assert.match(withheldReason('GMapPlot'), /Google/);
});

test('tile sources, URL images, remote data and imported style sheets are withheld', () => {
  const names = [
    'TileRenderer', 'WMTSTileSource', 'ImageURL', 'ImageURLTexture', 'AjaxDataSource',
    'ServerSentDataSource', 'ImportedStyleSheet', 'GlobalImportedStyleSheet', 'TeX',
    'HTMLTemplateFormatter', 'CustomJSHover', 'OpenURL', 'bokeh.models.dom.HTML'
  ]; // prettier-ignore
  const json = { roots: [obj('Row', 'r', { children: names.map((n, i) => obj(n, `m${i}`)) })] };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(withheld, [...names].sort());
  assert.deepEqual(doc.roots[0].attributes.children, []);
});

test('names not exactly on the list are withheld: homoglyphs, zero-width, case', () => {
  const names = ['D\u0456v', 'Div\u200b', 'div', ' Div', 'Div ', 'constructor', '__proto__'];
  const json = { roots: names.map((n, i) => obj(n, `x${i}`, { text: '<b>x</b>' })) };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(doc.roots, []);
  assert.deepEqual(withheld, [
    'D\\u0456v', 'Div\\u0020', 'Div\\u200b', '\\u0020Div', '__proto__', 'constructor', 'div'
  ]); // prettier-ignore
});

test('a model name only in a map key, in a set or deep in plain values is found', () => {
  const js = n => obj('CustomJS', `j${n}`, { code: 'window.__pwned = 1' });
  const json = {
    roots: [
      obj('Div', 'd', {
        tags: [
          { type: 'map', entries: [[js(1), 'value'], ['key', 1]] },
          { type: 'set', entries: [js(2), 'kept'] },
          { deep: { deeper: [[{ nested: { roots: [js(3)] } }]] } },
          { type: 'ndarray', array: js(4), shape: [1], dtype: 'object', order: 'little' }
        ]
      })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(withheld, ['CustomJS']);
  assert.deepEqual(walk(doc).names, ['Div']);
  const tags = doc.roots[0].attributes.tags;
  assert.deepEqual(tags[0], { type: 'map', entries: [['key', 1]] });
  assert.deepEqual(tags[1], { type: 'set', entries: ['kept'] });
});

test('raw JSON tricks: spaces, escapes and duplicated keys check what BokehJS gets', () => {
  const text =
    '{"roots": [ { "type" : "object" , "name" : "Div" , "name" : "Cust\\u006fmJS", ' +
    '"id": "a", "attributes": {"code": "1"} }, ' +
    '{"type":"object","name":"CustomJS","name":"Div","id":"b","attributes":{"text":"<i>x</i>"}}]}';
  const { doc, withheld } = untrustedDocument(JSON.parse(text), clean);
  assert.deepEqual(withheld, ['CustomJS']);
  assert.deepEqual(doc.roots, [
    { type: 'object', name: 'Div', id: 'b', attributes: { text: '[clean]<i>x</i>', disable_math: true } }
  ]);
});

test('one id defined twice under two names is withheld everywhere', () => {
  const json = {
    roots: [
      obj('Column', 'c', {
        children: [obj('Div', 'same', { text: 'a' }), obj('CustomJS', 'same', {}), { id: 'same' }]
      })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(withheld, ['CustomJS']);
  assert.deepEqual(doc.roots[0].attributes.children, []);
});

test('model definitions are withheld, even under the name of an allowed model', () => {
  const json = {
    defs: [{ type: 'model', name: 'Plot', extends: { id: 'CustomJS' } }],
    roots: [
      obj('Plot', 'p', { title: { type: 'model', name: 'Slider' } }),
      obj('Div', 'd', { text: 'fine' })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.equal(doc.defs, undefined);
  assert.deepEqual(walk(doc).names, ['Div']);
  assert.deepEqual(withheld, ['Plot', 'model definitions (defs)']);
});

test('unknown value types and models without a name are withheld', () => {
  const json = {
    roots: [
      obj('Div', 'd', { text: { type: 'script', code: 'x' }, tags: [{ type: 'object', id: 'n' }] })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(doc.roots[0].attributes, { tags: [], disable_math: true });
  assert.deepEqual(withheld, ['a model without a name', 'a value of unknown type script']);
});

test('CSS that loads anything or covers the page is dropped; plain CSS stays', () => {
  const json = {
    roots: [
      obj('Div', 'd', {
        text: 'x',
        stylesheets: [
          '.a { color: red }',
          '.b { background: URL(http://x/y.png) }',
          '@import "http://x/z.css";',
          '.c { background: u\\72l(http://x) }',
          ':host { position : FIXED; top: 0 }',
          obj('InlineStyleSheet', 's1', { css: '.d { color: blue }' }),
          obj('InlineStyleSheet', 's2', { css: '@font-face { src: local(x) }' })
        ],
        styles: {
          type: 'map',
          entries: [['color', 'red'], ['background-image', 'url(x)'], ['position', 'sticky']]
        }
      })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  const attrs = doc.roots[0].attributes;
  assert.equal(attrs.stylesheets[0], '.a { color: red }');
  assert.equal(attrs.stylesheets.length, 3);
  assert.deepEqual(attrs.stylesheets[1].attributes, { css: '.d { color: blue }' });
  assert.deepEqual(attrs.stylesheets[2].attributes, {});
  assert.deepEqual(attrs.styles.entries, [['color', 'red']]);
  assert.deepEqual(withheld, [
    'CSS that could load something or cover the page (Div.styles)',
    'CSS that could load something or cover the page (Div.stylesheets)',
    'CSS that could load something or cover the page (InlineStyleSheet.css)'
  ]);
});

test('TeX outside markup is withheld; markup keeps it with math off; links are http(s)', () => {
  const json = {
    roots: [
      obj('Column', 'c', {
        children: [
          obj('Slider', 's', { title: 'speed $$v^2$$', start: 0, end: 1, value: 0 }),
          obj('Div', 'd', { text: 'energy $$E=mc^2$$', disable_math: false })
        ]
      }),
      obj('HelpTool', 'h1', { redirect: 'javascript:alert(1)' }),
      obj('HelpTool', 'h2', { redirect: 'https://docs.bokeh.org' })
    ]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  const [slider, div] = doc.roots[0].attributes.children;
  assert.equal(slider.attributes.title, undefined);
  assert.deepEqual(div.attributes, { text: 'energy $$E=mc^2$$', disable_math: true });
  assert.deepEqual(doc.roots[1].attributes, {});
  assert.deepEqual(doc.roots[2].attributes, { redirect: 'https://docs.bokeh.org' });
  assert.deepEqual(withheld, [
    'TeX text (Slider.title)',
    'a link that is not http(s) (HelpTool.redirect)'
  ]);
});

test('document callbacks and plain or typed references to withheld models go', () => {
  const json = {
    roots: [
      obj('Column', 'c', { children: [obj('Div', 'd', { text: 'x' })] }),
      obj('Button', 'b', {
        js_event_callbacks: {
          type: 'map',
          entries: [['button_click', [obj('CustomJS', 'j', {}), { type: 'ref', id: 'j' }]]]
        }
      })
    ],
    callbacks: { type: 'map', entries: [['document_ready', [{ id: 'j' }]]] }
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(doc.roots[1].attributes.js_event_callbacks.entries, [['button_click', []]]);
  assert.deepEqual(doc.callbacks, { type: 'map', entries: [['document_ready', []]] });
  assert.deepEqual(withheld, ['CustomJS']);
});

test('a __proto__ key cannot hand BokehJS values past the checks', () => {
  const text =
    '{"roots": [{"type": "object", "name": "Div", "id": "d", "attributes": {"text": "x", ' +
    '"__proto__": {"stylesheets": ["@import url(http://x/y.css);"]}, ' +
    '"tags": [{"__proto__": {"stylesheets": ["@import url(http://x/z.css);"]}}]}}]}';
  const { doc, withheld } = untrustedDocument(JSON.parse(text), clean);
  const attrs = doc.roots[0].attributes;
  assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
  assert.equal(attrs.stylesheets, undefined);
  assert.equal(Object.getPrototypeOf(attrs.tags[0]), Object.prototype);
  assert.deepEqual(withheld, ['a __proto__ key']);
});

test('not a document: an error, nothing shown', () => {
  for (const bad of [null, 1, 'x', []]) {
    assert.throws(() => untrustedDocument(bad, clean), /not a Bokeh document/);
  }
});

test('the allowlist and the withheld list do not overlap, and code is never allowed', () => {
  const allowed = new Set(allowedModels());
  for (const name of Object.keys(WITHHELD)) {
    assert.ok(!allowed.has(name), name);
  }
  for (const name of allowed) {
    assert.doesNotMatch(name, /CustomJS|Template|URL|Imported|GMap|TileSource|TileRenderer|Ajax|Web|TeX|MathML/);
    assert.equal(withheldReason(name), null);
  }
  assert.match(withheldReason('SomethingNew'), /not a model known/);
});

test('a spec whose expression is withheld goes; a withheld transform leaves its field', () => {
  const json = {
    roots: [
      obj('Scatter', 's', {
        x: { type: 'expr', expr: obj('CustomJSExpr', 'e', { code: 'return [1]' }) },
        y: { type: 'field', field: '<b>y</b>', transform: obj('CustomJSTransform', 't', {}) }
      })
    ]
  };
  const { doc, withheld, cleaned } = untrustedDocument(json, clean);
  assert.deepEqual(doc.roots[0].attributes, { y: { type: 'field', field: '<b>y</b>' } });
  assert.deepEqual(withheld, ['CustomJSExpr', 'CustomJSTransform']);
  assert.equal(cleaned, 0, 'a column name is data, never HTML');
});

test('names, tags, text set as text and text without markup are not cleaned', () => {
  const json = {
    roots: [
      obj('Column', 'c', { children: [{ id: 'elsewhere' }], name: '<b>n</b>', tags: ['<i>t</i>'] }),
      obj('Paragraph', 'p', { text: 'a < b' }),
      obj('Div', 'd', { text: 'no markup' })
    ]
  };
  const { doc, withheld, cleaned } = untrustedDocument(json, clean);
  const [column, paragraph, div] = doc.roots;
  // a reference to a model the document does not define stays: BokehJS says it is unknown
  assert.deepEqual(column.attributes, {
    children: [{ id: 'elsewhere' }],
    name: '<b>n</b>',
    tags: ['<i>t</i>']
  });
  assert.equal(paragraph.attributes.text, 'a < b');
  assert.equal(div.attributes.text, 'no markup');
  assert.deepEqual(withheld, []);
  assert.equal(cleaned, 0);
});

test('the document keeps its version and title, not its other keys; defs of any shape go', () => {
  const json = {
    version: '3.9.2',
    title: 'T',
    extra: { type: 'object', name: 'CustomJS', id: 'x' },
    defs: {},
    config: obj('CustomJS', 'cfg', {}),
    roots: [obj('Div', 'd', { styles: { type: 'map', entries: [['color', 'red'], ['lone'], 'x'] } })]
  };
  const { doc, withheld } = untrustedDocument(json, clean);
  assert.deepEqual(Object.keys(doc), ['version', 'title', 'roots']);
  assert.deepEqual(doc.roots[0].attributes.styles, { type: 'map', entries: [['color', 'red']] });
  assert.deepEqual(withheld, ['CustomJS', 'model definitions (defs)']);
});

test('names in messages: long ones cut, odd ones escaped, DOM templates withheld', () => {
  assert.equal(printable('x'.repeat(70)), `${'x'.repeat(60)}\\u2026`);
  assert.equal(printable(3), 'a model without a name');
  assert.equal(printable('A\nB'), 'A\\u000aB');
  assert.match(withheldReason('bokeh.models.dom.Span'), /DOM template/);
  for (const name of [42, null, 'hasOwnProperty', 'toString']) {
    assert.match(withheldReason(name), /not a model known/, String(name));
  }
});
