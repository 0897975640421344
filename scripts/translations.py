"""Credit Tray's two catalogues: extract, compile and check them.

    python scripts/translations.py update    # new strings from the code into i18n/*.po and i18n/*.ts
    python scripts/translations.py compile   # i18n/ -> resources/i18n/*.mo and *.qm (set-up and installers)
    python scripts/translations.py check     # every string marked, translated, finished, same placeholders

The engine and the command line (no Qt) are marked with ``_()``, ``N_()`` and ``ngettext()`` from
``tray_app.i18n`` and translated in ``i18n/<locale>.po`` (GNU gettext, read and compiled with Babel);
the GUI (``tray_app/ui``) is marked with Qt's ``tr()``/``translate()`` and translated in
``i18n/credit_tray.<locale>.ts`` (Qt Linguist, compiled by ``pyside6-lrelease``). Compiled files are
build output, never committed.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "i18n"
COMPILED = ROOT / "resources" / "i18n"
PACKAGE = ROOT / "tray_app"
GUI = PACKAGE / "ui"
DOMAIN = "credit-tray"
LOCALES = ("zh_CN",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}

#: ``{name}`` / ``{0}`` (str.format) and ``%1`` (Qt's arg()); ``{{`` is a literal brace.
_PLACEHOLDER = re.compile(r"(?<!\{)\{[A-Za-z0-9_]*(?:[:!][^{}]*)?\}(?!\})|%L?\d+|%n")
#: A keyboard mnemonic: '&' before a character, not '&&'.
_MNEMONIC = re.compile(r"(?<!&)&(?!&)(?=\w)")


def po_path(locale: str) -> Path:
    return SOURCES / f"{locale}.po"


def ts_path(locale: str) -> Path:
    return SOURCES / f"credit_tray.{locale}.ts"


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


# ---- gettext (engine and CLI) ----------------------------------------------------------------------

def _extract_template():  # type: ignore[no-untyped-def]
    """The engine's marked strings, from the code as it is now (everything outside tray_app/ui)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_file

    template = Catalog(project="Credit Tray", domain=DOMAIN)
    for path in sorted(PACKAGE.rglob("*.py")):
        if GUI in path.parents:
            continue
        relative = path.relative_to(ROOT).as_posix()
        for lineno, message, comments, context in extract_from_file(
                "python", str(path), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
            flags = ("python-brace-format",) if any(placeholders(m) for m in _forms(message)) else ()
            template.add(message, None, [(relative, lineno)], auto_comments=comments, context=context, flags=flags)
    return template


def _forms(message: str | tuple[str, ...]) -> tuple[str, ...]:
    return message if isinstance(message, tuple) else (message,)


def _read_po(locale: str):  # type: ignore[no-untyped-def]
    from babel.messages.pofile import read_po

    with po_path(locale).open("rb") as file:
        return read_po(file, locale=locale, domain=DOMAIN)


def _write_po(catalog, path: Path) -> None:  # type: ignore[no-untyped-def]
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    # No line numbers: a moved line must not touch the catalogue (and merge conflicts stay rare).
    write_po(buffer, catalog, width=120, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(buffer.getvalue())


def update_po(locale: str) -> None:
    from babel.messages.catalog import Catalog

    template = _extract_template()
    if po_path(locale).exists():
        catalog = _read_po(locale)
    else:
        catalog = Catalog(locale=locale, domain=DOMAIN, project="Credit Tray", version="",
                          copyright_holder="the Credit Tray developers", fuzzy=False,
                          creation_date=template.creation_date, revision_date=template.creation_date,
                          last_translator="Credit Tray developers", language_team="Credit Tray developers")
    # The header's dates stay as they are: a date that changes on every update is a merge conflict.
    catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
    _write_po(catalog, po_path(locale))


def compile_po(locale: str) -> Path:
    from babel.messages.mofile import write_mo

    COMPILED.mkdir(parents=True, exist_ok=True)
    target = COMPILED / f"{DOMAIN}.{locale}.mo"
    buffer = io.BytesIO()
    write_mo(buffer, _read_po(locale), use_fuzzy=False)
    _replace(target, buffer.getvalue())
    return target


def check_po(locale: str) -> list[str]:
    problems: list[str] = []
    catalog = _read_po(locale)
    template = _extract_template()
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        first = _forms(message.id)[0]
        if translated is None:
            problems.append(f"{locale}.po: not in the catalogue (run `python scripts/translations.py update`): "
                            f"{first!r} ({_where(message.locations)})")
            continue
        problems += _judge(f"{locale}.po", first, _forms(message.id), _forms(translated.string),
                           translated.fuzzy)
    for message in catalog:
        if message.id and template.get(message.id, context=message.context) is None:
            problems.append(f"{locale}.po: no longer in the code (run update): {_forms(message.id)[0]!r}")
    return problems


def _where(locations: list[tuple[str, int]]) -> str:
    return ", ".join(f"{path}:{line}" for path, line in locations[:2])


def _judge(name: str, first: str, sources: tuple[str, ...], translations: tuple[str, ...],
           unfinished: bool) -> list[str]:
    if unfinished or not any(t.strip() for t in translations) or not all(translations):
        return [f"{name}: translation missing or unfinished: {first!r}"]
    problems = []
    expected = placeholders(sources[-1])
    for text in translations:
        if placeholders(text) != expected and placeholders(text) != placeholders(sources[0]):
            problems.append(f"{name}: placeholders differ: {first!r} has {expected}, "
                            f"the translation {text!r} has {placeholders(text)}")
    if any(_MNEMONIC.search(s) for s in sources) and not all(_MNEMONIC.search(t) for t in translations):
        problems.append(f"{name}: the keyboard mnemonic (&) is lost in the translation of {first!r}")
    return problems


# ---- Qt (the GUI) ----------------------------------------------------------------------------------

def _qt_tool(name: str) -> str:
    """pyside6-lupdate / pyside6-lrelease from this Python's environment."""
    here = Path(sys.executable).parent
    for candidate in (here / f"pyside6-{name}", here / f"pyside6-{name}.exe"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(f"pyside6-{name}")
    if found is None:
        sys.exit(f"pyside6-{name} not found: install PySide6 in this environment")
    return found


def _gui_sources() -> list[str]:
    return [str(p) for p in sorted(GUI.rglob("*.py"))]


def update_ts(locale: str, target: Path | None = None) -> Path:
    target = target or ts_path(locale)
    subprocess.run([_qt_tool("lupdate"), "-silent", "-no-obsolete", "-locations", "none",
                    "-source-language", "en", "-target-language", locale, *_gui_sources(), "-ts", str(target)],
                   check=True)
    return target


def compile_ts(locale: str) -> Path:
    COMPILED.mkdir(parents=True, exist_ok=True)
    target = COMPILED / f"credit_tray.{locale}.qm"
    with tempfile.TemporaryDirectory() as scratch:
        built = Path(scratch) / target.name
        subprocess.run([_qt_tool("lrelease"), "-silent", "-removeidentical", str(ts_path(locale)),
                        "-qm", str(built)], check=True)
        _replace(target, built.read_bytes())
    return target


@dataclass(frozen=True)
class QtMessage:
    context: str
    source: str
    translations: tuple[str, ...]
    unfinished: bool


def read_ts(path: Path) -> list[QtMessage]:
    out = []
    for context in ElementTree.parse(path).getroot().iter("context"):  # noqa: S314 - our own catalogue
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            kind = translation.get("type", "") if translation is not None else "unfinished"
            if kind in ("vanished", "obsolete"):
                continue
            forms = translation.findall("numerusform") if translation is not None else []
            texts = tuple(f.text or "" for f in forms) if forms else (
                (translation.text or "") if translation is not None else "",)
            out.append(QtMessage(name, message.findtext("source") or "", texts, kind == "unfinished"))
    return out


def check_ts(locale: str) -> list[str]:
    """The committed .ts against a fresh extraction of the code: nothing missing, all finished."""
    problems: list[str] = []
    committed = {(m.context, m.source): m for m in read_ts(ts_path(locale))}
    with tempfile.TemporaryDirectory() as scratch:
        fresh_path = Path(scratch) / ts_path(locale).name
        shutil.copy(ts_path(locale), fresh_path)
        update_ts(locale, fresh_path)
        fresh = read_ts(fresh_path)
    name = ts_path(locale).name
    for message in fresh:
        known = committed.get((message.context, message.source))
        if known is None:
            problems.append(f"{name}: not in the catalogue (run `python scripts/translations.py update`): "
                            f"{message.context}: {message.source!r}")
            continue
        problems += _judge(name, f"{message.context}: {message.source}", (message.source,), known.translations,
                           known.unfinished)
    extracted = {(m.context, m.source) for m in fresh}
    problems += [f"{name}: no longer in the code (run update): {c}: {s!r}" for c, s in committed
                 if (c, s) not in extracted]
    return problems


# ---- both --------------------------------------------------------------------------------------------

def _replace(target: Path, data: bytes) -> None:
    """Write ``target`` whole or not at all (a running app may be reading the old one)."""
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=("update", "compile", "check"))
    args = parser.parse_args(argv)
    if args.command == "update":
        for locale in LOCALES:
            update_po(locale)
            update_ts(locale)
            print(f"updated {po_path(locale).relative_to(ROOT)} and {ts_path(locale).relative_to(ROOT)}")
        return 0
    if args.command == "compile":
        for locale in LOCALES:
            for written in (compile_po(locale), compile_ts(locale)):
                print(f"compiled {written.relative_to(ROOT)}")
        return 0
    problems = [p for locale in LOCALES for p in check_po(locale) + check_ts(locale)]
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in the translations" if problems else "translations complete")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
