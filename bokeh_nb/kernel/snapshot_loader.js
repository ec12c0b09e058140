(function (script) {
  var box = script.parentNode, fallback = box.querySelector('.bokeh-nb-fallback');
  var say = function (text) { fallback.textContent = text; };
  // BokehJS registers under its npm version ('3.10.0.dev5' is '3.10.0-dev.5')
  var version = box.getAttribute('data-bokeh-version')
    .replace(/^(\d+\.\d+\.\d+)\.?(dev|rc)\.?(\d+)$/, '$1-$2.$3');
  var fail = function (e) {
    box.setAttribute('data-bokeh-nb-rendered', 'failed');
    say('This saved Bokeh output could not be shown: ' + e);
  };
  var render = function () {
    var bk = window.Bokeh && window.Bokeh[version];
    if (!bk || !bk.require) {
      say('BokehJS ' + version + ' is not in this page: run the notebook with bokeh_nb, or ' +
          'save it in JupyterLab or Notebook 7 with bokeh_nb, then export it again.');
      return;
    }
    if (box.getAttribute('data-bokeh-nb-rendered')) {
      return;
    }
    box.setAttribute('data-bokeh-nb-rendered', 'pending');
    try {
      var doc = bk.require('document').Document.from_json(JSON.parse(script.previousElementSibling.textContent));
      var target = document.createElement('div');
      box.appendChild(target);
      bk.require('embed/standalone').add_document_standalone(doc, target).then(function () {
        fallback.remove();
        box.setAttribute('data-bokeh-nb-rendered', 'true');
      }, function (e) { fail(e); });
    } catch (e) {
      fail(e);
    }
  };
  var ready = window.Bokeh && window.Bokeh[version];
  if (!ready && document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', render);
  } else {
    render();
  }
})(document.currentScript);
