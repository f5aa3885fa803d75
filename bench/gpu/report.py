#!/usr/bin/env python3
"""Merges the kit's parts (check, bench, torch: JSON plus a .status each) into
one JSON and prints one table last. Exit 0 only when every part that ran
succeeded and the kernel suite passed in full."""
import argparse
import json
import os


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return None if isinstance(e, OSError) else {'error': f'unreadable JSON: {e}'}


def fmt(v, d=2):
    if v is None:
        return '-'
    if isinstance(v, float):
        return f'{v:.{d}f}' if abs(v) < 1e4 else f'{v:.0f}'
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--parts', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--adapter', default='')
    ap.add_argument('--loader', default='')
    ap.add_argument('--driver-files', default='')
    ap.add_argument('--seconds', type=int, default=0)
    ap.add_argument('--manifest', default='')
    a = ap.parse_args()
    try:
        adapter = json.loads(a.adapter).get('adapter')
    except ValueError:
        adapter = None
    res = {'kit': 'webgpu-rnn bench/gpu', 'adapter': adapter, 'vulkanLoader': a.loader,
           'VK_DRIVER_FILES': a.driver_files or None, 'seconds': a.seconds, 'manifest': load(a.manifest) if a.manifest else None}
    ok = True
    for name in ('check', 'bench', 'torch'):
        status = load(os.path.join(a.parts, f'{name}.status')) or {'missing': True}
        body = load(os.path.join(a.parts, f'{name}.json'))
        if body:
            body.pop('adapter', None)  # once, at the top
            body.pop('part', None)
        res[name] = {'status': status, **(body or {})}
        if 'rc' in status and status['rc'] != 0:
            ok = False
    chk = res['check'].get('summary')
    if chk and (chk.get('failed') or not chk.get('done')):
        ok = False
    res['ok'] = ok
    with open(a.out, 'w') as f:
        json.dump(res, f, indent=1)
        f.write('\n')

    # ---- the table
    lines = []
    ad = adapter or {}
    lines.append(f"adapter: {ad.get('vendor', '?')} {ad.get('architecture', '')} {ad.get('description', '')}"
                 f" ({'CPU' if ad.get('isCpu') else 'GPU'}); loader {a.loader}; {a.seconds} s in all")
    for name in ('check', 'bench', 'torch'):
        st = res[name]['status']
        lines.append(f'  {name}: ' + ', '.join(f'{k} {v}' for k, v in st.items()))
    if chk:
        lines.append(f"kernel suite: {chk['passed']}/{chk['total']} passed ({chk['ran']} ran{'' if chk['done'] else ', cut short'}), "
                     f"{chk['failed']} failed, seed {res['check'].get('seed')}, {chk['seconds']} s")
        for fl in res['check'].get('failures', [])[:5]:
            lines.append(f"  FAIL {fl['name']}: {fl.get('error', '')[:160]}")
    torch_rows = {r['model']: r for r in res['torch'].get('train', []) or []}
    ours = res['bench'].get('train') or []
    if ours or torch_rows:
        lines.append('')
        lines.append(f"{'model':<20} {'sizes':<26} {'ours GPU ms':>11} {'ours wall':>9} {'disp':>5} {'torch ms':>9} {'ours/torch':>10}")
        for r in ours or [{'model': m} for m in torch_rows]:
            t = torch_rows.get(r['model'], {})
            s = r.get('sizes') or t.get('sizes') or {}
            sizes = ' '.join(f'{k}={v}' for k, v in s.items() if v is not None)
            mine = r.get('gpuMs') if r.get('gpuMs') is not None else r.get('wallMs')
            theirs = t.get('gpuMs')
            ratio = f'{mine / theirs:.1f}x' if mine and theirs else '-'
            note = r.get('skipped') or r.get('error') or ''
            lines.append(f"{r['model']:<20} {sizes:<26} {fmt(r.get('gpuMs')):>11} {fmt(r.get('wallMs')):>9} {fmt(r.get('dispatches')):>5} "
                         f"{fmt(theirs):>9} {ratio:>10} {note}")
    gem = res['bench'].get('gemm') or []
    tg = {g['n']: g for g in res['torch'].get('gemm', []) or []}
    if gem:
        lines.append('')
        lines.append(f"{'GEMM n^3':<10} {'variant':<7} {'GPU GFLOP/s':>11} {'wall GFLOP/s':>12} {'torch':>8} {'spot ok':>7}")
        for g in gem:
            lines.append(f"{g['n']:<10} {g['variant']:<7} {fmt(g.get('gpuGflops'), 1):>11} {fmt(g.get('wallGflops'), 1):>12} "
                         f"{fmt(tg.get(g['n'], {}).get('gflops'), 1):>8} {fmt(g.get('ok', g.get('skipped'))):>7}")
    d = res['bench'].get('dispatch')
    if isinstance(d, dict) and 'error' not in d:
        lines.append('')
        lines.append(f"dispatch: record {fmt(d['dispatchRecordUs'])} us, GPU {fmt(d['dispatchGpuUs'])} us each ({d['dispatchesPerSubmit']} per submit); "
                     f"submit {fmt(d['submitUs'])} us; round trip {fmt(d['roundTripUs'])} us; read-back {fmt(d['readBackUs'])} us")
    for name in ('bench', 'torch'):
        if isinstance(res[name].get('error'), str):
            lines.append(f'{name} error: {res[name]["error"][:200]}')
    if ad.get('isCpu'):
        lines.append('(CPU adapter, --allow-cpu: shrunk sizes, CPU times of this machine; the ratios say nothing about GPUs)')
    lines.append(f"result: {'OK' if ok else 'NOT OK'} -> {a.out}")
    print('\n'.join(lines))
    return 0 if ok else 1


if __name__ == '__main__':
    raise SystemExit(main())
