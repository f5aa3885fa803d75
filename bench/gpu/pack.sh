#!/usr/bin/env bash
# Packs the real-GPU kit into .gpu/ (ignored by git), for a GPU server with no
# Node, no npm and no network: Node's binary and Dawn (xz), the Vulkan loader
# (.deb), the kit bundle (kernel suite + our benchmark, esbuild) and the
# PyTorch script. Run here, then carry .gpu/ to the server and run
# bench/gpu/run.sh there. Node and Dawn are recompressed only when they change.
set -euo pipefail
cd "$(dirname "$0")/../.."
G=.gpu
LIMIT=$((64 * 1024 * 1024))
mkdir -p "$G"

# 1. The kit bundle: WGSL inlined, no node_modules needed.
node bench/gpu/build.mjs "$G/kit.mjs"

# 2. Node's binary and dawn.node, xz'd (a stamp file skips unchanged inputs).
pack_xz() { # SRC DEST
  local src=$1 dest=$2 stamp
  stamp="$(stat -c '%n %s %Y' "$src")"
  if [[ -f "$dest" && -f "$dest.stamp" && "$(cat "$dest.stamp")" == "$stamp" ]]; then
    echo "unchanged $dest"
    return
  fi
  echo "xz $src -> $dest"
  xz -T0 -6 -c "$src" > "$dest.tmp"
  mv "$dest.tmp" "$dest"
  echo "$stamp" > "$dest.stamp"
}
pack_xz "$(readlink -f "$(command -v node)")" "$G/node.xz"
pack_xz node_modules/webgpu/dist/linux-x64/dawn.node "$G/dawn.node.xz"
# dawn.node wants GLIBCXX_3.4.30 (GCC 12's libstdc++): carry ours for servers whose libstdc++ is older.
pack_xz "$(readlink -f "$(ldconfig -p | awk '/libstdc\+\+\.so\.6 .*x86-64/ {p = $NF} END {print p}')")" "$G/libstdc++.so.6.xz"

# 3. The Vulkan loader, in case the server lacks libvulkan.so.1.
if ! ls "$G"/libvulkan1_*.deb >/dev/null 2>&1; then
  ( cd "$G" && apt-get download libvulkan1 ) || { apt-get update -qq && ( cd "$G" && apt-get download libvulkan1 ); } ||
    cp /var/cache/apt/archives/libvulkan1_*.deb "$G"/ ||
    echo "warning: no libvulkan1 .deb (apt-get download failed); run.sh needs the server's own loader" >&2
fi

# 4. What runs there besides Node.
cp bench/gpu/torch_bench.py bench/gpu/report.py "$G"/

# 5. A manifest, and the size bound.
node -e '
const fs = require("node:fs"), cp = require("node:child_process");
const G = ".gpu", files = {};
for (const f of fs.readdirSync(G).sort()) {
  const st = fs.statSync(`${G}/${f}`);
  if (st.isFile() && !f.endsWith(".stamp") && f !== "manifest.json") files[f] = st.size;
}
let commit = "";
try { commit = cp.execSync("git rev-parse --short HEAD").toString().trim() + (cp.execSync("git status --porcelain").toString().trim() ? "+dirty" : ""); } catch {}
const m = { packed: new Date().toISOString(), commit, node: process.version, webgpu: require("./node_modules/webgpu/package.json").version, files };
fs.writeFileSync(`${G}/manifest.json`, JSON.stringify(m, null, 1) + "\n");
'
total=$(du -sb "$G" | cut -f1)
ls -la "$G"
echo "packed .gpu: $total bytes (limit $LIMIT)"
if (( total > LIMIT )); then echo "pack.sh: .gpu is over 64 MB" >&2; exit 1; fi
