"""The DSL form of a policy (SPEC §3). Not implemented yet: see issue 4."""
from ..errors import PolicyError


def load_dsl(text, name=None):
    raise PolicyError("the DSL form (.dunning) is not supported yet in this version",
                      help="write the policy in the YAML form (.yaml)")
