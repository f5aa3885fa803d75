// Before any module runs: count what every WebGPU user in this page
// (ours and TF.js) records and allocates. The pages read window.__gpuCount
// (bench/common.ts gpuCount) around each step. A classic script, loaded first.
(() => {
  const c = (window.__gpuCount = { dispatches: 0, submits: 0, buffers: 0, bindGroups: 0 });
  const wrap = (proto, name, key) => {
    const f = proto && proto[name];
    if (typeof f !== 'function') return;
    proto[name] = function (...args) {
      c[key]++;
      return f.apply(this, args);
    };
  };
  if (typeof GPUComputePassEncoder !== 'undefined') {
    wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', 'dispatches');
    wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', 'dispatches');
  }
  if (typeof GPUQueue !== 'undefined') wrap(GPUQueue.prototype, 'submit', 'submits');
  if (typeof GPUDevice !== 'undefined') {
    wrap(GPUDevice.prototype, 'createBuffer', 'buffers');
    wrap(GPUDevice.prototype, 'createBindGroup', 'bindGroups');
  }
})();
