"""Find user-visible English in the code that is not marked for translation.

A string literal that reads like words a person sees (two words or more, or one capitalised word) must
be inside a marker: ``_()``, ``N_()``, ``ngettext()`` (engine and CLI, gettext) or ``tr()``,
``translate()``, ``QT_TRANSLATE_NOOP()`` (the GUI, Qt). F-strings cannot be marked, so one that reads as
words is reported too: write ``_("… {name} …").format(name=…)`` instead.

Not reported: docstrings, log messages (``log.info(...)``), SQL, dictionary keys and subscripts,
comparisons, a few calls whose strings are never shown (listed below), and a line that says why it is
not translated with a ``# untranslated: <reason>`` comment (a product name, a protocol's fixed words).
"""

from __future__ import annotations

import ast
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

MARKERS = {"_", "N_", "ngettext", "tr", "translate", "QT_TRANSLATE_NOOP", "QT_TR_NOOP", "QT_TRANSLATE_NOOP3"}
LOGGERS = {"log", "logger", "logging", "_log", "LOG"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
#: Calls whose string arguments are identifiers, paths, formats or patterns, never shown as text.
MACHINE_CALLS = {
    "setObjectName", "getattr", "setattr", "hasattr", "get", "getenv", "compile", "match", "search", "fullmatch",
    "sub", "split", "rsplit", "startswith", "endswith", "replace", "strip", "lstrip", "rstrip", "removeprefix",
    "removesuffix", "join", "encode", "decode", "strftime", "strptime", "fromisoformat", "setProperty",
    "property", "connect", "emit", "Signal", "Slot", "QByteArray", "execute", "executemany", "executescript",
    "add_argument_group", "add_mutually_exclusive_group", "environ", "which", "run", "Popen", "check_output",
    "Path", "joinpath", "open", "setDesktopFileName", "setApplicationName", "setOrganizationName", "warn",
    "find_spec", "import_module", "getLogger", "fromString", "toString", "QUrl", "format_map", "setStyleSheet",
    "setDefaultSuffix", "setNameFilter", "TypeVar", "NewType", "namedtuple",
    "index", "count", "find", "rfind", "partition", "rpartition", "ljust",
}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|WITH|REPLACE)\b", re.I)
WORDS = re.compile(r"[A-Za-z]{2,}[^\n]*\s[^\n]*[A-Za-z]{2,}")  # two words or more
CAPITALISED = re.compile(r"^[A-Z][a-z]{2,}[.:…!?]*$")  # one capitalised word: a label or a button
PRAGMA = "# untranslated"


@dataclass(frozen=True)
class Unmarked:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in LOG_METHODS:
        return False
    receiver = func.value
    name = receiver.id if isinstance(receiver, ast.Name) else receiver.attr if isinstance(receiver, ast.Attribute) \
        else ""
    return name in LOGGERS or name.endswith("log") or name.endswith("logger")


def reads_as_words(text: str) -> bool:
    stripped = text.strip()
    if not stripped or SQL.match(stripped) or stripped.startswith(("http://", "https://", "/", "%(")):
        return False
    return bool(WORDS.search(stripped) or CAPITALISED.match(stripped))


def _pragma_lines(source: str) -> set[int]:
    lines = set()
    for token in tokenize.generate_tokens(iter(source.splitlines(keepends=True)).__next__):
        if token.type == tokenize.COMMENT and token.string.startswith(PRAGMA):
            lines.add(token.start[0])
    return lines


def scan_file(path: Path, root: Path) -> list[Unmarked]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    pragmas = _pragma_lines(source)
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # attribute docstrings
            docstrings.add(id(node.value))

    def exempt(node: ast.AST) -> bool:
        if id(node) in docstrings:
            return True
        end = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        if pragmas & set(range(node.lineno, end + 1)):  # type: ignore[attr-defined]
            return True
        child, parent = node, parents.get(id(node))
        while parent is not None:
            if isinstance(parent, ast.Call):
                if _call_name(parent) in MARKERS or _is_log_call(parent):
                    return True
                if child is not parent.func and _call_name(parent) in MACHINE_CALLS:
                    return True
            if isinstance(parent, ast.Dict) and any(k is child for k in parent.keys):
                return True
            if isinstance(parent, ast.Subscript) and child is parent.slice:
                return True
            if isinstance(parent, (ast.Compare, ast.match_case, ast.MatchValue)):
                return True
            if isinstance(parent, ast.keyword) and parent.arg in ("encoding", "errors", "mode", "dest", "metavar",
                                                                  "objectName", "sep", "end"):
                return True
            if isinstance(parent, (ast.stmt, ast.Lambda)):
                if isinstance(parent, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "__all__" for t in parent.targets):
                    return True
                if any(line in pragmas for line in range(parent.lineno, (parent.end_lineno or parent.lineno) + 1)):
                    return True
                if isinstance(parent, ast.stmt):
                    return False
            child, parent = parent, parents.get(id(parent))
        return False

    found = []
    relative = path.relative_to(root).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if reads_as_words(literal) and not exempt(node):
                found.append(Unmarked(relative, node.lineno, ast.unparse(node)[:100]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if isinstance(parents.get(id(node)), ast.JoinedStr):
                continue
            if reads_as_words(node.value) and not exempt(node):
                found.append(Unmarked(relative, node.lineno, node.value[:100]))
    return found


def scan(package: Path, skip: set[str]) -> list[Unmarked]:
    root = package.parent
    return [u for path in sorted(package.rglob("*.py")) if path.relative_to(root).as_posix() not in skip
            for u in scan_file(path, root)]


if __name__ == "__main__":  # a to-do list: python tests/i18n_scan.py [path ...]
    import sys

    here = Path(__file__).resolve().parent.parent
    targets = [Path(p).resolve() for p in sys.argv[1:]] or sorted((here / "tray_app").rglob("*.py"))
    hits = [u for t in targets for u in scan_file(t, here)]
    print("\n".join(map(str, hits)))
    print(f"{len(hits)} unmarked")
