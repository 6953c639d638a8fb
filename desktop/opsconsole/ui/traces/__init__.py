"""The Traces room's views: search with a results table and scatter, and the span waterfall.

``page.TracesPage`` is the rail's page (built when first shown, so pyqtgraph is imported then);
``prepared`` makes a trace ready off the GUI thread; ``waterfall`` paints only the rows on screen.
"""
