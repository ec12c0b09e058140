// The BokehJS models an untrusted notebook shows, and why each other one is withheld
// (untrusted.ts applies them; docs/snapshots.md, "Trust"). Every model of the installed
// bokeh is in one list or the other: tests/unit/test_frontend_logic.py checks it.

/** Models that run no code and load nothing, so an untrusted notebook shows them. */
// prettier-ignore
const ALLOWED_NAMES = [
  // plots, layouts, canvases and the document's own configuration
  'Plot', 'Figure', 'GridPlot', 'Canvas', 'CoordinateMapping', 'DocumentConfig',
  'Notifications', 'Column', 'Row', 'GridBox', 'HBox', 'VBox', 'ScrollBox', 'GroupBox',
  'Spacer', 'TabPanel', 'Tabs', 'Pane', 'Panel', 'Drawer', 'Tooltip', 'ToolbarPanel',
  // ranges, scales, axes, tickers, tick formatters, labeling, grids
  'Range1d', 'DataRange1d', 'FactorRange', 'LinearScale', 'LogScale', 'CategoricalScale',
  'CompositeScale', 'LinearAxis', 'LogAxis', 'CategoricalAxis', 'DatetimeAxis',
  'MercatorAxis', 'TimedeltaAxis', 'AdaptiveTicker', 'BasicTicker', 'BinnedTicker',
  'CategoricalTicker', 'CompositeTicker', 'DatetimeTicker', 'DaysTicker', 'FixedTicker',
  'LogTicker', 'MercatorTicker', 'MonthsTicker', 'SingleIntervalTicker', 'TimedeltaTicker',
  'YearsTicker', 'BasicTickFormatter', 'CategoricalTickFormatter', 'DatetimeTickFormatter',
  'LogTickFormatter', 'MercatorTickFormatter', 'NumeralTickFormatter',
  'PrintfTickFormatter', 'TimedeltaTickFormatter', 'AllLabels', 'NoOverlap', 'Grid',
  // renderers, glyphs, data, selections, filters, transforms, expressions, mappers
  'GlyphRenderer', 'GraphRenderer', 'ContourRenderer', 'RendererGroup', 'AnnularWedge',
  'Annulus', 'Arc', 'Bezier', 'Block', 'Circle', 'Ellipse', 'HArea', 'HAreaStep', 'HBar',
  'HSpan', 'HStrip', 'HexTile', 'Image', 'ImageRGBA', 'ImageStack', 'Line', 'MultiLine',
  'MultiPolygons', 'Ngon', 'Patch', 'Patches', 'Quad', 'Quadratic', 'Ray', 'Rect',
  'Scatter', 'Segment', 'Step', 'Text', 'VArea', 'VAreaStep', 'VBar', 'VSpan', 'VStrip',
  'Wedge', 'ColumnDataSource', 'GeoJSONDataSource', 'CDSView', 'Selection',
  'UnionRenderers', 'IntersectRenderers', 'AllIndices', 'BooleanFilter', 'GroupFilter',
  'IndexFilter', 'IntersectionFilter', 'UnionFilter', 'DifferenceFilter',
  'SymmetricDifferenceFilter', 'InversionFilter', 'NanCompare', 'Dodge', 'Jitter',
  'LinearInterpolator', 'StepInterpolator', 'CumSum', 'Stack', 'Maximum', 'Minimum',
  'PolarTransform', 'XComponent', 'YComponent', 'CategoricalColorMapper',
  'CategoricalMarkerMapper', 'CategoricalPatternMapper', 'LinearColorMapper',
  'LogColorMapper', 'EqHistColorMapper', 'WeightedStackColorMapper',
  'StaticLayoutProvider', 'NodesOnly', 'NodesAndLinkedEdges', 'EdgesAndLinkedNodes',
  'NodesAndAdjacentNodes', 'EdgesOnly', 'NodeCoordinates', 'EdgeCoordinates',
  'GroupByModels', 'GroupByName', 'Node', 'XY', 'Indexed', 'PlainText', 'Decoration',
  // annotations (canvas ones, and HTML ones that set their text as text)
  'Arrow', 'NormalHead', 'OpenHead', 'TeeHead', 'VeeHead', 'Band', 'BoxAnnotation',
  'BoxInteractionHandles', 'AreaVisuals', 'PolyAnnotation', 'Slope', 'Span', 'Whisker',
  'ColorBar', 'ContourColorBar', 'ScaleBar', 'SizeBar', 'Legend', 'LegendItem', 'Label',
  'LabelSet', 'Title', 'HTMLLabel', 'HTMLLabelSet', 'HTMLTitle', 'Metric', 'MetricLength',
  'ReciprocalMetric', 'ReciprocalMetricLength', 'ImperialLength', 'Angular',
  'CustomDimensional',
  // tools (their callbacks are models, checked on their own)
  'Toolbar', 'ToolProxy', 'ToolMenu', 'PanTool', 'WheelPanTool', 'WheelZoomTool',
  'ZoomInTool', 'ZoomOutTool', 'BoxZoomTool', 'ClickPanTool', 'BoxSelectTool',
  'LassoSelectTool', 'PolySelectTool', 'TapTool', 'RangeTool', 'CrosshairTool',
  'HoverTool', 'ResetTool', 'SaveTool', 'CopyTool', 'FullscreenTool', 'HelpTool', 'UndoTool',
  'RedoTool', 'BoxEditTool', 'FreehandDrawTool', 'LineEditTool', 'PointDrawTool',
  'PolyDrawTool', 'PolyEditTool', 'ToggleVisibility', 'BuiltinIcon', 'Menu', 'ActionItem',
  'CheckableItem', 'DividerItem', 'ByCSS', 'ByClass', 'ByID', 'ByXPath',
  // widgets (text that reaches the page as HTML is cleaned, see untrusted.ts)
  'Div', 'Paragraph', 'PreText', 'Button', 'Toggle', 'Dropdown', 'HelpButton',
  'CheckboxGroup', 'RadioGroup', 'CheckboxButtonGroup', 'RadioButtonGroup', 'Checkbox',
  'Switch', 'AutocompleteInput', 'ColorPicker', 'FileInput', 'MultiChoice', 'MultiSelect',
  'NumericInput', 'PaletteSelect', 'PasswordInput', 'Select', 'Spinner', 'TextAreaInput',
  'TextInput', 'Progress', 'DatePicker', 'DateRangePicker', 'DatetimePicker',
  'DatetimeRangePicker', 'MultipleDatePicker', 'MultipleDatetimePicker', 'TimePicker',
  'Slider', 'RangeSlider', 'DateSlider', 'DateRangeSlider', 'DatetimeRangeSlider',
  'CategoricalSlider', 'DataTable', 'DataCube', 'TableColumn', 'GroupingInfo',
  'StringFormatter', 'ScientificFormatter', 'NumberFormatter', 'BooleanFormatter',
  'DateFormatter', 'StringEditor', 'TextEditor', 'SelectEditor', 'PercentEditor',
  'CheckboxEditor', 'IntEditor', 'NumberEditor', 'TimeEditor', 'DateEditor',
  'AvgAggregator', 'MinAggregator', 'MaxAggregator', 'SumAggregator',
  // styles whose every value is checked for anything that loads (see untrusted.ts)
  'InlineStyleSheet', 'Styles'
];

/** Why each model BokehJS knows is withheld in an untrusted notebook. */
// prettier-ignore
export const WITHHELD: Readonly<Record<string, string>> = {
  CustomJS: 'runs JavaScript',
  CustomJSCompare: 'runs JavaScript',
  CustomJSExpr: 'runs JavaScript',
  CustomJSFilter: 'runs JavaScript',
  CustomJSHover: 'runs JavaScript',
  CustomJSTickFormatter: 'runs JavaScript',
  CustomJSTicker: 'runs JavaScript',
  CustomJSTransform: 'runs JavaScript',
  CustomLabelingPolicy: 'runs JavaScript',
  CanvasTexture: 'runs JavaScript',
  CustomAction: 'a button for a JavaScript callback',
  HTMLTemplateFormatter: 'an underscore template, which runs JavaScript',
  SetValue: 'sets any property to any value, past these checks',
  OpenURL: 'opens any URL, javascript: included',
  OpenDialog: 'opens a dialog of any content',
  CloseDialog: 'belongs to a dialog',
  Dialog: 'a dialog of any content',
  GMapPlot: "loads Google's Maps script",
  GMap: "loads Google's Maps script",
  GMapOptions: "loads Google's Maps script",
  MapOptions: "loads Google's Maps script",
  TileRenderer: 'loads map tiles from other servers',
  WMTSTileSource: 'loads map tiles from other servers',
  TMSTileSource: 'loads map tiles from other servers',
  QUADKEYTileSource: 'loads map tiles from other servers',
  BBoxTileSource: 'loads map tiles from other servers',
  ImageURL: 'loads images from URLs',
  ImageURLTexture: 'loads an image from a URL',
  AjaxDataSource: 'loads data from a URL',
  ServerSentDataSource: 'loads data from a URL',
  ImportedStyleSheet: 'loads a style sheet from a URL',
  GlobalImportedStyleSheet: 'loads a style sheet from a URL',
  GlobalInlineStyleSheet: 'styles the whole page, not only its output',
  LightDark: 'switches the theme of the whole page, not only its output',
  TablerIcon: 'loads an icon font from a CDN',
  SVGIcon: 'puts raw SVG markup into the page',
  Markdown: 'renders Markdown whose HTML and images are not checked',
  TeX: 'needs MathJax, which may load from a CDN',
  MathML: 'needs MathJax, which may load from a CDN',
  Ascii: 'needs MathJax, which may load from a CDN',
  TeXGlyph: 'needs MathJax, which may load from a CDN',
  MathMLGlyph: 'needs MathJax, which may load from a CDN',
  Examiner: 'a model inspector for development',
  ExamineTool: 'a model inspector for development',
  TileSource: 'loads map tiles from other servers',
  MercatorTileSource: 'loads map tiles from other servers',
  ScanningColorMapper: 'a base class, never in a document',
  ContinuousScale: 'a base class, never in a document',
  BaseSingleIntervalTicker: 'a base class, never in a document',
  TextLikeInput: 'a base class, never in a document',
  HTMLTextAnnotation: 'a base class, never in a document',
  MenuItem: 'a base class, never in a document'
};

const DOM_PREFIX = 'bokeh.models.dom.';
const DOM_REASON = 'a DOM template whose HTML and bindings are not checked';

const ALLOWED: ReadonlySet<string> = new Set(ALLOWED_NAMES);

/** The model names shown in an untrusted notebook (for tests and docs). */
export function allowedModels(): string[] {
  return [...ALLOWED].sort();
}

/** Why a model is withheld, or null when it is shown. */
export function withheldReason(name: unknown): string | null {
  if (typeof name === 'string' && ALLOWED.has(name)) {
    return null;
  }
  if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(WITHHELD, name)) {
    return WITHHELD[name];
  }
  if (typeof name === 'string' && name.startsWith(DOM_PREFIX)) {
    return DOM_REASON;
  }
  return 'not a model known to run no code';
}

/** A model name as the person reading the output can see it: anything unusual escaped. */
export function printable(name: unknown): string {
  if (typeof name !== 'string') {
    return 'a model without a name';
  }
  const short = name.length > 60 ? `${name.slice(0, 60)}…` : name;
  return short.replace(
    /[^\x21-\x7e]/g,
    c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}
