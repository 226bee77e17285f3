"""Every error message a person can see has a Russian and an Uzbek translation.

The English message of an `ApiError` (or a subclass) is the gettext msgid; a catalogue that
lacks it answers in English. This test reads the source of `switchboard` (not the sandbox, whose
emulators answer as the foreign systems do) and collects the literal messages of

- calls of `ApiError` and its subclasses (second positional argument or `message=`), the
  subclasses found by scanning the source for `class X(<known error class>)`;
- `super().__init__(code, "…")` inside such a subclass;
- calls of helpers that pass one of their parameters on as the message of such a call
  (`invalid(field, message)` → `invalid("x", "Field {field}: …")`);
- calls of exceptions that carry a message to such a call (`except TokenRejected as rejected:
  raise Unauthorized(rejected.code, rejected.message)`: the `__init__` parameter kept as
  `self.message`);
- `("snake_code", "Message …")` pairs (tuples or dict entries) of a module whose errors take
  their message from a variable (tables of codes and messages).

A message may be a literal or a module-level string constant (`BAD_EVENT_ID = "…"`).

Each must have a non-empty translation in both catalogues, with the same `{placeholders}`.
"""

from __future__ import annotations

import ast
import inspect
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

import switchboard.core.errors as errors_module
from switchboard.core.i18n import LOCALE_DIR

SOURCE = Path(errors_module.__file__).resolve().parent.parent
EXCLUDED = ("sandbox",)
TRANSLATED = ("ru", "uz")
CODE = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Use:
    msgid: str
    where: str


@dataclass(frozen=True)
class Wrapper:
    """A helper passing its parameter `parameter` (position `index`) on as an error's message."""

    module: str
    index: int
    parameter: str


@dataclass(frozen=True)
class Site:
    """A call, with the function and the class it is in."""

    call: ast.Call
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    owner: ast.ClassDef | None

    def parameters(self) -> list[str]:
        if self.function is None:
            return []
        return [a.arg for a in self.function.args.posonlyargs + self.function.args.args]


@dataclass
class Module:
    name: str
    sites: list[Site] = field(default_factory=list)
    classes: list[ast.ClassDef] = field(default_factory=list)
    tables: list[ast.Tuple | ast.Dict] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)
    #: Module-level `NAME = "text"`.
    constants: dict[str, str] = field(default_factory=dict)

    def record(
        self,
        node: ast.AST,
        function: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        owner: ast.ClassDef | None = None,
    ) -> None:
        """One walk of the tree, keeping what the checks need."""
        if isinstance(node, ast.Module):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target, value = statement.targets[0], _literal(statement.value)
                    if isinstance(target, ast.Name) and value is not None:
                        self.constants[target.id] = value
        if isinstance(node, ast.Call):
            self.sites.append(Site(node, function, owner))
        elif isinstance(node, ast.ClassDef):
            self.classes.append(node)
            owner = node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node
        elif isinstance(node, ast.Tuple | ast.Dict):
            self.tables.append(node)
        elif isinstance(node, ast.ImportFrom):
            self.imported.update(alias.asname or alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            self.record(child, function, owner)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.expr | None) -> str | None:
    """A string literal (implicit concatenation is one literal already); None otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _argument(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    if len(call.args) > index and not any(isinstance(a, ast.Starred) for a in call.args[:index]):
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _is_super_init(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and _name(func.value.func) == "super"
    )


class Source:
    """The modules that make errors, read as far as the names of error classes and helpers
    lead (a module that names none of them cannot make one: not parsed, which keeps this fast)."""

    def __init__(self) -> None:
        self.classes = {
            name
            for name, value in vars(errors_module).items()
            if inspect.isclass(value) and issubclass(value, errors_module.ApiError)
        }
        self.wrappers: dict[str, list[Wrapper]] = {}
        self.modules: dict[str, Module] = {}
        texts = {
            str(path.relative_to(SOURCE)): path.read_text(encoding="utf-8")
            for path in sorted(SOURCE.rglob("*.py"))
            if path.relative_to(SOURCE).parts[0] not in EXCLUDED
        }
        names: set[str] = set()
        while names != self.classes | set(self.wrappers):
            names = self.classes | set(self.wrappers)
            # A call `Name(`, a base `(Name)` or `(Name, Other)`; imports alone do not count.
            pattern = re.compile(
                r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\s*(?:\(|\)|, *\w)"
            )
            self._parse(texts, pattern)
            self._grow()
        self.carriers = self._carriers(texts)

    def _parse(self, texts: dict[str, str], pattern: re.Pattern[str]) -> None:
        for name, text in texts.items():
            if name not in self.modules and pattern.search(text):
                module = Module(name)
                module.record(ast.parse(text, name))
                self.modules[name] = module

    def _carriers(self, texts: dict[str, str]) -> dict[str, Wrapper]:
        """Exceptions that carry a message to an error (`except TokenRejected as rejected:
        raise Unauthorized(rejected.code, rejected.message)`): by class name, the parameter of
        `__init__` kept as that attribute."""
        attributes = {
            message.attr
            for module in self.modules.values()
            for site in module.sites
            for message in self.messages(module, site)
            if isinstance(message, ast.Attribute)
        }
        if not attributes:
            return {}
        kept = "|".join(map(re.escape, sorted(attributes)))
        self._parse(texts, re.compile(rf"\bself\.(?:{kept})\s*=\s*\w"))
        carriers: dict[str, Wrapper] = {}
        for module in list(self.modules.values()):
            for node in module.classes:
                if node.name in self.classes:
                    continue
                for init in node.body:
                    if not (isinstance(init, ast.FunctionDef) and init.name == "__init__"):
                        continue
                    parameters = [a.arg for a in init.args.posonlyargs + init.args.args][1:]
                    for statement in init.body:
                        if (
                            isinstance(statement, ast.Assign)
                            and isinstance(statement.value, ast.Name)
                            and statement.value.id in parameters
                            and any(
                                isinstance(t, ast.Attribute)
                                and _name(t.value) == "self"
                                and t.attr in attributes
                                for t in statement.targets
                            )
                        ):
                            index = parameters.index(statement.value.id)
                            carriers[node.name] = Wrapper(module.name, index, statement.value.id)
        if carriers:
            names = "|".join(map(re.escape, sorted(carriers)))
            self._parse(texts, re.compile(rf"\b(?:{names})\s*\("))
        return carriers

    def _grow(self) -> None:
        """Subclasses of error classes, and helpers of helpers, until there are no new ones."""
        grown = True
        while grown:
            grown = False
            for module in self.modules.values():
                for node in module.classes:
                    if node.name not in self.classes and any(
                        _name(base) in self.classes for base in node.bases
                    ):
                        self.classes.add(node.name)
                        grown = True
                for site in module.sites:
                    if site.function is None:
                        continue
                    parameters = site.parameters()
                    for message in self.messages(module, site):
                        if isinstance(message, ast.Name) and message.id in parameters:
                            found = Wrapper(module.name, parameters.index(message.id), message.id)
                            known = self.wrappers.setdefault(site.function.name, [])
                            if found not in known:
                                known.append(found)
                                grown = True

    def text_of(self, module: Module, node: ast.expr | None) -> str | None:
        """A literal, or a module-level constant of this module or (imported) of another."""
        text = _literal(node)
        if text is None and isinstance(node, ast.Name):
            text = module.constants.get(node.id)
            if text is None and node.id in module.imported:
                found = {
                    m.constants[node.id] for m in self.modules.values() if node.id in m.constants
                }
                text = found.pop() if len(found) == 1 else None
        return text

    def messages(self, module: Module, site: Site) -> Iterator[ast.expr | None]:
        """The message argument(s) of a call that makes an error; nothing for other calls."""
        call = site.call
        callee = _name(call.func)
        if callee in self.classes:
            yield _argument(call, 1, "message")
        elif _is_super_init(call):
            if site.owner is not None and site.owner.name in self.classes:
                yield _argument(call, 1, "message")
        elif callee is not None:
            for wrapper in self.wrappers.get(callee, ()):
                if (
                    wrapper.module == module.name
                    or (isinstance(call.func, ast.Name) and callee in module.imported)
                    or (
                        isinstance(call.func, ast.Attribute)
                        and isinstance(call.func.value, ast.Name)
                    )
                ):
                    yield _argument(call, wrapper.index, wrapper.parameter)


def _sentence(text: str) -> bool:
    return " " in text and text[:1].isascii() and text.rstrip().endswith((".", "}"))


def _pairs(module: Module) -> Iterator[Use]:
    """`("snake_code", "Message …")` in tuples and `{"snake_code": "Message …"}` in dicts."""
    for node in module.tables:
        pairs: list[tuple[ast.expr | None, ast.expr]]
        if isinstance(node, ast.Tuple):
            pairs = list(zip(node.elts, node.elts[1:], strict=False))
        else:
            pairs = list(zip(node.keys, node.values, strict=True))
        for first, second in pairs:
            code, text = _literal(first), _literal(second)
            if code and text and CODE.match(code) and _sentence(text):
                yield Use(text, f"{module.name}:{node.lineno}")


@cache
def collected() -> tuple[list[Use], list[str]]:
    """(messages with where they are, indirect messages this test cannot read)."""
    source = Source()
    uses: list[Use] = []
    indirect: list[str] = []
    for module in source.modules.values():
        table_module = False
        for site in module.sites:
            for message in source.messages(module, site):
                where = f"{module.name}:{site.call.lineno}"
                if isinstance(message, ast.IfExp):
                    branches = [message.body, message.orelse]
                else:
                    branches = [message] if message is not None else []
                for branch in branches:
                    text = source.text_of(module, branch)
                    if text is not None:
                        uses.append(Use(text, where))
                    elif not (isinstance(branch, ast.Name) and branch.id in site.parameters()):
                        table_module = True
                        indirect.append(f"{where}: {ast.unparse(branch)}")
            carrier = source.carriers.get(_name(site.call.func) or "")
            if carrier is not None:
                argument = _argument(site.call, carrier.index, carrier.parameter)
                text = source.text_of(module, argument)
                if text is not None:
                    uses.append(Use(text, f"{module.name}:{site.call.lineno}"))
        if table_module:
            uses.extend(_pairs(module))
    return uses, indirect


@cache
def catalogue(locale: str) -> dict[str, str]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        parsed = read_po(handle, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in parsed
        if message.id and not message.fuzzy
    }


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_source_has_error_messages_to_check() -> None:
    uses, _ = collected()
    msgids = {use.msgid for use in uses}
    # Known messages of several domains, so that a broken walk cannot pass on an empty list.
    assert "Wrong login or password." in msgids
    assert "Consultation not found." in msgids
    assert "There is no such inbox." in msgids  # from a table of codes and messages
    assert any(m.startswith("Field {field}:") for m in msgids)  # through a helper
    assert len(msgids) > 100


def test_every_error_message_is_translated() -> None:
    uses, _ = collected()
    problems: dict[str, list[str]] = {}
    first_use: dict[str, str] = {}
    for use in uses:
        first_use.setdefault(use.msgid, use.where)
    for msgid, where in sorted(first_use.items(), key=lambda item: item[1]):
        for locale in TRANSLATED:
            text = catalogue(locale).get(msgid, "")
            if not text.strip():
                problems.setdefault(f"{where}  {msgid!r}", []).append(f"{locale}: missing")
            elif placeholders(text) != placeholders(msgid):
                problems.setdefault(f"{where}  {msgid!r}", []).append(
                    f"{locale}: placeholders {sorted(placeholders(text))} "
                    f"!= {sorted(placeholders(msgid))}"
                )
    report = "\n".join(f"{key}\n    {'; '.join(value)}" for key, value in problems.items())
    assert not problems, f"{len(problems)} error messages lack translations:\n{report}"
