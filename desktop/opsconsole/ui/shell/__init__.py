"""The shell every feature room lives in: the application and its start-up (``app``), the main window
with its rail, status bar and detail panel, the list of pages and the :class:`~.pages.PageContext`
handed to each, the bridge to the async core, the palette, and the small Qt helpers they share."""
