"""Password guessing and replayed forms against the sign-in pages, on SQLite and PostgreSQL over real
HTTP: per-account and per-address throttling with growing lock-outs, and single-use login and consent
forms."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import sqlalchemy as sa

from opsconsole.sandbox import db
from opsconsole.sandbox.server import RunningSandbox
from tests.support.oauth_sandboxes import sandbox_fixture
from tests.support.sandbox import ADMIN, PASSWORD, SUPPORT, VIEWER, authorize_url, callback_params, pkce_pair
from tests.support.signin_pages import alerts, consent_page, submit

sb = sandbox_fixture("sb", "module")
fresh_sb = sandbox_fixture("fresh_sb", "function")


def test_a_replayed_consent_post_yields_no_second_code(sb: RunningSandbox) -> None:
    with httpx.Client(timeout=15) as browser:
        consent = consent_page(sb.url, browser, VIEWER, PASSWORD)
        first = submit(browser, consent, "consent", decision="allow")
        assert first.status_code == 303 and "code" in callback_params(first.headers["location"])
        replay = submit(browser, consent, "consent", decision="allow")
    assert replay.status_code == 400 and "location" not in replay.headers
    assert "already" in alerts(replay)


def test_a_replayed_login_post_is_refused(sb: RunningSandbox) -> None:
    _, challenge = pkce_pair()
    with httpx.Client(timeout=15) as browser:
        login = browser.get(authorize_url(sb.url, challenge=challenge))
        first = submit(browser, login, "login", email=VIEWER, password=PASSWORD)
        assert first.status_code == 200 and 'value="allow"' in first.text
        replay = submit(browser, login, "login", email=VIEWER, password=PASSWORD)
    assert replay.status_code == 400 and 'value="allow"' not in replay.text
    assert "already" in alerts(replay)


# --- password guessing --------------------------------------------------------------------------------


def _guess(
    sb: RunningSandbox, browser: httpx.Client, email: str, passwords: list[str]
) -> list[httpx.Response]:
    """Sign-in attempts as a guesser makes them: each on the form the previous answer carried."""
    _, challenge = pkce_pair()
    page = browser.get(authorize_url(sb.url, challenge=challenge))
    answers = []
    for password in passwords:
        page = submit(browser, page, "login", email=email, password=password)
        answers.append(page)
    return answers


def _pass_time(sb: RunningSandbox) -> None:
    """Every lock-out ends now (as if its time had passed)."""
    with db.writing(sb.app.state.engine) as conn:
        conn.execute(sa.update(db.login_throttle).values(locked_until=db.utcnow() - dt.timedelta(seconds=1)))


def test_39_wrong_passwords_then_the_right_one_is_refused(fresh_sb: RunningSandbox) -> None:
    with httpx.Client(timeout=15) as browser:
        answers = _guess(fresh_sb, browser, SUPPORT, [f"guess {n}" for n in range(39)] + [PASSWORD])
    right = answers[-1]
    assert right.status_code == 429 and 'value="allow"' not in right.text
    assert 0 < int(right.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-ins" in alerts(right)
    assert [a.status_code for a in answers[:4]] == [401] * 4
    assert all(a.status_code == 429 for a in answers[4:])
    # The lock is the account's: the same address still signs in to another account.
    with httpx.Client(timeout=15) as browser:
        assert _guess(fresh_sb, browser, VIEWER, [PASSWORD])[0].status_code == 200


def test_the_lock_out_grows_and_a_success_resets_the_account(fresh_sb: RunningSandbox) -> None:
    with httpx.Client(timeout=15) as browser:
        first = _guess(fresh_sb, browser, ADMIN, ["wrong"] * 5)[-1]
        assert first.status_code == 429
        _pass_time(fresh_sb)
        second = _guess(fresh_sb, browser, ADMIN, ["wrong again"])[0]
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) > int(first.headers["retry-after"])
        _pass_time(fresh_sb)
        assert _guess(fresh_sb, browser, ADMIN, [PASSWORD])[0].status_code == 200
        # The success reset the account's count: a typo now is one failure of five again.
        assert _guess(fresh_sb, browser, ADMIN, ["typo", PASSWORD])[1].status_code == 200


def test_many_accounts_guessed_from_one_address_lock_the_address(fresh_sb: RunningSandbox) -> None:
    with httpx.Client(timeout=15) as browser:
        for _ in range(20):
            stranger = f"nobody-{uuid.uuid4().hex[:8]}@sandbox.test"
            answer = _guess(fresh_sb, browser, stranger, ["guess"])[0]
        assert answer.status_code == 429
        locked = _guess(fresh_sb, browser, VIEWER, [PASSWORD])[0]
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in alerts(locked)


def test_wrong_device_codes_count_against_the_address(fresh_sb: RunningSandbox) -> None:
    with httpx.Client(base_url=fresh_sb.url, timeout=15) as browser:
        answers = [browser.get("/device", params={"user_code": "BCDF-GHJK"}) for _ in range(20)]
    assert [a.status_code for a in answers[:19]] == [400] * 19
    assert answers[-1].status_code == 429 and int(answers[-1].headers["retry-after"]) > 0
    assert "Too many wrong codes" in alerts(answers[-1])
