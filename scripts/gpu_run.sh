#!/usr/bin/env bash
# One device call (see scripts/train_gpu.py): train 3 recipes side by side on the GPU, pick the best on the dev
# slice, report held-out figures, then the GPU engine check. Everything that comes back is written under $OUT:
# the chosen model.safetensors in <16 MB parts (the transfer limit), bundle.json (config, training meta, report),
# train.log, gpu.json.  Reassemble here with:  bash scripts/gpu_run.sh --unpack DIR
set -uo pipefail
if [ "${1:-}" = "--unpack" ]; then
  src=$2; dst=${3:-assets/model}
  cat "$src"/model.safetensors.part* > "$dst/model.safetensors"
  python3 -c "import json,sys; b=json.load(open('$src/bundle.json')); [open('$dst/'+k,'w').write(json.dumps(v, indent=2)+'\n') for k,v in b['files'].items()]"
  exit 0
fi
export PYTHONUNBUFFERED=1
: "${OUT:?set OUT to the folder that receives the results}"; mkdir -p "$OUT"
MIN=${MINUTES:-6}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, transformers, numpy; print('torch', torch.__version__, 'transformers', transformers.__version__)"
timeout $(python3 -c "print(int($MIN*60+150))") python3 scripts/train_gpu.py sweep --minutes "$MIN" --shrink "${SHRINK:-1}" --out /tmp/gpu 2>&1 \
  | grep -v --line-buffered "Loading weights\|Writing model" | tee "$OUT/train.log"
if [ -f /tmp/gpu/best/model.safetensors ]; then
  split -b 15000000 -d /tmp/gpu/best/model.safetensors "$OUT/model.safetensors.part"
  python3 - <<'PY'
import json, os
d = "/tmp/gpu/best"
files = {f: json.load(open(os.path.join(d, f))) for f in ("config.json", "training.json")}
json.dump({"files": files, "report": json.load(open("/tmp/gpu/report.json"))}, open(os.environ["OUT"] + "/bundle.json", "w"))
PY
fi
timeout 75 python3 bench/gpu_check.py --out "$OUT/gpu.json" 2>&1 | tail -40
ls -la "$OUT"
