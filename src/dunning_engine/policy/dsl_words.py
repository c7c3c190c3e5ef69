"""The words of the DSL (SPEC §3): what may start a line, where, and the keywords.

The action words and their options are the vocabulary's (:mod:`dunning_engine.vocabulary`); the
grammar (``grammar/dsl.lark``) spells the same words, which ``tests/test_vocabulary.py`` checks.
"""

from __future__ import annotations

from ..vocabulary import ACTIONS

__all__ = ["TOP_WORDS", "RULE_WORDS", "STATE_WORDS", "ACTION_WORDS", "ACTION_FIRST_WORDS", "CONTACT_WORDS",
           "DSL_KEYWORDS", "ACTION_OPTIONS", "ACTION_ALIASES"]

# What may start a line, by place (for messages and did-you-mean hints).
TOP_WORDS = ("policy", "version", "description", "scope", "timezone", "calendar", "currency", "send at",
             "allocation", "segment", "invariant", "state", "any state", "contact", "rate")
RULE_WORDS = ("at", "after", "every", "on", "when", "unless", "rule")
STATE_WORDS = ("on enter", "on exit") + RULE_WORDS
ACTION_WORDS = tuple(spec.dsl for spec in ACTIONS.values())
ACTION_FIRST_WORDS = tuple(spec.keyword for spec in ACTIONS.values())
CONTACT_WORDS = ("window", "no contact on holidays", "limit", "gap", "compliance")

# The YAML names of actions that the DSL spells otherwise (write_off -> 'write off').
ACTION_ALIASES = {name: spec.dsl for name, spec in ACTIONS.items() if spec.dsl != name}

# Options of each action: DSL word -> parameter name (SPEC §1).
ACTION_OPTIONS: dict[str, dict[str, str]] = {
    name: {word: p.name for word, p in spec.options.items()} for name, spec in ACTIONS.items() if spec.params}

_ACTION_KEYWORDS = {word for spec in ACTIONS.values() for is_value, words in spec.layout if not is_value
                    for word in words} | {word for spec in ACTIONS.values() for word in spec.options}

DSL_KEYWORDS = frozenset(
    "policy version description scope timezone calendar currency send at allocation segment invariant state initial final "
    "any except on enter exit rule after every max starting when unless expires "
    "contact window no holidays limit gap compliance per via rate".split()) | _ACTION_KEYWORDS
