"""Quitting while the sign-in session is still opening: the opening stops at its next step.

The opening runs on a worker thread that nothing can stop from outside, and the bridge's shutdown waits
for every worker thread. A step held by the test stands for one import of the network stack, so the
shutdown happens, deterministically, while the opening is half-way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

from opsconsole.auth.session import Session
from opsconsole.config import ConfigSet, Profile
from opsconsole.ui.shell.bridge import AsyncBridge
from opsconsole.ui.shell.main_window import MainWindow
from opsconsole.ui.signin.coordinator import SignInCoordinator
from opsconsole.ui.signin.opening import IMPORT_STEPS

PROFILE = Profile(
    name="local",
    label="Local",
    api_url="http://127.0.0.1:9/api",
    issuer="http://127.0.0.1:9",
    client_id="opsconsole",
    token_storage="memory",
)


def test_quitting_while_the_session_opens_stops_the_opening_and_leaves_no_thread(
    qtbot: Any, caplog: Any
) -> None:
    in_step, step_may_end = threading.Event(), threading.Event()
    opened: list[Profile] = []

    def one_import() -> None:
        in_step.set()
        step_may_end.wait(timeout=30)

    def factory(profile: Profile) -> Session:  # what reads the keyring: must not run after a quit
        opened.append(profile)
        raise AssertionError("the session was opened after the quit")

    bridge = AsyncBridge()
    window = MainWindow(ConfigSet.in_memory(PROFILE), bridge=bridge, profile="local")
    qtbot.addWidget(window)
    coordinator = SignInCoordinator(window, session_factory=factory, steps=(one_import, one_import))
    window.show()
    qtbot.waitUntil(in_step.is_set, timeout=10_000)
    opening = coordinator._opening
    assert opening is not None and not opening.done

    coordinator.shutdown()  # what GuiSession.shutdown does first; then the window goes, then the bridge
    qtbot.waitUntil(opening.future.done, timeout=10_000)  # the loop thread has seen the cancellation
    step_may_end.set()  # the import in progress ends; the worker must not start the next step
    window.close()
    bridge.shutdown()

    assert opened == []
    assert opening.cancelled
    loop_thread = bridge.loop_thread
    assert loop_thread is not None and not loop_thread.is_alive()
    workers = [t.name for t in threading.enumerate() if t.name.startswith("asyncio_")]
    assert workers == []  # the default executor's threads were joined
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_the_import_steps_are_what_opening_a_session_imports() -> None:
    # A step that opening does not import would cost starting and quitting alike: keep the list honest
    # as dependencies change. In a fresh interpreter, where nothing else imported them; the keyring's
    # backends (secretstorage) are imported when the session picks its store.
    code = (
        "import importlib.util, sys\n"
        "from opsconsole.config import Profile\n"
        "from opsconsole.auth import open_session\n"
        "open_session(Profile(name='p', api_url='http://127.0.0.1:9/api', issuer='http://127.0.0.1:9',"
        " client_id='c'), interactive=True)\n"
        f"steps = {IMPORT_STEPS!r}\n"
        "installed = [s for s in steps if importlib.util.find_spec(s.split('.')[0]) is not None]\n"
        "print(' '.join(s for s in installed if s not in sys.modules))\n"
    )
    # As on a user's machine: keyring looks for its backend (the tests pin the failing one). But on a
    # session bus nobody serves: the developer's own Secret Service must not be asked (an unlock
    # prompt, a hang), and the backends are imported all the same when keyring looks.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == []
