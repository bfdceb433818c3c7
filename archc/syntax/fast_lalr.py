"""A quicker run of the parser Lark built.

parse.py builds its parser with Lark, and this module runs what Lark built (the compiled token
patterns of its basic lexer, its LALR action table, the callbacks into the AST builder) in a
tighter loop. Lark's own loop is general, and on a large spec its generality is most of the
time spent:

- its lexer counts lines and columns for every token, whitespace included; here tokens carry
  offsets only, which is all the AST builder reads (it computes spans from offsets);
- every reduction hashes and compares the rule with Python-level ``__hash__`` and ``__eq__``
  to find its callback; here the action table is flattened once into integers: a state to
  shift to, or the position of a reduction in a list of (size, name, callback);
- most reductions are by inlined one-child rules (`?expr: chain`, `?chain: named`, ...: about
  a dozen for every name or number in an expression), where Lark calls ``ExpandSingleChild``
  to hand the child back; here the child stays where it is, and where a run of such
  reductions ends is worked out once.

Errors are still Lark's: where the parser cannot take a token, the state it is in is handed to
Lark's parser, which raises the very exception its own loop would have raised there (with the
token's line and column, and the parser state and interactive parser the syntax-error catalogue
reads). Text that does not even lex raises :class:`NotParsed` instead, and the caller parses it
again with Lark. tests/test_parse.py checks that both ways give the same tree, spans, comments
and diagnostics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import LexerThread, UnlessCallback
from lark.parse_tree_builder import ExpandSingleChild
from lark.parsers.lalr_analysis import Shift
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser_state import ParseConf, ParserState

# The end of input, as Lark's parser sees it.
END = "$END"


class NotParsed(Exception):
    """The text does not lex: Lark has to read it again to say why."""


class Unsupported(Exception):
    """The parser uses a Lark feature this module does not reproduce; Lark runs it instead."""


# The callback that builds a rule's value from its children; None where the rule's value is
# its one child, unchanged.
Build = Callable[[list[Any]], Any] | None


class FastLALR:
    """Lark's lexer, post-lexer, parse table and callbacks, run without Lark's bookkeeping.

    Built from a Lark LALR parser with the basic lexer; raises :class:`Unsupported` for other
    kinds, and for features it does not reproduce (callbacks on tokens, several start symbols).
    """

    def __init__(self, lark: Lark) -> None:
        frontend = lark.parser
        if lark.options.parser != "lalr" or lark.options.lexer != "basic":
            raise Unsupported("only LALR with the basic lexer")
        if lark.options.use_bytes:
            raise Unsupported("only text")
        if len(frontend.parser_conf.start) != 1:
            raise Unsupported("several start symbols")
        self._start_symbol: str = frontend.parser_conf.start[0]

        # The lexer: Lark's compiled alternation of all terminals, in Lark's order of priority.
        # Keywords are not in it: NAME matches them, and Lark's callback on NAME retypes them.
        self._lexer = frontend.lexer  # with the post-lexer, for Lark's errors
        self._postlex = lark.options.postlex
        basic = frontend.lexer.lexer if self._postlex is not None else frontend.lexer
        patterns: list[re.Pattern[str]] = basic.scanner._mres
        if len(patterns) != 1:
            raise Unsupported("more terminals than one regular expression can hold")
        self._pattern = patterns[0]
        callbacks = dict(basic.callback)
        self._retype = {k: c for k, c in callbacks.items() if isinstance(c, UnlessCallback)}
        self._token_callbacks = {k: c for k, c in callbacks.items() if k not in self._retype}
        self._ignore = frozenset(basic.ignore_types)
        # Token() checks its keyword arguments for a deprecated name; this is what it then calls.
        self._new_token = Token._future_new

        # The parser: one dict per state, from a symbol to the state to shift to (>= 0) or to
        # ~(position of a reduction in self._reductions) (< 0).
        self._parser = frontend.parser.parser
        table = self._parser.parse_table
        if any(isinstance(key, str) for key in self._parser.callbacks):
            raise Unsupported("callbacks on tokens")
        if sorted(table.states) != list(range(len(table.states))):
            raise Unsupported("states are not numbered from 0")
        self._start = table.start_states[self._start_symbol]
        self._end = table.end_states[self._start_symbol]
        self._reductions: list[tuple[int, str, Build]] = []
        self._actions: list[dict[str, int]] = []
        positions: dict[object, int] = {}
        for state in range(len(table.states)):
            actions: dict[str, int] = {}
            for symbol, (action, target) in table.states[state].items():
                if action is Shift:
                    actions[symbol] = target
                    continue
                if target not in positions:
                    positions[target] = len(self._reductions)
                    self._reductions.append(self._reduction(target))
                actions[symbol] = ~positions[target]
            self._actions.append(actions)
        # (state below, state, token type) -> the state a run of unchanged reductions ends in.
        self._runs: dict[tuple[int, int, str], int] = {}

    def _reduction(self, rule: Any) -> tuple[int, str, Build]:
        build = self._parser.callbacks[rule]
        size = len(rule.expansion)
        origin: str = rule.origin.name
        unchanged = isinstance(build, ExpandSingleChild) and size == 1
        # The start symbol's reductions keep their callbacks, so that only they can end a parse.
        return size, origin, None if unchanged and origin != self._start_symbol else build

    def parse(self, text: str) -> Any:
        """What Lark's ``parse(text)`` returns or raises; :class:`NotParsed` if it does not lex."""
        tokens: Iterator[Token] = self._lex(text)
        if self._postlex is not None:
            tokens = self._postlex.process(tokens)
        actions = self._actions
        reductions = self._reductions
        runs = self._runs
        end = self._end
        states = [self._start]
        values: list[Any] = []
        last: Token | None = None  # the last token before the end of input
        for token in chain(tokens, (Token(END, ""),)):
            kind = token.type
            while True:
                state = states[-1]
                action = actions[state].get(kind)
                if action is None:
                    raise self._unexpected(text, token, last, states, values)
                if action >= 0:
                    states.append(action)
                    values.append(token)
                    break
                size, origin, build = reductions[~action]
                if build is None:
                    # Reductions that keep the value only ever replace the top state, so where
                    # a run of them ends depends on the state below, the top and the token.
                    key = (states[-2], state, kind)
                    end_of_run = runs.get(key)
                    if end_of_run is None:
                        end_of_run = runs[key] = self._run(*key)
                    states[-1] = end_of_run
                    continue
                if size:
                    children = values[-size:]
                    del states[-size:]
                    del values[-size:]
                else:
                    children = []
                values.append(build(children))
                goto = actions[states[-1]][origin]
                if goto == end and kind == END:
                    return values[-1]
                states.append(goto)
            last = token
        raise AssertionError("unreachable: the end of input is never shifted")

    def _run(self, below: int, state: int, kind: str) -> int:
        """Where reductions that keep the value lead from ``state``, with ``below`` under it."""
        while True:
            action = self._actions[state].get(kind)
            if action is None or action >= 0:
                return state
            _size, origin, build = self._reductions[~action]
            if build is not None:
                return state
            state = self._actions[below][origin]

    def _unexpected(
        self, text: str, token: Token, last: Token | None, states: list[int], values: list[Any]
    ) -> UnexpectedInput:
        """The exception Lark raises where its parser, in ``states``, is given ``token``.

        Lark's loop is handed the state and the token, with the line and column Lark's lexer
        would have given it, and raises; the interactive parser is attached the way Lark's
        ``parse_from_state`` does. (Its lexer starts at the start of the text rather than at
        the error: the catalogue only asks it which tokens the parser would have taken.)
        """
        if token.type != END:
            found = _with_lines(text, token.type, token.value, token)
        elif last is not None:
            found = _with_lines(text, END, "", last)  # Lark's end of input borrows a position
        else:
            found = Token(END, "", 0, 1, 1)
        conf = ParseConf(self._parser.parse_table, self._parser.callbacks, self._start_symbol)
        state = ParserState(conf, LexerThread.from_text(self._lexer, text), states, values)
        try:
            state.feed_token(found, found.type == END)
        except UnexpectedToken as exc:
            exc.interactive_parser = InteractiveParser(self._parser, state, state.lexer)
            return exc
        raise AssertionError(f"Lark's parser takes {found!r} where the table has no action")

    def _lex(self, text: str) -> Iterator[Token]:
        """Lark's basic lexer, without line and column numbers."""
        new_token = self._new_token
        retype = self._retype
        callbacks = self._token_callbacks
        ignore = self._ignore
        # Whether a word is a keyword depends on the word alone: Lark is asked once per word.
        types: dict[str, dict[str, str]] = {kind: {} for kind in retype}
        position = 0
        for match in self._pattern.finditer(text):
            start = match.start()
            if start != position:
                raise NotParsed  # characters that no terminal matches
            kind = match.lastgroup
            position = match.end()
            if kind in ignore and kind not in callbacks:
                continue
            value = match.group()
            if kind in retype:
                known = types[kind]
                if value not in known:
                    known[value] = retype[kind](new_token(kind, value)).type
                token = new_token(known[value], value, start, None, None, None, None, position)
            else:
                token = new_token(kind, value, start, None, None, None, None, position)
                if kind in callbacks:
                    token = callbacks[kind](token)
            if kind not in ignore:
                yield token
        if position != len(text):
            raise NotParsed


def _with_lines(text: str, kind: str, value: str, at: Token) -> Token:
    """A token of ``kind`` where ``at`` is, with the lines and columns Lark's lexer counts."""
    start, end = at.start_pos or 0, at.end_pos or 0
    return Token(kind, value, start, *_line_col(text, start), *_line_col(text, end), end)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
