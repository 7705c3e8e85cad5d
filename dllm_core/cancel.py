"""Cancelling one request's work from outside it: a cancel scope.

A caller that may have to give up a request (a server whose client went away, a Stop button) runs the request's
work inside ``with scope(token):``, where ``token`` is anything with ``is_set()`` (a :class:`threading.Event`), and
sets the token from another thread. The engine calls :func:`check` before every forward pass of the model and
before each of its layers (:func:`watch`), so the work raises :class:`Cancelled` within one layer's time of the
token being set: at most one more forward pass begins, and it stops at its next layer.

The scope is a context variable: it reaches the code the request runs in its own thread and nothing else. A forward
pass that the step batcher runs for several requests at once (:mod:`dllm_core.batching`) runs in the batcher's own
thread, outside every request's scope, so cancelling one request never cancels the pass the others share; the
cancelled request raises before it hands its next step in. :class:`Cancelled` is a :class:`BaseException` (as
``KeyboardInterrupt`` is), so the engine's own fallbacks (``except Exception``) do not turn it into a degraded
result and keep computing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Cancelled", "Token", "check", "scope", "watch"]


class Token(Protocol):
    def is_set(self) -> bool: ...


class Cancelled(BaseException):
    """The request's cancel token was set: its work stopped before a forward pass or a layer."""


_current: contextvars.ContextVar[Token | None] = contextvars.ContextVar("dllm_cancel_token", default=None)


@contextmanager
def scope(token: Token | None) -> Iterator[None]:
    """Run the block under ``token`` (None: no scope, nothing is cancelled); scopes nest, the innermost counts."""
    reset = _current.set(token)
    try:
        yield
    finally:
        _current.reset(reset)


def check() -> None:
    """Raise :class:`Cancelled` when the current scope's token is set (cheap: a context-variable read)."""
    token = _current.get()
    if token is not None and token.is_set():
        raise Cancelled("cancelled")


def _check_hook(module, args) -> None:  # noqa: ARG001 (a forward pre-hook)
    check()


def watch(model) -> None:
    """Check before every layer of ``model``: each module held in one of its outermost ``ModuleList``s (the
    transformer blocks of every model here; not the lists inside a block, such as a mixture of experts' experts,
    which would add a check per expert to every pass) gets a forward pre-hook that calls :func:`check`, once (a
    second call adds none)."""
    import torch  # noqa: PLC0415

    inside: list[str] = []  # the names of the layers hooked: lists within them are left alone
    for name, lst in model.named_modules():
        if not isinstance(lst, torch.nn.ModuleList) or any(name.startswith(f"{p}.") for p in inside):
            continue
        for index, layer in enumerate(lst):
            inside.append(f"{name}.{index}" if name else str(index))
            if not getattr(layer, "_dllm_cancel_watched", False):
                layer.register_forward_pre_hook(_check_hook)
                layer._dllm_cancel_watched = True
