"""The Qt layer: the only part of opsconsole that imports PySide6, one package per room.

``shell`` is the house: ``shell.app.run_gui`` starts the desktop console, ``shell.main_window`` is the
window (rail, pages, detail panel, status bar, profile switcher), ``shell.context.PageContext`` is
what every page is handed, ``shell.bridge`` runs the Qt-free async core on a background asyncio loop.
``signin`` is the sign-in; each feature room adds its own package (``users``, ``events``,
``metrics``, ``traces``) and its page in ``shell.pages``. docs/architecture.md has the recipe.

Importing this package imports nothing heavy: every module pulls in only what it uses, so
``opsconsole --version`` and the core never pay for Qt.
"""
