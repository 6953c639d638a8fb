"""The Qt layer: the only part of opsconsole that imports PySide6.

``app.run_gui`` starts the desktop console; ``bridge`` runs the Qt-free async core on a background
asyncio loop and brings results home to the GUI thread; ``main_window`` is the shell (navigation rail,
pages, detail panel, status bar, profile switcher); ``pages`` lists the pages, one per feature, each
replaced by its feature's ``<feature>_view.py`` when that feature lands.

Importing this package imports nothing heavy: every module pulls in only what it uses, so
``opsconsole --version`` and the core never pay for Qt.
"""
