"""Bounds of the guidance settings, in one place: the options, the hooks, the CLI and the web app import them."""

from __future__ import annotations

MAX_WORDS = 16  # required words, and banned words, per run
MAX_WORD_CHARS = 64  # one required or banned word or phrase
MAX_ATTRIBUTE_STRENGTH = 100.0  # classifier guidance γ in [0, MAX_ATTRIBUTE_STRENGTH]
MAX_CFG = 20.0  # classifier-free guidance scale w in [0, MAX_CFG]
MAX_TOP_K = 64  # candidates rescored per position by exact attribute guidance
MAX_LENGTH_TARGET = 4.0  # auto length: target in (0, MAX_LENGTH_TARGET] × the original, spread in [0, target)
MAX_LENGTH_CANDIDATES = 9  # auto length: candidate lengths drafted per span
