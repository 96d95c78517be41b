"""`perispiegel users ...`, the demo accounts of `make run`, and the secret key, as an administrator meets them."""

from __future__ import annotations

import re
import stat

import pytest
from births_factory import publish, random_births
from sqlalchemy import Engine

import auth.server
import cli
from auth.demo import create_demo_users
from auth.users import authenticate, get_user, list_users


@pytest.fixture
def database(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    publish(sqlite_engine, random_births(50, seed=3))
    monkeypatch.setenv("PERISPIEGEL_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("PERISPIEGEL_ENV", raising=False)
    return sqlite_engine


def shown_password(output: str) -> str:
    return re.search(r"Password \(shown once, to be changed at the first login\): (\S+)", output).group(1)


def test_users_add_list_disable_reset_and_grant(database, capsys):
    assert cli.main(["users", "add", "Jan", "--role", "provider", "--org", "H001", "--name", "Jan Jansen"]) == 0
    password = shown_password(capsys.readouterr().out)
    # Whoever read the generated password passes it on: it must be replaced at the first login.
    assert authenticate(database, "jan", password).org_code == "H001"
    assert get_user(database, username="jan").must_change_password

    assert cli.main(["users", "add", "els", "--role", "vsv", "--org", "H001"]) == 1
    assert "not a vsv" in capsys.readouterr().out

    assert cli.main(["users", "grant", "jan", "P002"]) == 0
    assert "H001, P002" in capsys.readouterr().out
    assert cli.main(["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "jan" in listing and "Jan Jansen" in listing and "provider" in listing and password not in listing

    assert cli.main(["users", "reset-password", "jan"]) == 0
    new_password = shown_password(capsys.readouterr().out)
    assert authenticate(database, "jan", password) is None
    assert authenticate(database, "jan", new_password) is not None

    assert cli.main(["users", "disable", "jan"]) == 0
    assert authenticate(database, "jan", new_password) is None
    assert cli.main(["users", "disable", "jan", "--enable"]) == 0
    assert get_user(database, username="jan").active
    assert cli.main(["users", "disable", "nobody"]) == 1
    assert "no user 'nobody'" in capsys.readouterr().out


def test_users_add_with_a_typed_password_never_prints_it(database, capsys, monkeypatch):
    typed = iter(["a typed password 1", "a typed password 1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert cli.main(["users", "add", "onderzoeker", "--role", "researcher", "--prompt"]) == 0
    assert "a typed password 1" not in capsys.readouterr().out
    assert authenticate(database, "onderzoeker", "a typed password 1") is not None
    assert not get_user(database, username="onderzoeker").must_change_password  # chosen by the one who typed it


def test_demo_users_are_made_once_per_role_and_printed(database, capsys):
    assert cli.ensure_demo_users(database, cli.Console()) == 0
    output = capsys.readouterr().out
    accounts = {user.username: user for user in list_users(database)}
    assert {user.role for user in accounts.values()} == {"provider", "vsv", "researcher", "admin"}
    provider, vsv = accounts["demo-zorgverlener"], accounts["demo-vsv"]
    assert provider.org_code == "H001" and vsv.org_code == "V01"  # H001 belongs to V01 in the test register
    for username in accounts:
        password = re.search(rf"{username}\s*│\s*(\S+)", output).group(1)
        assert authenticate(database, username, password) is not None
    assert cli.ensure_demo_users(database, cli.Console()) == 0  # not again: accounts exist now
    assert "demo-" not in capsys.readouterr().out and len(list_users(database)) == 4


def test_no_demo_users_in_production(database, capsys, monkeypatch):
    monkeypatch.setenv("PERISPIEGEL_ENV", "production")
    assert create_demo_users(database) == []
    cli.ensure_demo_users(database, cli.Console())
    assert "perispiegel users add" in capsys.readouterr().out and list_users(database) == []


def test_secret_key_from_the_environment_or_generated_once_outside_production(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(auth.server, "SECRET_KEY_FILE", tmp_path / "secret_key")
    monkeypatch.setenv("PERISPIEGEL_SECRET_KEY", "from-the-environment")
    assert auth.server.secret_key() == "from-the-environment"
    monkeypatch.delenv("PERISPIEGEL_SECRET_KEY")
    monkeypatch.delenv("PERISPIEGEL_ENV", raising=False)
    generated = auth.server.secret_key()
    assert len(generated) == 64 and "PERISPIEGEL_SECRET_KEY is not set" in caplog.text
    assert auth.server.secret_key() == generated  # stored: sessions survive a restart
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    monkeypatch.setenv("PERISPIEGEL_ENV", "production")
    with pytest.raises(RuntimeError, match="PERISPIEGEL_SECRET_KEY must be set"):
        auth.server.secret_key()
