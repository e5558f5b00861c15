#!/bin/bash
# The device benchmark on a lent GPU machine (its image lists no Node; no node_modules): unpack what
# `node tools/bench/device-bundle.mjs --pack` put in .devbench, install the Vulkan loader from
# .gl (the device README: `apt-get download libvulkan1` into .gl, amd64), probe (Node, the Vulkan
# ICDs, the adapter Dawn finds), then `device.mjs` writing $OUT/device.json and $OUT/device.log.
# Run from the repo root: run(command="bash tools/bench/device-run.sh", carry=[".devbench", ".gl"]).
# BENCH_LIMIT: the script's --time-limit (s); BENCH_TIMEOUT: the kill after it; extra args go to device.mjs.
set -o pipefail
unxz() { xz -d "$1" 2>/dev/null || python3 -c "import lzma,shutil,sys,os;shutil.copyfileobj(lzma.open(sys.argv[1]),open(sys.argv[1][:-3],'wb'));os.remove(sys.argv[1])" "$1"; }
cd .devbench
unxz node.xz; chmod +x node
unxz node_modules/webgpu/dist/linux-x64/dawn.node.xz
ls -la node node_modules/webgpu/dist/linux-x64
cd ..
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
echo "== PROBE"; ./.devbench/node --version; uname -m
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
ldconfig -p | grep libvulkan; nvidia-smi -L; nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv
NV=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1 && [ -f $NV ]; then
  export VK_DRIVER_FILES=$NV VK_ICD_FILENAMES=$NV
  echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
fi
(cd .devbench && timeout 60 ./node --input-type=module -e "const {create,globals}=await import('webgpu');Object.assign(globalThis,globals);const g=create([]);const a=await g.requestAdapter({powerPreference:'high-performance'});console.log('adapter', a ? JSON.stringify({vendor:a.info.vendor,architecture:a.info.architecture,device:a.info.device,description:a.info.description}) : null);process.exit(0)") 2>&1
echo "== BENCH"
timeout ${BENCH_TIMEOUT:-380} ./.devbench/node .devbench/device.mjs --time-limit ${BENCH_LIMIT:-300} --out $OUT/device.json "$@" 2>&1 | tee $OUT/device.log
echo "rc=$?"
