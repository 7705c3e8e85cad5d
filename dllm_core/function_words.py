"""The function words of English, listed once: words that carry no fact of their own (they start sentences without
being names). The engine's gate (:mod:`dllm_core.gate`) does not count their repetition; the writing actions
(:mod:`writing.facts`, :mod:`writing.words`, cuts and swaps) treat them apart."""

FUNCTION_WORDS = frozenset("""a an the this that these those it its he she they we i you his her their our my your
him them us me who whom whose which what when where why how there here then than so but and or nor yet if because
as at by for from in into of off on onto out over to under up with without about after before during since until
while although though also just only even still some any many much most more few all both each every no not one
other such very can could may might must shall should will would do does did done be is am are was were been being
have has had having say says said today yesterday now once however meanwhile plus minus versus""".split())
