"""``python -m dllm_core ...``: the documented entry point, kept working. The command line itself lives above the
engine, in the ``cli`` package (``python -m cli`` is the same program).

This file is a launcher, not part of the library: importing :mod:`dllm_core` or any of its modules never runs it,
so the engine still imports nothing from the layers above it (tests/test_layers.py checks both). The import is
inside a function so that no module-level import of the engine names a layer above it.
"""

import sys


def run() -> int:
    from cli.main import main  # noqa: PLC0415 (the one upward reference, run only as a program)

    return main()


if __name__ == "__main__":
    sys.exit(run())
