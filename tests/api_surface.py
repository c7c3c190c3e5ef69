"""The public API as text: every name of ``dunning_engine.__all__`` with its signature, and for
classes their public methods, properties and bases. ``tests/test_public_api.py`` compares it
with ``tests/data/public_api.txt``; after a deliberate API change, regenerate that file with

    python tests/api_surface.py > tests/data/public_api.txt

and say in the commit message what changed for users.
"""

from __future__ import annotations

import inspect


def _sig(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def surface() -> str:
    import dunning_engine as pkg

    lines = [f"__all__ = {sorted(pkg.__all__)}"]
    for name in sorted(pkg.__all__):
        obj = getattr(pkg, name)
        if inspect.isclass(obj):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            lines.append(f"class {name}({bases}){_sig(obj)}")
            for attr, value in sorted(vars(obj).items()):
                if attr.startswith("_"):
                    continue
                if isinstance(value, property):
                    lines.append(f"    {name}.{attr}: property")
                elif isinstance(value, (staticmethod, classmethod)):
                    lines.append(f"    {name}.{attr}{_sig(value.__func__)}  [{type(value).__name__}]")
                elif inspect.isfunction(value):
                    lines.append(f"    {name}.{attr}{_sig(value)}")
        elif callable(obj):
            lines.append(f"def {name}{_sig(obj)}")
        else:
            lines.append(f"{name}: {type(obj).__name__}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(surface(), end="")
