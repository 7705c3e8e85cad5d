"""Issue 24: Shorten / Rephrase / Tone (k = 3) on the first 20 sentences of seed 21, to compare outputs before and after
(run in each checkout: `PYTHONPATH=. python bench/action_cost_sentences.py out.json`)."""
import json, sys, time, torch
torch.set_num_threads(2)
from dllm_core.api import EditError, Editor
from writing.actions import run_action
ed = Editor.load("smollm2-dlm")
d = json.load(open("bench/results/actions_cases_outside_s21_formal.json"))
out = []
for s in d["sentences"][:20]:
    for action in ("shorten", "rephrase", "tone"):
        t = time.perf_counter()
        try:
            r = run_action(ed, action, s, k=3)
            alts = [a.text for a in r.alternatives]
        except EditError as e:
            alts = ["ERR " + str(e)]
        out.append({"action": action, "text": s, "alts": alts, "s": time.perf_counter() - t})
json.dump(out, open(sys.argv[1], "w"), indent=1)
