"""The DSL form of a policy (SPEC §3): indentation-based text, same meaning as YAML.

One path to the intermediate form: the DSL text is parsed (Lark, LALR, with
an indenter; ``grammar/dsl.lark``, which imports the expression grammar) and
turned into the *same positioned node tree* the YAML reader produces — a
:class:`~.nodes.MapNode` with the keys of SPEC §1 — and then
:func:`~.build.build_policy` does every semantic check. Each expression is
kept as the slice of the DSL file it spans, so an error inside
``when balanse > 5`` points at the DSL line and column.

Errors are :class:`~dunning_engine.errors.PolicyError` with the position, the
source line, a caret and a human explanation of what was expected; any text
gives a policy or a PolicyError, never another exception.

The parts: ``dsl_lex`` (the text's checks, the indenter, the parser), ``dsl_reader``
(parse tree -> node tree), ``dsl_syntax`` with ``dsl_expected`` and ``dsl_words`` (syntax
messages), ``dsl_recover`` (reading on after a syntax error); here, the entry points and
``build``'s messages in the DSL's words.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from ..errors import PolicyError, PolicyErrors
from . import ir
from .dsl_expected import accepted
from .dsl_lex import INDENT, MAX_BYTES, BadDedent, check_text, dsl_parser, prepare
from .dsl_reader import Reader
from .dsl_syntax import Syntax
from .dsl_words import ACTION_WORDS, DSL_KEYWORDS
from .nodes import MapNode, NodeFactory

__all__ = ["load_dsl", "parse_dsl", "build_dsl", "DSL_KEYWORDS", "ACTION_WORDS", "MAX_BYTES", "INDENT"]

_MINIMAL_POLICY = (
    "a policy needs at least a name and its states, for example:\n"
    "    policy my_policy version 1\n"
    "    currency USD\n"
    "    state open initial:\n"
    "        on payment when balance <= 0 -> paid\n"
    "    state paid final"
)

_lock = threading.Lock()



# ---------------------------------------------------------------------------
# build's messages, in the DSL's words
# ---------------------------------------------------------------------------

_REWORD: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"the policy has no 'policy:' id"), "the policy has no 'policy NAME' line",
     "start the file with 'policy my_policy version 1'"),
    (re.compile(r"the policy has no 'currency:'"), "the policy has no 'currency' line",
     "add 'currency CLP' (or USD, MXN...): the currency of money written without a code"),
    (re.compile(r"the policy has no 'states:'"), "the policy has no states",
     "add the states, one marked initial: 'state open initial:'"),
    (re.compile(r"no state is marked 'initial: true'"), "no state is marked 'initial'",
     "mark the state where every case starts: 'state NAME initial:'"),
    (re.compile(r"this rule does nothing: it has no 'do' and no 'goto'"),
     "this rule does nothing: it has no actions and no '-> STATE'",
     "end the line with ':' and write its actions indented below, or add '-> STATE'"),
    (re.compile(r"final state '(.*)' cannot have rules or on_exit"), r"final state '\1' cannot have rules or 'on exit'",
     "a final state runs no rule; remove 'final' or the rules"),
    (re.compile(r"^goto: undefined state"), "undefined state", None),
    (re.compile(r"^except: undefined state"), "'except' names an undefined state", None),
    (re.compile(r"'of' only goes with 'percent'"), "'of' only goes with a percent fee",
     "for example: fee 2% of balance"),
    (re.compile(r"a rule needs a trigger \(at, after, every, on\) or a condition \(when\)"),
     "a rule needs a trigger (at, after, every, on) or a condition (when)",
     "for example 'at due + 1 day -> overdue', 'on payment -> paid' or 'when balance <= 0 -> paid'"),
]


def _reword(err: PolicyError) -> PolicyError:
    message, help = err.message, err.help
    for pattern, text, new_help in _REWORD:
        if pattern.search(message):
            message = pattern.sub(text, message)
            if new_help is not None:
                help = new_help
            break
    if help:
        help = help.replace("'initial: true'", "'initial'").replace("'goto:'", "'->'")
    if message == err.message and help == err.help:
        return err
    return PolicyError(message, err.location, help=help, code=err.code, severity=err.severity)


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------


def _parse_text(padded: str, f: Any, text: str) -> Any:
    """Lark's tree of ``padded`` (DSL text ending with a newline); a PolicyError located through
    ``f.location`` on bad syntax, its message read in ``text``. Call it holding ``_lock``."""
    from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    parser = dsl_parser()
    postlex = parser.options.postlex
    try:
        return parser.parse(padded)
    except UnexpectedToken as e:
        raise Syntax(f, text, list(postlex.history)).token(e.token, accepted(e)) from None
    except UnexpectedCharacters as e:
        raise Syntax(f, text, list(postlex.history)).characters(e.pos_in_stream or 0, e.allowed or ()) from None
    except BadDedent as e:
        raise Syntax(f, text, list(postlex.history)).dedent(e) from None
    except (UnexpectedInput, LarkError) as e:  # pragma: no cover - defensive
        raise PolicyError("could not read the policy", f.location(0), help=str(e).split("\n")[0],
                          code="syntax") from None


def _read(data: str | bytes, name: str | None) -> tuple[MapNode, list[PolicyError], Any]:
    """The node tree of what parses, the syntax and structural errors, and what a syntax error lost
    (None when the whole file parses; see ``dsl_recover``)."""
    text = prepare(data, name)
    f = NodeFactory(text, name)
    check_text(f, text)
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.split("\n")):
        raise PolicyError("the policy file is empty", f.location(0), help=_MINIMAL_POLICY, code="empty-policy")
    padded = text if text.endswith("\n") else text + "\n"
    errors: list[PolicyError] = []
    lost = None
    with _lock:
        try:
            tree = _parse_text(padded, f, text)
        except PolicyError as first:
            from lark import Tree

            from .dsl_recover import recover

            items, errors, lost = recover(text, f, first, lambda piece, where: _parse_text(piece, where, piece))
            tree = Tree("start", items)
    reader = Reader(f, text)
    root = reader.read(tree)
    return root, errors + reader.errors, lost


def parse_dsl(data: str | bytes, name: str | None = None) -> MapNode:
    """Read DSL text into the positioned node tree (the YAML shape); PolicyError on bad syntax.

    Raises :class:`PolicyErrors` listing every syntax error (the parts of the file that parse are
    read on, see ``dsl_recover``) and structural problem (such as a setting given twice); semantic
    checks are left to ``build``.
    """
    root, errors, _ = _read(data, name)
    if errors:
        raise PolicyErrors(errors)
    return root


def build_dsl(root: MapNode, name: str | None = None) -> ir.Policy:
    """Check and build the tree of a DSL file (``build_policy``, with its messages in the DSL's words)."""
    from .build import build_policy

    try:
        return build_policy(root, path=name)
    except PolicyError as e:
        raise PolicyErrors([_reword(err) for err in e.errors]) from None


def load_dsl(data: str | bytes, name: str | None = None) -> ir.Policy:
    """Load a policy written in the DSL: parse, then check and build it like a YAML policy."""
    try:
        root, errors, lost = _read(data, name)
        try:
            policy = build_dsl(root, name)
        except PolicyError as e:
            # With syntax errors, the checks that may fail only because of a lost part are left out.
            errors += [err for err in e.errors if lost is None or not lost.explains(err)]
            raise PolicyErrors(errors or list(e.errors)) from None
        if errors:
            raise PolicyErrors(errors)
        return policy
    except RecursionError:  # pragma: no cover - depths are bounded before this could happen
        raise PolicyError("the policy is nested too deeply", None,
                          help="a policy never needs this much nesting; check the brackets", code="policy-limit") from None

