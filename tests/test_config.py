"""The TOML config (tray_app/config.py): defaults, validation, URL joining and comment-keeping writes."""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from tray_app import config as config_module
from tray_app.config import Account, Config, ConfigFileError, add_account, endpoint_url, load, remove_account

MEOW_URL = "https://api.meowload.net/openapi/available-credits"
SMARTER_URL = "https://chat.smarterbot.ai/chat/Chatbot/GetMessageCreditsUsage"
SOCIA_URL = "https://api.sociavault.com/v1/credits"
UNWM_URL = "https://api.unwatermark.ai/api/unwatermark/api/v1/get-credits-balance"
MEOW_T = (Decimal(10000), Decimal(2000), Decimal(300), Decimal(100), Decimal(0))


def write(tmp_path: Path, text: str | bytes, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def accounts_by_id(cfg: Config) -> dict[str, Account]:
    return {a.id: a for a in cfg.accounts}


def file_error(path: Path) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as info:
        load(path)
    return info.value


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# --------------------------------------------------------------------------- defaults and globals


def test_missing_file_means_no_accounts_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "config.toml"
    cfg = load(path)
    assert cfg.path == path
    assert cfg.refresh_minutes == 10
    assert cfg.notifications is True
    assert cfg.language == "auto"
    assert cfg.accounts == ()
    assert not path.exists(), "loading never creates the file"
    assert not path.parent.exists()


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, ""))
    assert (cfg.refresh_minutes, cfg.notifications, cfg.language, cfg.accounts) == (10, True, "auto", ())


def test_globals_are_read(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, 'refresh_minutes = 5\nnotifications = false\nlanguage = "zh"\n'))
    assert cfg.refresh_minutes == 5
    assert cfg.notifications is False
    assert cfg.language == "zh"
    cfg = load(write(tmp_path, 'refresh_minutes = 2.5\nlanguage = "en"\n'))
    assert cfg.refresh_minutes == 2.5
    assert cfg.language == "en"
    assert cfg.notifications is True


def test_account_defaults_are_filled_in(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, '[[accounts]]\nid = "meow"\nprovider = "meowload"\n'))
    [account] = cfg.accounts
    assert account.id == "meow"
    assert account.provider_id == "meowload"
    assert account.label == "MeowLoad"
    assert account.base_url is None
    assert account.thresholds == MEOW_T
    assert account.enabled is True
    assert account.problem is None
    assert account.url == MEOW_URL


def test_full_account_is_read(tmp_path: Path) -> None:
    text = """
[[accounts]]
id = "work-bot"
provider = "smarterbot"
label = "Work chatbot"
base_url = "https://proxy.example/sb"
thresholds = [500, 50.5, 0]
enabled = false
"""
    [account] = load(write(tmp_path, text)).accounts
    assert account.problem is None
    assert account.label == "Work chatbot"
    assert account.base_url == "https://proxy.example/sb"
    assert sorted(account.thresholds) == [Decimal(0), Decimal("50.5"), Decimal(500)]
    assert all(isinstance(t, Decimal) for t in account.thresholds)
    assert account.enabled is False
    assert account.url == "https://proxy.example/sb/chat/Chatbot/GetMessageCreditsUsage"


def test_several_accounts_at_one_provider(tmp_path: Path) -> None:
    text = """
[[accounts]]
id = "a"
provider = "sociavault"

[[accounts]]
id = "b"
provider = "sociavault"
label = "Second"
"""
    cfg = load(write(tmp_path, text))
    assert [(a.id, a.label, a.problem) for a in cfg.accounts] == [
        ("a", "SociaVault", None),
        ("b", "Second", None),
    ]
    assert cfg.account("b") is cfg.accounts[1]
    assert cfg.account("zzz") is None


@pytest.mark.parametrize(
    ("provider", "label"),
    [
        ("meowload", "MeowLoad"),
        ("smarterbot", "SmarterBot"),
        ("sociavault", "SociaVault"),
        ("unwatermark", "Unwatermark"),
    ],
)
def test_default_label_is_provider_name(tmp_path: Path, provider: str, label: str) -> None:
    [account] = load(write(tmp_path, f'[[accounts]]\nid = "x"\nprovider = "{provider}"\n')).accounts
    assert account.label == label
    assert account.problem is None


# --------------------------------------------------------------------------- per-account problems


def test_unknown_provider_marks_only_that_account(tmp_path: Path) -> None:
    text = """
[[accounts]]
id = "good"
provider = "meowload"

[[accounts]]
id = "bad"
provider = "acme"

[[accounts]]
id = "also-good"
provider = "unwatermark"
"""
    accounts = accounts_by_id(load(write(tmp_path, text)))
    assert accounts["good"].problem is None
    assert accounts["also-good"].problem is None
    assert accounts["bad"].problem is not None
    assert "acme" in accounts["bad"].problem


def test_missing_provider_is_a_problem(tmp_path: Path) -> None:
    [account] = load(write(tmp_path, '[[accounts]]\nid = "x"\n')).accounts
    assert account.problem


def test_duplicate_id_marks_the_later_entry(tmp_path: Path) -> None:
    text = """
[[accounts]]
id = "dup"
provider = "meowload"
label = "First"

[[accounts]]
id = "dup"
provider = "sociavault"
label = "Second"

[[accounts]]
id = "other"
provider = "sociavault"
"""
    cfg = load(write(tmp_path, text))
    first, second, other = cfg.accounts
    assert (first.id, first.label, first.problem) == ("dup", "First", None)
    assert second.id == "dup"
    assert second.problem is not None
    assert "dup" in second.problem
    assert other.problem is None


@pytest.mark.parametrize(
    "url",
    [
        "http://api.meowload.net",
        "http://example.com:8080",
        "http://10.0.0.1:8080",
        "http://192.168.1.10",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example",
        "ftp://127.0.0.1",
        "api.meowload.net",
        "https://",
    ],
)
def test_non_https_base_url_off_loopback_is_a_problem(tmp_path: Path, url: str) -> None:
    text = (
        f'[[accounts]]\nid = "x"\nprovider = "meowload"\nbase_url = "{url}"\n\n'
        '[[accounts]]\nid = "y"\nprovider = "meowload"\n'
    )
    accounts = accounts_by_id(load(write(tmp_path, text)))
    assert accounts["x"].problem, url
    assert accounts["y"].problem is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/openapi/available-credits"),
        ("http://127.0.0.1", "http://127.0.0.1/openapi/available-credits"),
        ("http://127.45.6.7:9000", "http://127.45.6.7:9000/openapi/available-credits"),
        ("http://localhost:8080", "http://localhost:8080/openapi/available-credits"),
        ("http://LOCALHOST:8080", "http://LOCALHOST:8080/openapi/available-credits"),
        ("http://[::1]:8080", "http://[::1]:8080/openapi/available-credits"),
        ("https://proxy.example", "https://proxy.example/openapi/available-credits"),
        ("https://proxy.example/meow", "https://proxy.example/meow/openapi/available-credits"),
    ],
)
def test_allowed_base_urls(tmp_path: Path, url: str, expected: str) -> None:
    [account] = load(
        write(tmp_path, f'[[accounts]]\nid = "x"\nprovider = "meowload"\nbase_url = "{url}"\n')
    ).accounts
    assert account.problem is None
    assert account.base_url == url
    assert account.url == expected


@pytest.mark.parametrize(
    "thresholds",
    [
        '["1000", "100", "0"]',  # quoted numbers
        '[1000, "100"]',
        '["a"]',
        "[true, 100]",
        "[1000, [100]]",
        "[{ x = 1 }]",
        '"1000,100,0"',
        "1000",
        "[-5]",
        "[nan]",
        "[inf]",
    ],
)
def test_thresholds_not_numbers_is_a_problem(tmp_path: Path, thresholds: str) -> None:
    text = (
        f'[[accounts]]\nid = "x"\nprovider = "meowload"\nthresholds = {thresholds}\n\n'
        '[[accounts]]\nid = "y"\nprovider = "sociavault"\nthresholds = [5, 0]\n'
    )
    accounts = accounts_by_id(load(write(tmp_path, text)))
    assert accounts["x"].problem, thresholds
    assert accounts["y"].problem is None
    assert sorted(accounts["y"].thresholds) == [Decimal(0), Decimal(5)]


def test_empty_thresholds_list_is_allowed(tmp_path: Path) -> None:
    [account] = load(
        write(tmp_path, '[[accounts]]\nid = "x"\nprovider = "meowload"\nthresholds = []\n')
    ).accounts
    assert account.problem is None
    assert account.thresholds == ()


def test_bad_id_is_a_problem(tmp_path: Path) -> None:
    text = (
        '[[accounts]]\nprovider = "meowload"\n\n[[accounts]]\nid = 5\nprovider = "meowload"\n'
        '\n[[accounts]]\nid = "ok"\nprovider = "meowload"\n'
    )
    cfg = load(write(tmp_path, text))
    assert cfg.accounts[0].problem
    assert cfg.accounts[1].problem
    assert cfg.accounts[2].problem is None


# --------------------------------------------------------------------------- file-level errors


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'refresh_minutes = 10\n\n[[accounts]]\nid = "x\nprovider = "meowload"\n')
    before = path.read_bytes()
    error = file_error(path)
    text = str(error)
    assert str(path) in text
    assert error.line == 4
    assert f"{path}:4" in text
    assert "\n" not in text
    assert path.read_bytes() == before


def test_bad_toml_other_line(tmp_path: Path) -> None:
    path = write(tmp_path, "# comment\nrefresh_minutes = 10\nnotifications = \n")
    error = file_error(path)
    assert error.line == 3
    assert f"{path}:3" in str(error)


def test_duplicate_key_is_bad_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "refresh_minutes = 10\nrefresh_minutes = 20\n")
    error = file_error(path)
    assert error.line == 2
    assert str(path) in str(error)


def test_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'refresh_minutes = 10\n# caf\xe9 au lait\nlanguage = "en"\n')
    error = file_error(path)
    assert error.line == 2
    assert f"{path}:2" in str(error)
    assert "UTF-8" in str(error) or "utf-8" in str(error).lower()


def test_not_utf8_in_an_account_label(tmp_path: Path) -> None:
    path = write(tmp_path, b'[[accounts]]\nid = "x"\nprovider = "meowload"\nlabel = "\xff\xfe"\n')
    assert file_error(path).line == 4


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('refresh_minutes = "ten"\n', 1),
        ("# settings\nrefresh_minutes = true\n", 2),
        ("refresh_minutes = 0\n", 1),
        ("refresh_minutes = -5\n", 1),
        ('notifications = "yes"\n', 1),
        ("refresh_minutes = 10\nnotifications = 1\n", 2),
        ('language = "fr"\n', 1),
        ("language = 5\n", 1),
        ("accounts = 5\n", 1),
        ('accounts = "meowload"\n', 1),
    ],
)
def test_wrong_global_types_are_file_errors(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    error = file_error(path)
    assert str(path) in str(error)
    assert error.line == line
    assert "\n" not in str(error)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    error = file_error(folder)
    assert str(folder) in str(error)


# --------------------------------------------------------------------------- endpoint_url


@pytest.mark.parametrize(
    ("documented", "base", "expected"),
    [
        (MEOW_URL, "http://127.0.0.1:8080", "http://127.0.0.1:8080/openapi/available-credits"),
        (MEOW_URL, "https://proxy.example/meow", "https://proxy.example/meow/openapi/available-credits"),
        (MEOW_URL, "https://proxy.example/meow/", "https://proxy.example/meow/openapi/available-credits"),
        (MEOW_URL, "http://127.0.0.1:8080/", "http://127.0.0.1:8080/openapi/available-credits"),
        (MEOW_URL, None, MEOW_URL),
        (MEOW_URL, "", MEOW_URL),
        (SMARTER_URL, "http://127.0.0.1:9", "http://127.0.0.1:9/chat/Chatbot/GetMessageCreditsUsage"),
        (SOCIA_URL, "http://localhost:1234", "http://localhost:1234/v1/credits"),
        (UNWM_URL, "http://[::1]:5000", "http://[::1]:5000/api/unwatermark/api/v1/get-credits-balance"),
        (
            UNWM_URL,
            "https://mirror.example/a/b",
            "https://mirror.example/a/b/api/unwatermark/api/v1/get-credits-balance",
        ),
    ],
)
def test_endpoint_url_joining(documented: str, base: str | None, expected: str) -> None:
    assert endpoint_url(documented, base) == expected


# --------------------------------------------------------------------------- add / remove


COMMENTED = """\
# Credit Tray settings (my own notes)
refresh_minutes = 5  # five is enough
language = "zh"

# --- work ---
[[accounts]]
id = "work"          # the company key
provider = "meowload"
thresholds = [5000, 100, 0]  # tuned by hand
"""


def test_add_account_keeps_comments_and_existing_entries(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    add_account(
        path, Account(id="home", provider_id="sociavault", label="Home vault"), write_thresholds=False
    )
    text = path.read_text("utf-8")
    for comment in (
        "# Credit Tray settings (my own notes)",
        "# five is enough",
        "# --- work ---",
        "# the company key",
        "# tuned by hand",
    ):
        assert comment in text, comment
    assert text.startswith(COMMENTED.rstrip("\n")), "existing text is untouched, the new entry appended"
    cfg = load(path)
    assert cfg.refresh_minutes == 5
    assert cfg.language == "zh"
    assert [(a.id, a.provider_id, a.label, a.problem) for a in cfg.accounts] == [
        ("work", "meowload", "MeowLoad", None),
        ("home", "sociavault", "Home vault", None),
    ]
    assert cfg.accounts[0].thresholds == (Decimal(5000), Decimal(100), Decimal(0))
    assert cfg.accounts[1].thresholds == (Decimal(1000), Decimal(100), Decimal(10), Decimal(0))


def test_add_account_writes_thresholds_base_url_and_enabled(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    account = Account(
        id="bot",
        provider_id="smarterbot",
        label="Bot",
        base_url="http://127.0.0.1:8080",
        thresholds=(Decimal(1000), Decimal("2.5"), Decimal(0)),
        enabled=False,
    )
    add_account(path, account, write_thresholds=True)
    raw = tomllib.loads(path.read_text("utf-8"))
    entry = raw["accounts"][1]
    assert entry["id"] == "bot"
    assert entry["provider"] == "smarterbot"
    assert entry["base_url"] == "http://127.0.0.1:8080"
    assert entry["enabled"] is False
    assert all(isinstance(t, int | float) and not isinstance(t, bool) for t in entry["thresholds"])
    loaded = load(path).account("bot")
    assert loaded is not None
    assert loaded.problem is None
    assert sorted(loaded.thresholds) == [Decimal(0), Decimal("2.5"), Decimal(1000)]
    assert loaded.enabled is False
    assert loaded.url == "http://127.0.0.1:8080/chat/Chatbot/GetMessageCreditsUsage"


def test_add_account_creates_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "config.toml"
    add_account(
        path, Account(id="first", provider_id="unwatermark", label="Unwatermark"), write_thresholds=False
    )
    assert path.is_file()
    cfg = load(path)
    assert [(a.id, a.provider_id, a.problem) for a in cfg.accounts] == [("first", "unwatermark", None)]
    assert cfg.refresh_minutes == 10


def test_add_account_is_atomic_rename(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    inode_before = path.stat().st_ino
    add_account(path, Account(id="home", provider_id="sociavault", label="Home"), write_thresholds=False)
    # A new file renamed into place, not the old one rewritten in place; no temp files left behind.
    assert path.stat().st_ino != inode_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_failed_write_leaves_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, COMMENTED)
    before = snapshot(tmp_path)

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        add_account(path, Account(id="home", provider_id="sociavault", label="Home"), write_thresholds=False)
    with pytest.raises(OSError, match="No space left"):
        remove_account(path, "work")
    monkeypatch.undo()
    assert snapshot(tmp_path) == before, "old content intact and no temp file left behind"


def test_add_account_to_unreadable_file_never_touches_it(tmp_path: Path) -> None:
    bad = b'refresh_minutes = 10\n[[accounts]\nid = "x"\n'
    path = write(tmp_path, bad)
    with pytest.raises(ConfigFileError):
        add_account(path, Account(id="home", provider_id="sociavault", label="Home"), write_thresholds=False)
    with pytest.raises(ConfigFileError):
        remove_account(path, "x")
    assert snapshot(tmp_path) == {"config.toml": bad}

    not_utf8 = b'# caf\xe9\n[[accounts]]\nid = "x"\nprovider = "meowload"\n'
    path.write_bytes(not_utf8)
    with pytest.raises(ConfigFileError):
        add_account(path, Account(id="home", provider_id="sociavault", label="Home"), write_thresholds=False)
    assert snapshot(tmp_path) == {"config.toml": not_utf8}


def test_remove_account_keeps_comments_and_others(tmp_path: Path) -> None:
    path = write(
        tmp_path, COMMENTED + '\n# --- home ---\n[[accounts]]\nid = "home"\nprovider = "sociavault"\n'
    )
    assert remove_account(path, "home") is True
    text = path.read_text("utf-8")
    for comment in (
        "# Credit Tray settings (my own notes)",
        "# five is enough",
        "# the company key",
        "# tuned by hand",
    ):
        assert comment in text, comment
    assert '"home"' not in text
    cfg = load(path)
    assert [a.id for a in cfg.accounts] == ["work"]
    assert cfg.accounts[0].thresholds == (Decimal(5000), Decimal(100), Decimal(0))
    assert cfg.refresh_minutes == 5


def test_remove_first_of_two_keeps_the_second(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED + '\n[[accounts]]\nid = "home"  # my own\nprovider = "sociavault"\n')
    assert remove_account(path, "work") is True
    text = path.read_text("utf-8")
    assert "# Credit Tray settings (my own notes)" in text
    assert "# my own" in text
    assert [(a.id, a.provider_id) for a in load(path).accounts] == [("home", "sociavault")]


def test_remove_unknown_account_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    before = snapshot(tmp_path)
    assert remove_account(path, "nobody") is False
    assert snapshot(tmp_path) == before


def test_remove_from_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert remove_account(path, "nobody") is False
    assert not path.exists()


def test_remove_last_account_leaves_valid_file(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    assert remove_account(path, "work") is True
    text = path.read_text("utf-8")
    tomllib.loads(text)  # still valid TOML
    assert "# Credit Tray settings (my own notes)" in text
    assert "# five is enough" in text
    cfg = load(path)
    assert cfg.accounts == ()
    assert cfg.refresh_minutes == 5
    assert cfg.language == "zh"
    # And accounts can be added again afterwards.
    add_account(path, Account(id="again", provider_id="meowload", label="Again"), write_thresholds=False)
    assert [a.id for a in load(path).accounts] == ["again"]


def test_add_then_remove_round_trip_restores_text(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    add_account(path, Account(id="tmp", provider_id="unwatermark", label="Tmp"), write_thresholds=True)
    assert remove_account(path, "tmp") is True
    assert path.read_text("utf-8").rstrip("\n") == COMMENTED.rstrip("\n")


def test_existing_file_permissions_kept(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    path.chmod(0o640)
    add_account(path, Account(id="home", provider_id="sociavault", label="Home"), write_thresholds=False)
    assert path.stat().st_mode & 0o777 == 0o640


def test_module_exposes_config_file_error_with_path_and_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "language = 'fr'\n")
    error = file_error(path)
    assert isinstance(error, config_module.ConfigFileError)
    assert error.path == path
    assert error.problem
    assert "language" in error.problem
