"""Writing actions built on the engine (:mod:`dllm_core`): shorten, rephrase, tone, rewrite and fill a text or a
selection of it, keeping its facts.

Modules: ``actions`` (the actions by name, :func:`~writing.actions.run_action`), ``shorten``, ``rephrase``, ``tone``
and ``rewrite`` (one action each; rewrite also holds fill), ``alternatives`` (what every action shares: its result,
its checks, its batched run), ``words`` (a text's words and the markup built from them), ``scoring`` (how the
actions read text with the model), ``cuts`` (the phrases shorten may cut), ``substitute`` (synonym swaps),
``style`` (rule edits of tone), ``facts`` (the fact check) and ``lexicon`` (WordNet synonyms).

The engine knows nothing of this package; the web app (``ui``), the command line and batch jobs (``cli``) call it.
"""
