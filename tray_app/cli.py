"""The ``credit-tray`` command: the tray app with no arguments, scripting commands otherwise.

Exit codes follow sysexits and, for ``check``, the monitoring-plugin convention:
0 ok, 1 low, 2 exhausted, 3 could not check (or nothing to check); 1 also for a
cancelled key prompt; 64 usage, 65 bad data, 66 config file named with --config not
found, 69 keyring unavailable, 70 internal error, 75 config busy (another writer), 78
unreadable or unwritable config. Errors are one line on
stderr, never a traceback, never a key.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import locale
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from tray_app import APP_ID, cli_history, i18n, paths, texts
from tray_app.columns import display_width, table, wrap
from tray_app.config import (
    ID_PATTERN,
    Account,
    Config,
    ConfigBusy,
    ConfigFileError,
    ConfigWriteError,
    add_account,
    base_url_problem,
    default_base_url,
    load,
    parse_thresholds,
    read_bytes,
    remove_account,
    suggest_id,
    unique_label,
)
from tray_app.engine import Engine, RefreshReport
from tray_app.hardening import forbid_core_dumps
from tray_app.history import HistoryError
from tray_app.i18n import N_, _, ngettext
from tray_app.instance import tell_keys_changed
from tray_app.keys import KeyStore, KeyUnavailable, key_problem
from tray_app.model import AccountResult, AccountState, ErrorKind
from tray_app.providers import BUILT_INS, PRESETS, PROVIDERS, get_provider, provider_for
from tray_app.providers.custom import (
    CUSTOM_ID,
    SCHEMA,
    CustomSpec,
    SpecError,
    spec_from_table,
    spec_to_table,
    spec_to_toml,
)
from tray_app.safetext import for_terminal, hide_keys, looks_like_key, text_problem
from tray_app.texts import json_number as number
from tray_app.texts import json_time as iso

EX_OK, EX_LOW, EX_EXHAUSTED, EX_UNKNOWN = 0, 1, 2, 3
EX_CANCELLED = 1
EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_UNAVAILABLE, EX_SOFTWARE, EX_TEMPFAIL, EX_CONFIG = 64, 65, 66, 69, 70, 75, 78
#: The reader of our output went away: 128 + SIGPIPE, what a shell reports for a tool that signal stopped.
EX_BROKEN_PIPE = 141
CHECK_FORMATS = ("table", "json", "prometheus", "nagios", "waybar")

#: argparse's own words (it looks them up through ``argparse._``, pointed at our catalogue by
#: ``main``): declared here so they are extracted and translated with ours. The msgids are
#: argparse's (Python 3.11), placeholders and all; the ones our parser cannot produce are left out.
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("show program's version number and exit"), N_("argument %(argument_name)s: %(message)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"), N_("unrecognized arguments: %s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"),
    N_("the following arguments are required: %s"), N_("one of the arguments %s is required"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"), N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
)


class UsageError(Exception):
    pass


class KeyEntryCancelled(Exception):
    """Ctrl-D (or Ctrl-C) at the hidden key prompt."""


def _seconds(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a number of seconds").format(value=text)) from None
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(_("{value!r} must be more than 0 and less than a day").format(value=text))
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but bad usage is two lines on stderr and exit status 64."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes what was typed ("unrecognized arguments: --key=sk-…"): a key pasted on the
        # command line must not be printed back (into a terminal's scrollback, a CI log).
        usage = " ".join(self.format_usage().split())
        error = _("{program}: error: {problem}").format(program=self.prog, problem=for_terminal(hide_keys(message)))
        sys.stderr.write(f"{usage}\n{error}\n")
        raise SystemExit(EX_USAGE)


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped by the columns text takes on screen (a Chinese character takes two)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap(text, width - display_width(indent)))

    def _format_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None) -> str:
        # argparse indents the usage's continuation lines by len(prefix): laid out with blanks as wide
        # as "用法：" on screen, then the words put in their place, the lines stay under each other.
        words = _("usage: ") if prefix is None else prefix
        blanks = " " * display_width(words)
        text = super()._format_usage(usage, actions, groups, blanks)
        return words + text[len(blanks):] if text.startswith(blanks) else text

    class _Section(argparse.HelpFormatter._Section):
        """A section whose heading ends as the language ends one ("options:", "选项：")."""

        def format_help(self) -> str:
            text: str = super().format_help()
            heading = self.heading
            if heading and heading is not argparse.SUPPRESS and f"{heading}:\n" in text:
                # TRANSLATORS: a heading in --help, such as "options:".
                text = text.replace(f"{heading}:\n", _("{heading}:").format(heading=heading) + "\n", 1)
            return text


class _VersionAction(argparse.Action):
    """``--version``, with the version looked up only when asked for (see ``tray_app.__getattr__``)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help=_("show program's version number and exit"))

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from tray_app import __version__

        sys.stdout.write(f"{APP_ID} {__version__}\n")
        parser.exit()


def _default_config_text() -> str:
    """'~/.config/…' for a path under the home folder: shorter, so help does not wrap it mid-path."""
    try:
        path = paths.config_file()
    except paths.NoHome:  # said as one clear line when a command needs the path, not while building --help
        return _("the config folder of your home")
    try:
        return f"~/{path.relative_to(Path.home())}"
    except (ValueError, RuntimeError):
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=APP_ID, formatter_class=_HelpFormatter,
                     description=_("Prepaid API credit balances in your system tray. With no command, starts the "
                                   "tray app; with a command, does that and exits."))
    parser.add_argument("--config", type=Path, metavar="PATH", default=None,
                        help=_("config file (default: {path})").format(path=_default_config_text()))
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--demo", action="store_true",
                        help=_("run the tray with demo accounts (no keys, no network)"))
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    def command(container: Any, name: str, help_text: str, **options: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = container.add_parser(name, help=help_text, formatter_class=_HelpFormatter,
                                                               **options)
        return parser

    check = command(commands, "check", _("check balances once and print them"))
    check.add_argument("--json", action="store_true", help=_("print one JSON object (same as --format json)"))
    check.add_argument("--format", choices=CHECK_FORMATS, default=None,
                       help=_("table (default), json, prometheus (text exposition), nagios (plugin output) "
                              "or waybar (status-bar JSON)"))
    check.add_argument("--output", type=Path, metavar="FILE",
                       help=_("write the output to FILE atomically instead of printing it "
                              "(e.g. for node_exporter's textfile collector)"))
    check.add_argument("-w", "--warning", metavar="RANGE",
                       help=_("nagios: warning range replacing the accounts' levels, e.g. 2000:"))
    check.add_argument("-c", "--critical", metavar="RANGE",
                       help=_("nagios: critical range replacing running out (@~:0), e.g. 100:"))
    check.add_argument("--account", action="append", metavar="ID", help=_("only this account (repeatable)"))
    check.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                       help=_("the whole run's time limit; accounts that have not answered by then are reported "
                              "as 'timeout' (default: up to 30 s per account)"))

    serve = command(commands, "serve", _("serve Prometheus metrics (/metrics, /healthz) for servers; no GUI"))
    serve.add_argument("--listen", metavar="HOST:PORT",
                       help=_("address to listen on (default: 127.0.0.1:9731, this machine only)"))

    accounts = command(commands, "accounts", _("list, add or remove accounts"))
    accounts_sub = accounts.add_subparsers(dest="action", parser_class=_Parser, metavar="ACTION", required=True)
    listing = command(accounts_sub, "list", _("list the configured accounts"))
    listing.add_argument("--json", action="store_true")
    add = command(accounts_sub, "add", _("add an account"))
    add.add_argument("provider", metavar="PROVIDER",
                     help=_("one of: {providers}").format(providers=", ".join([*PROVIDERS, CUSTOM_ID])))
    add.add_argument("--id", help=_("a unique slug, e.g. meow-main (default: made from the provider and label)"))
    add.add_argument("--label",
                     help=_("the name shown in the tray (default: the provider's name, numbered if taken)"))
    add.add_argument("--base-url", metavar="URL", help=_("mirror or proxy replacing scheme, host and port"))
    add.add_argument("--thresholds", metavar="N,N,...", help=_("alert thresholds, e.g. 1000,100,0"))
    add.add_argument("--from", dest="from_file", type=Path, metavar="FILE",
                     help=_("custom: a TOML file with the provider's fields (see docs/providers/custom.md)"))
    custom = add.add_argument_group(_("custom provider fields (override --from)"))
    for spec_field in SCHEMA:
        if spec_field.name != "thresholds":
            custom.add_argument(f"--{spec_field.name.replace('_', '-')}", dest=f"custom_{spec_field.name}",
                                metavar=spec_field.kind.upper(), help=_(spec_field.help).replace("%", "%%"))
    remove = command(accounts_sub, "remove", _("remove an account and its key"))
    remove.add_argument("id", metavar="ID")

    key = command(commands, "key", _("store or delete an account's API key in the OS keyring"))
    key_sub = key.add_subparsers(dest="action", parser_class=_Parser, metavar="ACTION", required=True)
    key_set = command(
        key_sub, "set", _("store an account's key: typed at a hidden prompt, or read from standard input"),
        description=_("Store an account's API key in the OS keyring. On a terminal the key is typed at a "
                      "hidden prompt; otherwise it is read from standard input (e.g. a pipe). It is never "
                      "taken from the command line, where other users and the shell history could see it."))
    key_set.add_argument("id", metavar="ID")
    # Catch a key typed after the id, so the usage error never echoes it back.
    key_set.add_argument("typed", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    key_delete = command(key_sub, "delete", _("delete the stored key"))
    key_delete.add_argument("id", metavar="ID")

    autostart = command(commands, "autostart", _("start the tray at login: on, off or status"))
    autostart.add_argument("state", choices=("on", "off", "status"))

    cli_history.add_parser(commands, formatter_class=_HelpFormatter)

    providers = command(commands, "providers", _("list the built-in providers and presets, or show one"))
    providers.add_argument("id", nargs="?", metavar="ID",
                           help=_("show a preset's fields as an [accounts.custom] table"))
    providers.add_argument("--json", action="store_true")
    return parser


# --------------------------------------------------------------------------- formatting

def grouped(value: Decimal) -> str:
    """Digits grouped as the user's locale does it (plain C locale: a comma)."""
    try:
        conventions = locale.localeconv()
        separator, point = conventions["thousands_sep"] or ",", conventions["decimal_point"] or "."
    except locale.Error:
        separator, point = ",", "."
    return texts.readable_number(value, separator, point)


def result_json(result: AccountResult) -> dict[str, Any]:
    reading, error, usage = result.reading, result.error, result.usage
    return {
        "id": result.account_id,
        "provider": result.provider_id,
        "label": result.label,
        "state": str(result.state),
        "remaining": number(reading.remaining) if reading else None,
        "used": number(reading.used) if reading else None,
        "total": number(reading.total) if reading else None,
        "unlimited": bool(reading and reading.unlimited),
        "unit": reading.unit if reading else result.unit,
        "balances": balances_json(result),
        "resets_at": iso(reading.resets_at) if reading else None,
        "subscription": (
            {"status": reading.subscription_status, "id": reading.subscription_id}
            if reading and reading.subscription_status is not None else None
        ),
        "threshold": number(result.threshold),
        "error": (
            {"kind": str(error.kind), "message": error.message, "http_status": error.http_status}
            if error else None
        ),
        "fetched_at": iso(reading.fetched_at) if reading else None,
        "usage_per_day": round(usage.per_day, 2) if usage and usage.per_day is not None else None,
        "runs_out_at": iso(usage.runs_out_at) if usage and usage.runs_out_at else None,
    }


def balances_json(result: AccountResult) -> list[dict[str, Any]]:
    """Every balance with its unit; amounts in different units are listed, never added."""
    reading = result.reading
    if reading is None:
        return []
    if reading.balances:
        return [{"unit": b.unit, "remaining": number(b.remaining)} for b in reading.balances]
    return [{"unit": reading.unit, "remaining": number(reading.remaining)}] if reading.remaining is not None else []


def detail_text(result: AccountResult) -> str:
    if result.error:
        error = result.error
        if error.kind in (ErrorKind.NO_KEY, ErrorKind.CONFIG):  # the message says it all, with what to do
            detail = texts.error_detail(error)
        else:
            kind = texts.rate_limited_until(error) or texts.ERROR_KIND_WORDS[error.kind]
            # TRANSLATORS: a failed check in the table: what went wrong, then the provider's own message.
            detail = _("{kind}: {message}").format(kind=kind, message=error.message)
        # TRANSLATORS: the balance shown is the one read before this failure.
        return _("{detail} (last known balance)").format(detail=detail) if result.reading else detail
    if result.state is AccountState.LOW and result.threshold is not None:
        # TRANSLATORS: a low balance's detail: it fell below this alert level.
        return _("below {amount}").format(amount=grouped(result.threshold))
    return ""


def exit_status(report: RefreshReport) -> int:
    states = {r.state for r in report.results}
    if AccountState.EXHAUSTED in states:
        return EX_EXHAUSTED
    if AccountState.ERROR in states:
        return EX_UNKNOWN
    if AccountState.LOW in states:
        return EX_LOW
    return EX_OK


# --------------------------------------------------------------------------- commands

def _require_account(config: Config, account_id: str) -> Account:
    account = config.account(account_id)
    if account is None:
        if looks_like_key(account_id):
            # Probably a key pasted where the id goes: say so without repeating it.
            raise UsageError(_("no such account in {path} (what was given looks like an API key, so it is not "
                               "repeated here; keys are read from standard input by '{program} key set ID')")
                             .format(path=config.path, program=APP_ID))
        raise UsageError(_("no account with id {id!r} in {path}").format(id=account_id, path=config.path))
    return account


def _check_format(args: argparse.Namespace) -> str:
    if args.json and args.format not in (None, "json"):
        raise UsageError(_("--json and --format are two ways to choose one format; give one"))
    fmt: str = "json" if args.json else args.format or "table"
    if (args.warning is not None or args.critical is not None) and fmt != "nagios":
        raise UsageError(_("-w/--warning and -c/--critical go with --format nagios"))
    return fmt


def _nagios_ranges(args: argparse.Namespace) -> tuple[Any, Any]:
    from tray_app import nagios

    try:
        warning = nagios.parse_range(args.warning) if args.warning is not None else None
        critical = nagios.parse_range(args.critical) if args.critical is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return warning, critical


def render_report(fmt: str, args: argparse.Namespace, config: Config, report: RefreshReport) -> tuple[str, int]:
    """The text ``check`` prints in ``fmt``, and its exit status."""
    status = exit_status(report)
    if fmt == "json":
        payload = {"checked_at": iso(report.checked_at), "accounts": [result_json(r) for r in report.results]}
        return json.dumps(payload, ensure_ascii=False, indent=2), status if report.results else EX_UNKNOWN
    if fmt == "prometheus":
        from tray_app import metrics

        return metrics.render(config, report.results).decode("utf-8").rstrip("\n"), status
    if fmt == "nagios":
        from tray_app import nagios

        warning, critical = _nagios_ranges(args)

        def levels(account_id: str) -> tuple[Decimal, ...]:
            account = config.account(account_id)
            return account.thresholds if account else ()

        return nagios.output(report.results, levels, warning, critical)
    if fmt == "waybar":
        from tray_app import waybar

        # A status bar hides a module whose command fails, so the state travels in "class", not the exit status.
        return json.dumps(waybar.payload(report.results), ensure_ascii=False), EX_OK
    if not report.results:
        why = _nothing_to_check(config)
        return f"{why[0].upper()}{why[1:]}", EX_UNKNOWN
    labels = texts.labels([(r.account_id, r.label) for r in report.results])
    rows = [[labels[r.account_id],
             PROVIDERS[r.provider_id].name if r.provider_id in PROVIDERS else r.provider_id or "?",
             texts.STATE_WORDS[r.state], texts.balance(r, grouped), detail_text(r)] for r in report.results]
    headers = [_("ACCOUNT"), _("PROVIDER"), _("STATE"), _("BALANCE"), _("DETAIL")]
    return table(headers, rows, right=(3,)), status


def cmd_check(args: argparse.Namespace, config: Config, engine: Engine) -> int:
    fmt = _check_format(args)
    if fmt == "nagios":
        _nagios_ranges(args)  # bad ranges are a usage error before anything is fetched
        # The plugin line is parsed by Nagios/Icinga and read in its web page: the same words in every
        # language, the messages made during the fetch included.
        i18n.use_setting("en")
    if args.account:
        for account_id in args.account:
            _require_account(config, account_id)
    accounts = engine.select(config, args.account)

    async def run() -> RefreshReport:
        engine.set_budget(args.timeout)
        try:
            return await engine.refresh(config, accounts)
        finally:
            await engine.aclose()

    import asyncio  # here: no other command needs it

    report = asyncio.run(run())
    if report.save_error:
        sys.stderr.write(_warning(report.save_error) + "\n")
    text, status = render_report(fmt, args, config, report)
    if not report.results and fmt == "json":
        sys.stderr.write(f"{APP_ID}: {_nothing_to_check(config)}\n")
    if args.output is not None:
        from tray_app.fileio import atomic_write

        # node_exporter reads the textfile as another user; the other formats stay private.
        atomic_write(args.output, (text + "\n").encode("utf-8"), mode=0o644 if fmt == "prometheus" else 0o600)
    else:
        print(text)
    return status


def _nothing_to_check(config: Config) -> str:
    """Why a check checked nothing: monitoring must see UNKNOWN, not OK, and a person must see why."""
    if config.accounts:
        return ngettext("nothing to check: the one account in {path} is disabled "
                        "(name it with --account ID, or enable it)",
                        "nothing to check: all {count} accounts in {path} are disabled "
                        "(name one with --account ID, or enable it)",
                        len(config.accounts)).format(count=len(config.accounts), path=config.path)
    return _("nothing to check: no accounts in {path}; add one with: {program} accounts add PROVIDER").format(
        path=config.path, program=APP_ID)


def _warning(problem: object) -> str:
    """'credit-tray: warning: …', one line for stderr."""
    return _("{program}: warning: {problem}").format(program=APP_ID, problem=problem)


def _error(problem: object) -> str:
    """'credit-tray: error: …', one line for stderr."""
    return _("{program}: error: {problem}").format(program=APP_ID, problem=problem)


def cmd_history(args: argparse.Namespace, config: Config, engine: Engine) -> int:
    account = _require_account(config, args.id)
    try:
        cli_history.parse_since(args.since)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    provider = account.provider
    title = f"{provider.name if provider else account.provider_id} · {account.label}" if provider and \
        account.label not in ("", provider.name) else (provider.name if provider else account.id)
    try:
        return cli_history.run(args, engine.history, title=title, unit=provider.unit if provider else "credits",
                               fmt=grouped)
    except HistoryError as exc:
        sys.stderr.write(_("{program}: cannot read the history: {problem}").format(program=APP_ID, problem=exc)
                         + "\n")
        return EX_UNAVAILABLE


def _has_key(keys: KeyStore, account: Account) -> bool | None:
    """Whether a usable key is stored (None: the keyring cannot tell); a key file must also be private."""
    if account.key_file:
        try:
            keys.read_file(account.id, Path(account.key_file))
        except KeyUnavailable:
            return False
        return True
    try:
        return keys.get(account.id) is not None
    except KeyUnavailable:
        return None


def cmd_accounts(args: argparse.Namespace, config: Config, engine: Engine) -> int:
    if args.action == "list":
        return _accounts_list(args, config, engine)
    if args.action == "add":
        return _accounts_add(args, config)
    account = _require_account(config, args.id)
    # The key goes first: if anything after it fails, the account is still listed (with no key)
    # and can be removed again; the other way round, a key was left that no command could reach.
    try:
        engine.keys.delete(account.id)
        tell_keys_changed(account.id)
    except KeyUnavailable as exc:
        print(_("{program}: {id} was not removed, because its key could not be deleted: {problem}").format(
            program=APP_ID, id=account.id, problem=exc), file=sys.stderr)
        return EX_UNAVAILABLE
    try:
        remove_account(config.path, account.id)
    except ConfigWriteError as exc:
        print(_error(_("deleted the key of {id}, but could not remove the account from {path}: {reason}; "
                       "run this again once that is fixed").format(id=account.id, path=exc.path, reason=exc.reason)),
              file=sys.stderr)
        return EX_TEMPFAIL if isinstance(exc, ConfigBusy) else EX_CONFIG
    try:
        engine.forget(account.id)
    except HistoryError as exc:  # only old readings are left behind: the removal itself is done
        print(_warning(_("could not forget the history of {id}: {problem}").format(id=account.id, problem=exc)),
              file=sys.stderr)
    print(_("Removed {id} and its key.").format(id=account.id))
    return EX_OK


def _accounts_list(args: argparse.Namespace, config: Config, engine: Engine) -> int:
    entries: list[dict[str, Any]] = []
    for account in config.accounts:
        provider = account.provider
        entries.append({
            "id": account.id,
            "provider": account.provider_id,
            "label": account.label,
            "base_url": account.base_url or (default_base_url(provider) if provider else None),
            "thresholds": [number(t) for t in account.thresholds],
            "enabled": account.enabled,
            "has_key": _has_key(engine.keys, account) if account.problem is None else None,
            "key_file": account.key_file,
            "problem": account.problem,
            "custom": spec_to_table(account.custom) if account.custom else None,
        })
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return EX_OK
    if not entries:
        print(_("No accounts in {path}. Add one with: {program} accounts add PROVIDER").format(
            path=config.path, program=APP_ID))
        return EX_OK
    answers = {True: _("yes"), False: _("no"), None: "?"}
    rows = [[e["id"], e["provider"], e["label"], answers[bool(e["enabled"])], answers[e["has_key"]],
             " / ".join(grouped(Decimal(str(t))) for t in e["thresholds"]),
             e["problem"] or e["base_url"] or ""] for e in entries]
    headers = ["ID", _("PROVIDER"), _("LABEL"), _("ENABLED"), _("KEY"), _("THRESHOLDS"), _("URL / PROBLEM")]
    print(table(headers, rows))
    return EX_OK


def _custom_spec(args: argparse.Namespace) -> CustomSpec | None:
    """The custom definition from --from FILE and the field flags, or None for any other provider."""
    flags = {f.name: getattr(args, f"custom_{f.name}") for f in SCHEMA
             if getattr(args, f"custom_{f.name}", None) is not None}
    if args.provider != CUSTOM_ID:
        if args.from_file is not None or flags:
            raise UsageError(_("--from and the custom fields are for '{custom}' only (a preset's fields are "
                               "fixed: 'accounts add {custom}' with the fields of '{program} providers ID')")
                             .format(custom=CUSTOM_ID, program=APP_ID))
        return None
    table: dict[str, Any] = {}
    if args.from_file is not None:
        table = _read_custom_file(args.from_file)
    table.update(flags)
    try:
        return spec_from_table(table)
    except SpecError as exc:
        raise UsageError(_("{problem}; nothing added").format(problem=exc)) from None


def _read_custom_file(path: Path) -> dict[str, Any]:
    try:
        raw = read_bytes(path)
    except ConfigFileError as exc:
        # TRANSLATORS: {problem} is one of the config file's problems, e.g. "is a directory, not a file".
        raise UsageError(_("{path} {problem}").format(path=for_terminal(str(path)), problem=exc.problem)) from None
    if raw is None:
        raise UsageError(_("{path} does not exist").format(path=for_terminal(str(path))))
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UsageError(_("{path} is not a TOML file: {problem}").format(path=for_terminal(str(path)),
                                                                         problem=exc)) from None
    # The file may be the fields alone, or a config snippet with an [accounts.custom] or [custom] table.
    accounts = data.get("accounts")
    if isinstance(accounts, dict) and isinstance(accounts.get("custom"), dict):
        return dict(accounts["custom"])
    if isinstance(data.get("custom"), dict):
        return dict(data["custom"])
    return data


def _accounts_add(args: argparse.Namespace, config: Config) -> int:
    spec = _custom_spec(args)
    provider = get_provider(args.provider) if spec is None else provider_for(CUSTOM_ID, spec)
    if provider is None:
        known = ", ".join([*PROVIDERS, CUSTOM_ID])
        if looks_like_key(args.provider):
            raise UsageError(_("unknown provider (it looks like an API key, so it is not repeated here) "
                               "(known: {known})").format(known=known))
        raise UsageError(_("unknown provider {provider!r} (known: {known})").format(provider=args.provider,
                                                                                   known=known))
    taken_labels = {a.label for a in config.accounts}
    label = args.label.strip() if args.label and args.label.strip() else unique_label(provider.name, taken_labels)
    if args.id is None:  # as Settings does: made from the provider and the label, unique
        args.id = suggest_id(provider.id, label, {a.id for a in config.accounts})
    if not ID_PATTERN.fullmatch(args.id):
        if looks_like_key(args.id):
            raise UsageError(_("the id (it looks like an API key, so it is not repeated here) must be a slug of "
                               "lower-case letters, digits, '-' and '_'"))
        raise UsageError(_("id {id!r} must be a slug of lower-case letters, digits, '-' and '_'").format(id=args.id))
    if args.label is not None and (problem := text_problem(_("the label"), args.label)):
        raise UsageError(_("{problem}; nothing added").format(problem=problem))
    if config.account(args.id) is not None:
        raise UsageError(_("id {id!r} is already in use").format(id=args.id))
    if args.base_url is not None and spec is not None:
        raise UsageError(_("a custom provider has no --base-url: its --url is the whole address"))
    if args.base_url is not None and (problem := base_url_problem(args.base_url)):
        raise UsageError(problem)
    thresholds = provider.thresholds
    if args.thresholds is not None:
        try:
            thresholds = parse_thresholds([t for t in args.thresholds.split(",") if t.strip()], from_text=True)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    account = Account(id=args.id, provider_id=provider.id, label=label, base_url=args.base_url,
                      thresholds=thresholds, custom=spec)
    try:
        add_account(config.path, account, write_thresholds=args.thresholds is not None)
    except ValueError as exc:  # the id was taken by another writer since we read the config
        raise UsageError(str(exc)) from None
    print(_("Added {id} ({provider}, “{label}”) to {path}.").format(id=args.id, provider=provider.name, label=label,
                                                                    path=config.path))
    print(_("Now store its key: {program} key set {id}").format(program=APP_ID, id=args.id))
    return EX_OK


def _read_key() -> str:
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        try:
            return getpass.getpass(_("API key (not shown): "))
        except EOFError:  # Ctrl-D at the prompt: the user changed their mind
            raise KeyEntryCancelled from None
    return sys.stdin.read()


def cmd_key(args: argparse.Namespace, config: Config, engine: Engine) -> int:
    if getattr(args, "typed", None):
        raise UsageError(_("the key is read from standard input, never from the command line; nothing stored"))
    if args.action == "set":
        account = _require_account(config, args.id)
        key = _read_key().strip()
        if not key:
            print(_("{program}: no key on standard input; nothing stored").format(program=APP_ID), file=sys.stderr)
            return EX_DATAERR
        if any(ch in key for ch in "\r\n\0"):
            print(_("{program}: the key has more than one line; nothing stored").format(program=APP_ID),
                  file=sys.stderr)
            return EX_DATAERR
        if problem := key_problem(key):
            print(_("{program}: not an API key: {problem}; copy it again; nothing stored").format(
                program=APP_ID, problem=problem), file=sys.stderr)
            return EX_DATAERR
        engine.keys.set(account.id, key)
        tell_keys_changed(account.id)
        print(_("Stored the key for {id} in the keyring.").format(id=account.id))
        return EX_OK
    # No account needed: a key left behind by an account removed earlier must be reachable too.
    if not ID_PATTERN.fullmatch(args.id):
        _require_account(config, args.id)  # not an id at all: say so as for any unknown account
    # An id not in the config is not repeated: it may be a key pasted in the wrong place.
    known = config.account(args.id) is not None
    deleted = engine.keys.delete(args.id)
    if known:
        tell_keys_changed(args.id)  # a running tray knows only configured ids
        said = _("Deleted the key for {id}.") if deleted else _("No key was stored for {id}.")
    else:
        said = _("Deleted the key for that id (not in the config).") if deleted \
            else _("No key was stored for that id (not in the config).")
    print(said.format(id=args.id))
    return EX_OK


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    from tray_app import serve

    try:
        serve.parse_listen(args.listen or serve.DEFAULT_LISTEN)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    # Its own alert memory ("serve"): its hooks never use up an alert the tray has not shown.
    return serve.serve(Engine(config.path, notifier="serve"), config, args.listen)


def cmd_providers(args: argparse.Namespace) -> int:
    if args.id is not None:
        return _show_preset(args)
    entries: list[dict[str, Any]] = [{"id": p.id, "name": p.name, "kind": "built-in" if p.id in BUILT_INS else "preset",
                "base_url": default_base_url(p), "unit": p.unit,
                "thresholds": [number(t) for t in p.thresholds], "top_up_url": p.top_up_url,
                "documentation": PRESETS[p.id].documentation if p.id in PRESETS else None}
               for p in PROVIDERS.values()]
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        rows = [[e["id"], e["name"], _(PROVIDER_KINDS[e["kind"]]), texts.unit_name(e["unit"]),
                 " / ".join(grouped(Decimal(str(t))) for t in e["thresholds"]), e["top_up_url"]] for e in entries]
        rows.append([CUSTOM_ID, _("Any JSON endpoint"), _(PROVIDER_KINDS[CUSTOM_ID]), _("any"), "",
                     "docs/providers/custom.md"])
        print(table(["ID", _("NAME"), _("KIND"), _("UNIT"), _("THRESHOLDS"), _("TOP UP")], rows))
    return EX_OK


#: The providers table's KIND column (the JSON keeps the English word).
PROVIDER_KINDS = {"built-in": N_("built-in"), "preset": N_("preset"), CUSTOM_ID: N_("custom")}


def _show_preset(args: argparse.Namespace) -> int:
    """A preset's fields, ready to copy into a custom provider (and to see how it works)."""
    spec = PRESETS.get(args.id)
    if spec is None:
        known = _("{id!r} is built-in, with no fields to show (presets: {presets})") if args.id in BUILT_INS \
            else _("{id!r} is not a preset (presets: {presets})")
        raise UsageError(known.format(id=args.id, presets=", ".join(PRESETS)))
    if args.json:
        print(json.dumps(spec_to_table(spec), ensure_ascii=False, indent=2))
    else:
        print(_("# {name}: what the '{id}' preset does, as a custom provider would say it.").format(
            name=spec.name, id=args.id))
        print(_("# Source: {url}").format(url=spec.documentation))
        print(spec_to_toml(spec), end="")
    return EX_OK


def cmd_autostart(args: argparse.Namespace) -> int:
    from tray_app.autostart import Autostart

    autostart = Autostart()
    if args.state == "on":
        autostart.enable()
    elif args.state == "off":
        autostart.disable()
    said = _("Start at login: on ({location})") if autostart.enabled() else _("Start at login: off ({location})")
    print(said.format(location=autostart.location))
    return EX_OK


def start_tray(args: argparse.Namespace) -> int:
    # Where the files go, before anything starts: with no home known this is one clear line (NoHome).
    if args.config is None:
        paths.config_file()
    paths.data_dir()
    paths.log_dir()
    try:
        from tray_app.ui.app import run
    except ImportError:
        print(_("{program}: the tray app is not part of this build yet; use '{program} check'.").format(
            program=APP_ID))
        return EX_OK
    return run(config_path=args.config, demo=args.demo)


def _creates_config(args: argparse.Namespace) -> bool:
    """``accounts add`` is how a new config file at a chosen path comes to be."""
    return bool(args.command == "accounts" and args.action == "add")


def _language_setting(argv: Sequence[str]) -> str:
    """The config's ``language`` before the arguments are parsed: the config is named by ``--config``
    (or is the default one); "auto" (the locale) when there is none or it cannot be read."""
    path: Path | None = None
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            path = Path(argv[index + 1])
        elif arg.startswith("--config="):
            path = Path(arg.removeprefix("--config="))
        elif not arg.startswith("-"):
            break  # the command: what follows is its own
    try:
        raw = read_bytes(path or paths.config_file())
        setting = tomllib.loads(raw.decode("utf-8")).get("language", "auto") if raw else "auto"
    except Exception:  # a config that cannot be read says so itself, once loaded
        return "auto"
    return setting if isinstance(setting, str) else "auto"


def main(argv: Sequence[str] | None = None) -> int:
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_ALL, "")
    # argparse looks its words up through its module's ``_``/``ngettext`` (gettext's, with its own
    # domain): pointed at our catalogue, "usage:" and its errors follow the same setting as ours.
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
    # --help and usage errors come before the config is loaded: they speak the language its
    # ``language`` setting names too, looked up on the side ("auto" when it cannot be told).
    spoken = i18n.use_setting(_language_setting(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "check", "accounts", "key"):
        forbid_core_dumps()  # these read keys (the tray, Settings, has_key, key set): no core file may hold one
    try:
        if args.config is not None and not args.demo and not _creates_config(args) and not args.config.exists():
            sys.stderr.write(_("{program}: config file not found: {path}").format(program=APP_ID, path=args.config)
                             + "\n")
            return EX_NOINPUT
        if args.command is None:
            return start_tray(args)
        # What goes wrong reaches the user through the command's own words; without a handler, Python's
        # last-resort one would print every logged error on stderr a second time.
        logging.getLogger().addHandler(logging.NullHandler())
        config_path = args.config or paths.config_file()
        config = load(config_path)
        if i18n.use_setting(config.language) != spoken:
            config = load(config_path)  # again, so its problems and warnings are in the language it asks for
        for warning in config.warnings:
            sys.stderr.write(_warning(warning) + "\n")
        if args.command == "providers":
            return cmd_providers(args)
        if args.command == "autostart":
            return cmd_autostart(args)
        if args.command == "serve":
            return cmd_serve(args, config)
        engine = Engine(config_path)
        handler = {"check": cmd_check, "accounts": cmd_accounts, "key": cmd_key, "history": cmd_history}[args.command]
        return handler(args, config, engine)
    except UsageError as exc:
        sys.stderr.write(_error(for_terminal(str(exc))) + "\n")
        return EX_USAGE
    except KeyEntryCancelled:
        sys.stderr.write("\n" + _("{program}: no key entered; nothing stored").format(program=APP_ID) + "\n")
        return EX_CANCELLED
    except ConfigFileError as exc:
        sys.stderr.write(_("{program}: config error: {problem}").format(program=APP_ID,
                                                                        problem=for_terminal(str(exc))) + "\n")
        return EX_CONFIG
    except ConfigWriteError as exc:
        sys.stderr.write(_error(exc) + "\n")
        return EX_TEMPFAIL if isinstance(exc, ConfigBusy) else EX_CONFIG
    except KeyUnavailable as exc:
        sys.stderr.write(f"{APP_ID}: {exc}\n")
        return EX_UNAVAILABLE
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, as other command-line tools do, and keep Python's
        # final flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EX_BROKEN_PIPE
    except OSError as exc:
        where = for_terminal(str(exc.filename or ""))
        sys.stderr.write(f"{APP_ID}: {exc.strerror or type(exc).__name__}: {where}".rstrip() + "\n")
        return EX_CONFIG if exc.filename and str(exc.filename).endswith(".toml") else EX_SOFTWARE
    except paths.NoHome as exc:
        sys.stderr.write(_error(exc) + "\n")
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        sys.stderr.write(_("{program}: internal error ({error}); please report it").format(
            program=APP_ID, error=type(exc).__name__) + "\n")
        return EX_SOFTWARE


def main_gui() -> int:
    return main([])
