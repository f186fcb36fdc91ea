"""Administrators: hashed passwords, hashed tokens, sessions, the sign-in backoff, `kb admin`."""
import sqlite3

import pytest
from click.testing import CliRunner

from kb.accounts.users import FREE_TRIES, AccountError, Accounts, backoff, digest


@pytest.fixture()
def store(tmp_path):
    return Accounts(tmp_path / "accounts.sqlite")


def test_passwords_are_salted_argon2_and_verified(store, tmp_path):
    store.add("alice", "correct horse")
    store.add("bob", "correct horse")
    hashes = [row[0] for row in sqlite3.connect(tmp_path / "accounts.sqlite").execute("SELECT hash FROM users")]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]  # salted
    assert "correct horse" not in (tmp_path / "accounts.sqlite").read_bytes().decode("latin-1")
    assert store.verify("alice", "correct horse").admin
    assert store.verify("alice", "wrong horse") is None
    assert store.verify("nobody", "correct horse") is None
    assert (tmp_path / "accounts.sqlite").stat().st_mode & 0o077 == 0  # owner only


def test_names_passwords_and_roles_are_checked(store):
    for name, password in [("", "long enough"), ("a b", "long enough"), ("x" * 65, "long enough"), ("ok", "short")]:
        with pytest.raises(AccountError):
            store.add(name, password)
    store.add("carol", "long enough", role="reader")
    assert not store.verify("carol", "long enough").admin
    with pytest.raises(AccountError):
        store.add("carol", "another one")
    with pytest.raises(AccountError):
        store.add("dave", "long enough", role="root")


def test_tokens_are_stored_as_hashes_and_revocable(store, tmp_path):
    store.add("alice", "correct horse")
    token = store.issue_token("alice")
    assert token.startswith("kb_") and len(token) > 40
    stored = [row[0] for row in sqlite3.connect(tmp_path / "accounts.sqlite").execute("SELECT digest FROM tokens")]
    assert stored == [digest(token)] and token not in stored
    assert store.user_for(token, "api").name == "alice"
    assert store.user_for(token, "session") is None  # an API token is no session
    assert store.user_for(token + "x", "api") is None and store.user_for("", "api") is None
    assert store.revoke_tokens("alice") == 1 and store.user_for(token, "api") is None


def test_sessions_end_at_logout_and_with_a_new_password(store):
    store.add("alice", "correct horse")
    one, two = store.start_session("alice"), store.start_session("alice")
    api = store.issue_token("alice")
    store.end_session(one)
    assert store.user_for(one, "session") is None and store.user_for(two, "session").name == "alice"
    store.set_password("alice", "battery staple")
    assert store.user_for(two, "session") is None and store.user_for(api, "api") is not None
    assert store.verify("alice", "battery staple") and not store.verify("alice", "correct horse")


def test_failed_sign_ins_slow_the_next_tries_per_name_and_address(store):
    assert [backoff(n) for n in range(FREE_TRIES + 4)] == [0, 0, 0, 1, 2, 4, 8]
    assert backoff(100) == 300
    for _ in range(FREE_TRIES):
        assert store.wait_before_try("alice", "10.0.0.1") == 0
        store.failed("alice", "10.0.0.1")
    assert store.wait_before_try("alice", "10.0.0.1") > 0.5
    assert store.wait_before_try("alice", "10.0.0.2") == 0  # another address
    assert store.wait_before_try("bob", "10.0.0.1") == 0  # another name
    store.succeeded("alice", "10.0.0.1")
    assert store.wait_before_try("alice", "10.0.0.1") == 0


def test_kb_admin_commands(tmp_path, monkeypatch):
    from kb.cli import main

    monkeypatch.setenv("KB_BASKET_DB", str(tmp_path / "var" / "basket.sqlite"))
    runner = CliRunner()
    added = runner.invoke(main, ["admin", "add", "alice", "--password-stdin"], input="correct horse\n")
    assert added.exit_code == 0, added.output
    assert (tmp_path / "var" / "accounts.sqlite").exists()  # beside the basket
    token = runner.invoke(main, ["admin", "token", "alice"]).output.strip()
    assert Accounts(tmp_path / "var" / "accounts.sqlite").user_for(token, "api").name == "alice"
    listed = runner.invoke(main, ["admin", "list"]).output
    assert "alice" in listed and "admin" in listed and "tokens: 1" in listed
    short = runner.invoke(main, ["admin", "passwd", "alice", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "至少" in short.output
    prompted = runner.invoke(main, ["admin", "passwd", "alice"], input="battery staple\nbattery staple\n")
    assert prompted.exit_code == 0 and "密码已更新" in prompted.output
    assert runner.invoke(main, ["admin", "token", "nobody"]).exit_code == 1
    assert "administrator accounts" in runner.invoke(main, ["admin", "--help"]).output
    assert runner.invoke(main, ["admin", "remove", "alice"]).exit_code == 0
    assert Accounts(tmp_path / "var" / "accounts.sqlite").user_for(token, "api") is None
