"""Tokenizer and Pratt parser for the expression language inside ``${...}``.

Precedence follows the Workflows syntax reference, most binding first: ``.`` ``[]`` calls,
``not``, unary ``-``, ``* / // %``, ``+ -``, comparisons and ``in``, ``and``, ``or``.
The parser yields small tuples (``("bin", op, left, right)`` ...) that ``expressions`` evaluates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from localgcp.services.workflows.errors import WorkflowError, make

Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>//|==|!=|<=|>=|[-+*/%<>()\[\]{},.:])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"', "'": "'"}
_KEYWORDS = {
    "and": "and",
    "AND": "and",
    "or": "or",
    "OR": "or",
    "not": "not",
    "NOT": "not",
    "in": "in",
    "IN": "in",
}
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    "null": None,
    "Null": None,
    "NULL": None,
}
# binding power of infix operators
_INFIX = {
    "or": 1,
    "and": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "in": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "//": 5,
    "%": 5,
}
_UNARY_MINUS_BP = 6
_NOT_BP = 7


def _syntax_error(source: str, why: str) -> WorkflowError:
    return make("ParseError", f"invalid expression {source!r}: {why}")


_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def _unescape(body: str, source: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 6 <= len(body):
                if not _HEX4.fullmatch(body[i + 2 : i + 6]):
                    raise _syntax_error(source, f"bad \\u escape: {body[i : i + 6]!r}")
                code = int(body[i + 2 : i + 6], 16)
                low = body[i + 8 : i + 12] if body[i + 6 : i + 8] == "\\u" else ""
                if 0xD800 <= code < 0xDC00 and _HEX4.fullmatch(low) and 0xDC00 <= int(low, 16) < 0xE000:
                    # a UTF-16 surrogate pair, as JSON writes characters beyond the BMP
                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)))
                    i += 12
                    continue
                out.append(chr(code))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(source: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if not m:
            raise _syntax_error(source, f"unexpected character at {pos}: {source[pos : pos + 10]!r}")
        pos = m.end()
        if m.group("num") is not None:
            text = m.group("num")
            try:
                tokens.append(("lit", float(text) if any(c in text for c in ".eE") else int(text)))
            except ValueError:  # beyond Python's limit on digits in an int
                raise _syntax_error(source, f"number too long at {m.start('num')}") from None
        elif m.group("str") is not None:
            tokens.append(("lit", _unescape(m.group("str")[1:-1], source)))
        elif m.group("name") is not None:
            word = m.group("name")
            if word in _KEYWORDS:
                tokens.append(("op", _KEYWORDS[word]))
            elif word in _CONSTANTS:
                tokens.append(("const", word))
            else:
                tokens.append(("name", word))
        else:
            tokens.append(("op", m.group("op")))
    tokens.append(("end", None))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.pos]

    def take(self) -> tuple[str, Any]:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != op:
            raise _syntax_error(self.source, f"expected {op!r}, found {value!r}")

    def at(self, op: str) -> bool:
        kind, value = self.peek()
        return kind == "op" and value == op

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek()[0] != "end":
            raise _syntax_error(self.source, f"unexpected {self.peek()[1]!r}")
        return node

    def expression(self, min_bp: int) -> Node:
        left = self.prefix()
        while True:
            kind, value = self.peek()
            if kind != "op" or value not in _INFIX or _INFIX[value] <= min_bp:
                return left
            self.take()
            right = self.expression(_INFIX[value])
            left = ("bin", value, left, right)

    def prefix(self) -> Node:
        kind, value = self.take()
        node: Node
        if kind == "lit":
            node = ("lit", value)
        elif kind == "const":
            node = ("lit", _CONSTANTS[value])
        elif kind == "name":
            node = ("name", value)
        elif kind == "op" and value == "(":
            node = self.expression(0)
            self.expect(")")
        elif kind == "op" and value == "[":
            node = ("list", self.sequence("]"))
        elif kind == "op" and value == "{":
            node = self.map_literal()
        elif kind == "op" and value == "-":
            return ("unary", "-", self.postfix(self.expression(_UNARY_MINUS_BP)))
        elif kind == "op" and value == "not":
            return ("unary", "not", self.expression(_NOT_BP))
        else:
            raise _syntax_error(self.source, f"unexpected {value!r}")
        return self.postfix(node)

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.take()
                kind, value = self.take()
                if (
                    kind not in ("name", "op", "const")
                    or not isinstance(value, str)
                    or not value.isidentifier()
                ):
                    raise _syntax_error(self.source, "expected a name after '.'")
                node = ("attr", node, value)
            elif self.at("["):
                self.take()
                index = self.expression(0)
                self.expect("]")
                node = ("index", node, index)
            elif self.at("("):
                self.take()
                node = ("call", node, self.sequence(")"))
            else:
                return node

    def sequence(self, closer: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(closer):
            items.append(self.expression(0))
            if not self.at(closer):
                self.expect(",")
        self.take()
        return items

    def map_literal(self) -> Node:
        entries: list[tuple[Node, Node]] = []
        while not self.at("}"):
            key = self.expression(0)
            self.expect(":")
            entries.append((key, self.expression(0)))
            if not self.at("}"):
                self.expect(",")
        self.take()
        return ("map", entries)


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> Node:
    """Parse the text between ``${`` and ``}``."""
    if not source.strip():
        raise _syntax_error(source, "empty expression")
    try:
        return _Parser(source).parse()
    except RecursionError:
        raise _syntax_error(source, "nested too deeply") from None


def expression_source(value: Any) -> str | None:
    """The inner text when ``value`` is a whole-string ``${...}`` expression, else None."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("${") and text.endswith("}"):
            return text[2:-1]
    return None
