#!/usr/bin/env bash
# Runs the real-GPU kit that bench/gpu/pack.sh put in .gpu/: unpacks Node and
# Dawn into a work folder (never into .gpu/, which travels), finds a Vulkan
# loader and driver, refuses a CPU adapter (SwiftShader) unless --allow-cpu,
# then runs the kernel suite, our benchmark and PyTorch's, each under its own
# timeout (about 8 minutes in all), writes ONE JSON (gpukit.json) and a log
# into the output folder and prints a table last.
#
#   bash bench/gpu/run.sh [--out DIR] [--allow-cpu] [--skip check,bench,torch]
#
# DIR defaults to $OUT (the device tool's output folder), else ./gpukit-out.
set -uo pipefail
# All of it in one function, so bash has read the whole file before it runs a line
# (a script edited while it runs would otherwise go on from a shifted offset).
main() {
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
G=$ROOT/.gpu
OUTDIR=${OUT:-$PWD/gpukit-out}
ALLOW_CPU=0
SKIP=,
while (($#)); do
  case $1 in
    --out) OUTDIR=$2; shift 2 ;;
    --allow-cpu) ALLOW_CPU=1; shift ;;
    --skip) SKIP=",$2,"; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -f $G/kit.mjs && -f $G/node.xz && -f $G/dawn.node.xz ]] || { echo "run.sh: .gpu/ is not packed: run bash bench/gpu/pack.sh first" >&2; exit 2; }
mkdir -p "$OUTDIR"
W=${KIT_WORK:-${TMPDIR:-/tmp}/gpukit-work}
P=$W/parts
mkdir -p "$W/dist/linux-x64" "$P"
rm -f "$P"/*.json
LOG=$OUTDIR/gpukit.log
: > "$LOG"
T0=$(date +%s)
say() { echo "$*" | tee -a "$LOG" >&2; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$W}
CPUFLAG=()
((ALLOW_CPU)) && CPUFLAG=(--allow-cpu)

# ---- unpack (skipped when the work folder already holds this pack); Python's lzma where xz is missing
unxz() {
  if command -v xz >/dev/null; then xz -d -c "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
if [[ ! -x $W/node || ! -f $W/stamp || "$(cat "$W/stamp")" != "$(cat "$G/manifest.json" 2>/dev/null)" ]]; then
  unxz "$G/node.xz" > "$W/node" && chmod +x "$W/node"
  unxz "$G/dawn.node.xz" > "$W/dist/linux-x64/dawn.node"
  cat "$G/manifest.json" > "$W/stamp" 2>/dev/null
fi
cp "$G/kit.mjs" "$W/kit.mjs"
NODE=$W/node
"$NODE" -v >> "$LOG" 2>&1 || { say "run.sh: the carried Node does not start here (glibc/libstdc++?)"; "$NODE" -v; exit 2; }

# ---- Vulkan loader: the system's, else the carried .deb
# (grep without -q: with pipefail, grep -q quitting early makes ldconfig's SIGPIPE fail the test)
have_loader() {
  [[ -n ${KIT_CARRIED_LOADER:-} ]] && return 1 # force the carried loader (to test that path)
  ldconfig -p 2>/dev/null | grep -c 'libvulkan\.so\.1 ' >/dev/null && return 0
  local f
  for f in /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1; do
    [[ -e $f ]] && return 0
  done
  return 1
}
LOADER=system
if ! have_loader; then
  deb=$(ls "$G"/libvulkan1_*.deb 2>/dev/null | head -1)
  if [[ -n $deb ]]; then
    mkdir -p "$W/vulkan"
    if command -v dpkg >/dev/null; then dpkg -x "$deb" "$W/vulkan"
    else python3 - "$deb" "$W/vulkan" <<'PY'
import io, sys, tarfile
data = open(sys.argv[1], 'rb').read()
pos = 8  # an ar archive: "!<arch>\n", then 60-byte headers
while pos < len(data):
    name = data[pos:pos + 16].decode().strip().rstrip('/')
    size = int(data[pos + 48:pos + 58].decode().strip())
    body = data[pos + 60:pos + 60 + size]
    if name.startswith('data.tar'):
        tarfile.open(fileobj=io.BytesIO(body)).extractall(sys.argv[2])
    pos += 60 + size + (size & 1)
PY
    fi
    libdir=$(dirname "$(find "$W/vulkan" -name 'libvulkan.so.1*' | head -1)")
    export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    LOADER="carried ($libdir)"
  else
    LOADER=missing
  fi
fi
# dawn.node needs GLIBCXX_3.4.30: with an older system libstdc++, use the carried one.
DAWN_LOAD=$("$NODE" -e "require(process.argv[1])" "$W/dist/linux-x64/dawn.node" 2>&1)
if [[ $DAWN_LOAD == *GLIBCXX* || $DAWN_LOAD == *CXXABI* ]] && [[ -f $G/libstdc++.so.6.xz ]]; then
  mkdir -p "$W/lib" && unxz "$G/libstdc++.so.6.xz" > "$W/lib/libstdc++.so.6"
  export LD_LIBRARY_PATH=$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "using the carried libstdc++ ($DAWN_LOAD)"
  DAWN_LOAD=$("$NODE" -e "require(process.argv[1])" "$W/dist/linux-x64/dawn.node" 2>&1)
fi
[[ -z $DAWN_LOAD ]] || say "dawn.node does not load: $DAWN_LOAD"
say "node $("$NODE" -v), Vulkan loader: $LOADER"

# ---- the adapter: as found, then with each known NVIDIA ICD file
probe() { timeout -k 5 20 "$NODE" "$W/kit.mjs" probe --allow-cpu 2>>"$LOG"; }
is_gpu() { [[ $1 == *'"isCpu":false'* ]]; }
ADAPTER=$(probe | tail -1)
if ! is_gpu "$ADAPTER" && [[ -z ${VK_DRIVER_FILES:-} && -z ${VK_ICD_FILENAMES:-} ]]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [[ -f $icd ]] || continue
    A=$(VK_DRIVER_FILES=$icd probe | tail -1)
    if is_gpu "$A"; then export VK_DRIVER_FILES=$icd; ADAPTER=$A; break; fi
  done
fi
say "adapter: ${ADAPTER:-none}"
IS_GPU=0
is_gpu "$ADAPTER" && IS_GPU=1
if ((!IS_GPU && !ALLOW_CPU)); then
  say "run.sh: no real GPU adapter (${ADAPTER:-none found}); refusing to benchmark a CPU adapter (pass --allow-cpu)"
  echo "{\"refused\": true, \"adapter\": ${ADAPTER:-null}, \"loader\": \"$LOADER\"}" > "$OUTDIR/gpukit.json"
  exit 3
fi

# ---- the parts, each under its own timeout (GPU: about 7.5 minutes at most in all)
if ((IS_GPU)); then T_CHECK=150 T_BENCH=210 T_TORCH=110 BENCH_MAX=180 TORCH_MAX=80
else T_CHECK=${KIT_T_CHECK:-420} T_BENCH=240 T_TORCH=150 BENCH_MAX=180 TORCH_MAX=100; fi
part() { # NAME TIMEOUT CMD...
  local name=$1 t=$2 s rc
  shift 2
  if [[ $SKIP == *",$name,"* ]]; then echo "{\"skipped\": \"--skip\"}" > "$P/$name.status"; return; fi
  s=$(date +%s)
  say "== $name (timeout ${t}s)"
  timeout -k 10 "$t" "$@" >>"$LOG" 2> >(tee -a "$LOG" >&2)
  rc=$?
  echo "{\"rc\": $rc, \"seconds\": $(( $(date +%s) - s )), \"timedOut\": $([[ $rc == 124 || $rc == 137 ]] && echo true || echo false)}" > "$P/$name.status"
}
CHECK_ONLY=()
[[ -n ${KIT_CHECK_ONLY:-} ]] && CHECK_ONLY=(--only "$KIT_CHECK_ONLY")
part check $T_CHECK "$NODE" "$W/kit.mjs" check ${CPUFLAG[@]+"${CPUFLAG[@]}"} ${CHECK_ONLY[@]+"${CHECK_ONLY[@]}"} --json "$P/check.json"
part bench $T_BENCH "$NODE" "$W/kit.mjs" bench ${CPUFLAG[@]+"${CPUFLAG[@]}"} --max-s $BENCH_MAX --json "$P/bench.json"

# PyTorch: a python3 that has torch (the first on PATH, else the system's)
PY=
for c in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$c" >/dev/null && "$c" -c 'import torch' 2>/dev/null; then PY=$c; break; fi
done
if [[ -z $PY ]]; then echo '{"skipped": "no python3 with torch"}' > "$P/torch.status"
elif "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  part torch $T_TORCH "$PY" "$G/torch_bench.py" --device cuda --max-s $TORCH_MAX --json "$P/torch.json"
elif ((ALLOW_CPU)); then
  part torch $T_TORCH "$PY" "$G/torch_bench.py" --device cpu --cpu-sizes --max-s $TORCH_MAX --json "$P/torch.json"
else echo '{"skipped": "torch.cuda.is_available() is false"}' > "$P/torch.status"
fi

# ---- one JSON, one table
PYR=$(command -v python3 || echo /usr/bin/python3)
"$PYR" "$G/report.py" --parts "$P" --out "$OUTDIR/gpukit.json" --adapter "$ADAPTER" --loader "$LOADER" \
  --driver-files "${VK_DRIVER_FILES:-}" --seconds $(( $(date +%s) - T0 )) --manifest "$G/manifest.json" | tee -a "$LOG"
rc=${PIPESTATUS[0]}
# The log stays small: its last 2 MB.
if [[ $(stat -c %s "$LOG") -gt 2000000 ]]; then tail -c 2000000 "$LOG" > "$LOG.tmp" && mv "$LOG.tmp" "$LOG"; fi
exit $rc
}
main "$@"
