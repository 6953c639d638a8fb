"""Regenerate the Users and Roles screenshots in docs/screenshots/ (offscreen, light and dark).

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/make_users_screenshots.py [OUTPUT_DIR]

Starts a sandbox with 300 seeded users in this process (tests/support/sandbox.py), signs the demo
admin in through its real pages (tokens in memory), and shows the real pages in a real window: the
Users page, a user's detail, the roles matrix, a conflict dialog (a second client renames the user
while the edit dialog is open) and a bulk result with one failure (a user deleted before the run).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    from PySide6.QtWidgets import QApplication
    from tests.e2e.users.conftest import sign_in
    from tests.support.sandbox import start_background, test_settings

    from opsconsole.auth.session import Session
    from opsconsole.auth.store import MemoryStore
    from opsconsole.config import ConfigSet, Profile
    from opsconsole.ui.shell.app import ensure_application
    from opsconsole.ui.shell.bridge import AsyncBridge
    from opsconsole.ui.shell.main_window import MainWindow
    from opsconsole.ui.shell.palette import ThemeController
    from opsconsole.users import UsersClient

    app = ensure_application(["screenshots"])
    theme = ThemeController(app, override="light")
    sandbox = start_background(test_settings(Path(tempfile.mkdtemp(prefix="shots-")), users=300))
    url = sandbox.url.rstrip("/")
    sign_in(sandbox, "admin", "admin@sandbox.test")
    profile = Profile(name="admin", label="Local sandbox", api_url=f"{url}/api", issuer=url,
                      client_id="opsconsole", audience="opsconsole-api", token_storage="memory")  # fmt: skip

    def wait(done: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit("the window did not get there in time")
            QApplication.processEvents()
            time.sleep(0.01)

    def save(widget: Any, name: str) -> None:
        for _ in range(5):
            QApplication.processEvents()
        if not widget.grab().save(str(out / name), "PNG"):
            raise SystemExit(f"cannot write {out / name}")
        print(out / name)

    def other(work: Callable[[UsersClient], Any]) -> Any:
        async def run() -> Any:
            async with Session(profile, store=MemoryStore()) as session, session.client() as http:
                return await work(UsersClient(http))

        return asyncio.run(run())

    def shoot(scheme: str) -> None:
        theme.set_scheme(scheme)  # type: ignore[arg-type]
        window = MainWindow(ConfigSet.in_memory(profile), bridge=bridge, profile="admin")
        window.resize(1280, 760)
        window.show()
        window.set_sign_in_state("admin@sandbox.test · 58 min left")
        window.context.set_session(session)
        window.context.set_signed_in(True)  # what the sign-in coordinator says once the session has tokens
        view = window.page("users").build()  # (built on the first idle otherwise)
        wait(lambda: view.model.rowCount() > 0 and view.service.policy is not None)
        save(window, f"users-{scheme}.png")

        view.select_rows([1])
        detail = view.detail
        email = detail.user.email
        wait(lambda: detail.loaded)

        # A conflict: the edit dialog is open when a colleague renames the user.
        detail.edit_button.click()
        dialog = detail.editor.dialog
        dialog.name.setText("My new name for them")

        async def rename(client: UsersClient) -> Any:
            return await client.update_user(
                await client.find_user(email), name=f"Renamed by a colleague ({scheme})"
            )

        other(rename)
        dialog.ok.click()
        wait(lambda: detail.editor.conflict is not None)
        save(detail.editor.conflict, f"users-conflict-{scheme}.png")
        detail.editor.conflict.keep.click()
        wait(lambda: detail.editor.dialog is None and "colleague" in detail.audit.text())
        save(window, f"users-detail-{scheme}.png")

        # A bulk grant with one user deleted just before it runs.
        plain = [i for i, u in enumerate(view.model.state.rows)
                 if "sandbox.test" not in u.email and "analyst" not in u.roles][:6]  # fmt: skip
        chosen = [view.model.state.rows[i] for i in plain]
        view.select_rows(plain)

        async def delete(client: UsersClient) -> None:
            await client.delete_user(await client.get_user(chosen[3].id))

        other(delete)
        bulk = view.bulk_role(grant=True, role="analyst")
        wait(lambda: bulk.summary_result is not None)
        save(bulk, f"users-bulk-{scheme}.png")
        bulk.close_button.click()

        window.show_page("roles")
        roles = window.page("roles")
        roles.build()
        wait(lambda: roles.view.loaded and bool(roles.view.counts))
        roles.view.select_role("support")
        wait(lambda: roles.view.members.count() > 1)
        roles.view.set_permission("viewer", "read:reports", True)  # an unsaved change, in bold
        save(window, f"roles-{scheme}.png")
        window.context.set_session(None)
        window.close()
        window.deleteLater()
        QApplication.processEvents()

    bridge = AsyncBridge()
    session = Session(profile, store=MemoryStore())
    try:
        for scheme in ("light", "dark"):
            shoot(scheme)
    finally:
        bridge.run(session.aclose())
        bridge.shutdown()
        theme.close()
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
