"""The Metrics page: dashboards of pyqtgraph panels fed by a Prometheus server or a direct scrape.

Modules, one job each:
- ``data``: what a panel draws (:class:`~.data.PanelData`), built off the GUI thread from a query
  result or a scrape's ring buffers (legend names, NaN/Inf counted and turned into gaps);
- ``source``: where the data comes from (a Prometheus-compatible API or one /metrics endpoint), as
  coroutines the page runs on ``context.bridge``;
- ``chart``: one panel (pyqtgraph plot, legend with toggles, crosshair, message banner, footer);
- ``axis``, ``legend_list``, ``alerts``, ``timerange``: the pieces a panel or the page is made of;
- ``completion`` and ``editor``: the panel editor and its metric/label completion;
- ``export``: a panel as PNG and CSV;
- ``page``: the page itself (toolbar, alert strip, grid).

pyqtgraph is imported only here, and only when the page is first shown.
"""
