"""Substitutions of the ROS 2 launch frontend: ``$(var x)``, ``$(env X [default])``,
``$(find-pkg-share pkg)`` and ``$(dirname)``.

The syntax follows the launch frontend grammar: a template is text with ``$(name arg ...)``
substitutions; arguments are separated by one space and may be quoted ('...' or "...") or contain
nested substitutions (``$(find-pkg-share $(var pkg))``); a backslash escapes the next character.
Every other substitution (``eval``, ``anon``, ``command``, ...) is rejected with the name of the
file and line, never passed through as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import LaunchError

SUPPORTED = ("var", "env", "find-pkg-share", "dirname")


@dataclass(frozen=True)
class Substitution:
    """``$(name arg ...)``; each argument is itself a template (text and substitutions)."""

    name: str
    args: tuple[Template, ...]


Template = tuple["str | Substitution", ...]
"""Parsed text: literal strings and :class:`Substitution` parts, in order."""


class _Parser:
    """Recursive descent over one string; positions are reported 1-based in errors."""

    def __init__(self, text: str, where: str | None) -> None:
        self.text, self.pos, self.where = text, 0, where

    def fail(self, message: str) -> LaunchError:
        return LaunchError(f"{message} at column {self.pos + 1} of {self.text!r}", self.where)

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def at_substitution(self) -> bool:
        return self.text.startswith("$(", self.pos)

    def template(self) -> Template:
        """Top level: text (anything but ``$(``) and substitutions."""
        return tuple(self.parts(lambda c: not c))

    def parts(self, stop: Callable[[str], bool], forbidden: str = "") -> list[str | Substitution]:
        """Text and substitutions up to the first character ``stop`` accepts ("" at the end);
        ``\\x`` escapes ``x``; an unescaped character of ``forbidden`` is an error."""
        parts: list[str | Substitution] = []
        buf: list[str] = []
        while not stop(self.peek()):
            if self.at_substitution():
                _flush(buf, parts)
                parts.append(self.substitution())
            elif self.peek() == "\\" and self.peek(1):
                buf.append(self.peek(1))
                self.pos += 2
            elif self.peek() in forbidden:
                raise self.fail(f"unexpected {self.peek()!r} in a substitution argument (quote or escape it)")
            else:
                buf.append(self.peek())
                self.pos += 1
        _flush(buf, parts)
        return parts

    def substitution(self) -> Substitution:
        start = self.pos
        self.pos += 2  # "$("
        name_start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "_-"):
            self.pos += 1
        name = self.text[name_start : self.pos]
        if not name or not name[0].isalpha():
            raise self.fail("expected a substitution name after '$('")
        args: list[Template] = []
        while self.peek() == " ":
            self.pos += 1
            args.append(self.argument())
        if self.peek() != ")":
            self.pos = start if not self.peek() else self.pos
            raise self.fail(f"unterminated or malformed substitution '$({name}'")
        self.pos += 1
        return Substitution(name, tuple(args))

    def argument(self) -> Template:
        quote = self.peek()
        if quote in ("'", '"'):
            return self.quoted(quote)
        parts = self.parts(lambda c: not c or c in " )", forbidden="('\"")
        if not parts:
            raise self.fail("empty substitution argument")
        return tuple(parts)

    def quoted(self, quote: str) -> Template:
        self.pos += 1
        parts = self.parts(lambda c: c in (quote, ""))
        if not self.peek():
            raise self.fail(f"unterminated {quote} quote")
        self.pos += 1
        return tuple(parts)


def _flush(buf: list[str], parts: list[str | Substitution]) -> None:
    if buf:
        parts.append("".join(buf))
        buf.clear()


def parse_template(text: str, where: str | None = None) -> Template:
    """Parse ``text`` into literal strings and substitutions.

    ``LaunchError`` on bad syntax or on a substitution robocritic does not support, even where
    the template would never be evaluated (an argument default overridden on the command line).
    """
    template = _Parser(text, where).template()
    _check_supported(template, where)
    return template


def _check_supported(template: Template, where: str | None) -> None:
    for part in template:
        if isinstance(part, Substitution):
            if part.name not in SUPPORTED:
                raise LaunchError(
                    f"unsupported substitution '$({part.name} ...)'; robocritic launch supports "
                    + ", ".join(f"$({name})" for name in SUPPORTED),
                    where,
                )
            for arg in part.args:
                _check_supported(arg, where)


def has_substitutions(template: Template) -> bool:
    """Whether a parsed template contains any substitution."""
    return any(isinstance(part, Substitution) for part in template)


@dataclass
class SubstitutionContext:
    """What substitutions read: launch configurations, the environment, package look-up.

    Attributes:
        variables: launch configurations (``$(var name)``).
        environ: environment (``$(env NAME)``).
        find_package_share: package name -> share directory (``$(find-pkg-share pkg)``).
        dirname: directory of the launch file being read (``$(dirname)``).
    """

    variables: dict[str, str]
    environ: dict[str, str]
    find_package_share: Callable[[str], str]
    dirname: str


def evaluate(template: Template, context: SubstitutionContext, where: str | None = None) -> str:
    """Text of ``template`` with every substitution performed."""
    return "".join(part if isinstance(part, str) else _perform(part, context, where) for part in template)


def substitute(text: str, context: SubstitutionContext, where: str | None = None) -> str:
    """Parse and evaluate ``text`` in one go."""
    return evaluate(parse_template(text, where), context, where)


def _perform(sub: Substitution, context: SubstitutionContext, where: str | None) -> str:
    args = [evaluate(arg, context, where) for arg in sub.args]
    if sub.name == "var":
        _arity(sub, args, 1, 1, where)
        try:
            return context.variables[args[0]]
        except KeyError:
            known = ", ".join(sorted(context.variables)) or "none"
            raise LaunchError(
                f"$(var {args[0]}): launch argument {args[0]!r} is not set (declare it with 'arg'; "
                f"set here: {known})",
                where,
            ) from None
    if sub.name == "env":
        _arity(sub, args, 1, 2, where)
        value = context.environ.get(args[0])
        if value is None:
            if len(args) == 2:
                return args[1]
            raise LaunchError(
                f"$(env {args[0]}): environment variable {args[0]!r} is not set "
                f"(give a default: $(env {args[0]} DEFAULT))",
                where,
            )
        return value
    if sub.name == "find-pkg-share":
        _arity(sub, args, 1, 1, where)
        try:
            return context.find_package_share(args[0])
        except LaunchError as exc:
            raise LaunchError(f"$(find-pkg-share {args[0]}): {exc}", where) from None
    if sub.name == "dirname":
        _arity(sub, args, 0, 0, where)
        return context.dirname
    raise LaunchError(
        f"unsupported substitution '$({sub.name} ...)'; robocritic launch supports "
        + ", ".join(f"$({name})" for name in SUPPORTED),
        where,
    )


def _arity(sub: Substitution, args: Sequence[str], low: int, high: int, where: str | None) -> None:
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise LaunchError(f"$({sub.name}) takes {expected} argument(s); got {len(args)}", where)


__all__ = [
    "SUPPORTED",
    "Substitution",
    "SubstitutionContext",
    "Template",
    "evaluate",
    "has_substitutions",
    "parse_template",
    "substitute",
]
