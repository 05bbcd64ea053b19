#!/usr/bin/env bash
# Throughput benchmarks of kerasynth's image models on a machine with a GPU.
#
# Creates (or reuses) a virtual environment, installs kerasynth with the CUDA
# build of its TensorFlow, then runs, for dcgan, pix2pix and beta_vae:
#   - train_throughput.py at batch 64, every policy (float32, mixed_float16,
#     mixed_bfloat16) with XLA off and on;
#   - sample_throughput.py (generate() and the exported SavedModel, against
#     training at batch 64).
# Every measurement is a JSON line in one file named after the host and the
# date (benchmarks/results/gpu-HOST-DATE.jsonl); the tables go to a .log file
# beside it. benchmarks/README.md says how to read them.
#
# Usage: bash benchmarks/gpu.sh [VENV]   (default VENV: .venv-gpu in the repo)
#
# Environment (all optional):
#   PYTHON        interpreter that creates the venv (default python3, >= 3.11)
#   SKIP_INSTALL  1: use the venv as it is (no pip)
#   DATA          image data for every run (default: the embedded slices)
#   DATA_REPEAT   repeat the data N times (default 8: 1040 embedded images,
#                 16 steps of 64 per epoch)
#   EPOCHS        timed epochs per round (default 3)
#   REPEATS       rounds (default 3)
#   MODELS        space-separated models (default "dcgan pix2pix beta_vae")
#   RESULTS_DIR   where the results go (default benchmarks/results)

set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-${repo}/.venv-gpu}"
python="${PYTHON:-python3}"
data_repeat="${DATA_REPEAT:-8}"
epochs="${EPOCHS:-3}"
repeats="${REPEATS:-3}"
read -r -a models <<<"${MODELS:-dcgan pix2pix beta_vae}"
results_dir="${RESULTS_DIR:-${repo}/benchmarks/results}"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="${results_dir}/gpu-$(hostname -s)-${stamp}.jsonl"
log="${results%.jsonl}.log"
mkdir -p "${results_dir}"

# Say where the partial results are if a step fails.
trap 'echo "gpu.sh failed; partial results: ${results} (log: ${log})" >&2' ERR

if [[ ! -x "${venv}/bin/python" ]]; then
  echo "Creating ${venv}"
  "${python}" -m venv "${venv}"
fi
py="${venv}/bin/python"

if [[ "${SKIP_INSTALL:-0}" != 1 ]]; then
  "${py}" -m pip install --upgrade pip
  "${py}" -m pip install -e "${repo}" psutil
  # The CUDA libraries for the TensorFlow version kerasynth got (Linux).
  tf_version="$("${py}" -c 'import importlib.metadata as m; print(m.version("tensorflow"))')"
  "${py}" -m pip install "tensorflow[and-cuda]==${tf_version}"
fi

if ! "${py}" - <<'EOF'; then
import sys

import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
print(f"TensorFlow {tf.__version__}, GPUs: {gpus}")
sys.exit(0 if gpus else 1)
EOF
  echo "error: TensorFlow sees no GPU in ${venv}; nothing measured." >&2
  exit 1
fi

{
  echo "# gpu.sh on $(hostname) at ${stamp}"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
      --format=csv
  fi
} | tee -a "${log}"

data_args=()
if [[ -n "${DATA:-}" ]]; then
  data_args=(--data "${DATA}")
fi

# Runs one benchmark script with the arguments every run shares; JSON lines
# go to ${results}, everything printed also to ${log}.
run() {
  local script="$1"
  shift
  echo "## ${script} $*" | tee -a "${log}"
  "${py}" "${repo}/benchmarks/${script}" "$@" \
    ${data_args[@]+"${data_args[@]}"} --data-repeat "${data_repeat}" \
    --batch-size 64 --repeats "${repeats}" --output "${results}" 2>&1 |
    tee -a "${log}"
}

for model in "${models[@]}"; do
  run train_throughput.py --model "${model}" --epochs "${epochs}" \
    --policy float32,mixed_float16,mixed_bfloat16 --jit off,on
done

for model in "${models[@]}"; do
  run sample_throughput.py --model "${model}" --epochs "${epochs}" \
    --batch-sizes 1,64,256,1024 --num 4096
done

echo
echo "Results (JSON lines): ${results}"
echo "Tables and messages:  ${log}"
