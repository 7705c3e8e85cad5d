"""The command line and batch jobs: the surfaces of the editor outside the web app.

``python -m dllm_core`` (or ``python -m cli``) runs :func:`cli.main.main`: ``edit`` (:mod:`cli.main`), ``action``
(the writing actions, :mod:`cli.action`), ``batch`` (JSONL in, JSONL out, locally or on Ray: :mod:`cli.batch`),
``models`` and ``setup``. This package sits above the engine (:mod:`dllm_core`), the writing actions
(:mod:`writing`) and, where installed, the guidance package; none of them imports it.
"""
