"""Metrics: the Prometheus HTTP API client, direct scrapes of one /metrics endpoint, dashboards.

Qt-free (the views live in ``opsconsole.ui.metrics``). Modules:
- ``durations``: Prometheus durations ("1h30m") read and written;
- ``step``: the query step a panel asks for (pixel width, 11,000-point cap, scrape interval);
- ``api``: the Prometheus HTTP API over an ``httpx.AsyncClient`` (Prometheus, Thanos, Mimir,
  VictoriaMetrics), its error envelope turned into short panel messages;
- ``exposition``: one scrape of a /metrics endpoint, parsed with prometheus_client's parsers;
- ``quantile``: ``histogram_quantile`` as Prometheus computes it;
- ``ring`` and ``scraper``: direct-scrape mode: counters as rates, gauges as values, histograms as
  quantiles, in bounded ring buffers;
- ``dashboard``: dashboards as JSON (panels in both forms), validation, save, reset;
- ``units`` and ``legend``: how values and series are labelled;
- ``commands``: ``opsconsole metrics query`` and ``opsconsole metrics scrape``.
"""
