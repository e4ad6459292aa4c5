"""Distillation experiments of the training chapter: the ablation table and the label-fraction curve.

For one dataset (the generated default of `make reproduce`, or UCSD Ped2's supervised split) it builds the index, the
Lite0 teacher cache and the teacher probes, trains every named variant for every seed (and label fraction), and writes
one JSON under nbs/results/ with, per run, the val and test AUC and the transfer measures, and per variant the
comparison to the baseline over seeds (paired bootstrap over test videos, share of the gap to the teacher probe).
Everything is chosen on val: the chapter ranks variants by mean val AUC. Finished runs in --work are reused, so an
interrupted call continues.

    python benchmarks/distill_experiments.py ablation --dataset synth
    python benchmarks/distill_experiments.py fractions --dataset synth --variants baseline jsd jsd+u+kd
    python benchmarks/distill_experiments.py fractions --dataset ped2 --variants baseline jsd jsd+u+kd
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from jsdlib.core import write_json, project_root, JsdError
from jsdlib.data import make_synth, write_index, index_summary
from jsdlib.datasets import index_dataset
from jsdlib.teacher import precompute_teacher
from jsdlib.train import train_many, VARIANTS, variant_config
from jsdlib.transfer import train_teacher_probe, transfer_measures
from jsdlib.evaluate import seed_paired_difference, read_run_scores
from jsdlib.reproduce import SCALES, hardware

def dataset(name:str, work:Path, ped2_root:str, p:dict):
    "(index CSV, cache dir) of the dataset, built once under work."
    d = work/name; d.mkdir(parents=True, exist_ok=True)
    if name == 'synth':
        root = make_synth(d/'data', n_clips=p['synth_clips'], n_frames=p['synth_frames'], size=(p['synth_width'], p['synth_height']), seed=0, progress=False)
    elif name == 'ped2': root = Path(ped2_root)
    else: sys.exit(f'unknown dataset {name}')
    if not root.exists(): sys.exit(f'{root}: not found (Ped2 lives in ../shared/data/ucsd_ped2)')
    idx = d/'index.csv'
    if not idx.exists(): write_index(index_dataset(name, root, protocol='supervised', seed=0), idx)
    precompute_teacher(idx, p['teacher'], d/'cache', size=p['teacher_size'], progress=False)
    return idx, d/'cache'

def run_dir(work:Path, variant, fraction, seed)->Path:
    return work/'runs'/f'{variant}_f{fraction}_s{seed}'.replace(' ', '_').replace('=', '')

def probe_dir(work:Path, fraction, seed)->Path: return work/'runs'/f'teacher_probe_f{fraction}_s{seed}'

def job(variant, idx, cache, work:Path, seed, p, fraction=1.):
    "(TrainConfig, run folder) of one variant, seed and label fraction; its teacher probe is fitted first if missing."
    probe = probe_dir(work, fraction, seed)
    if not (probe/'metrics.json').exists():
        train_teacher_probe(idx, cache, probe, train_stride=p['train_stride'], label_fraction=fraction, seed=seed)
    cfg = variant_config(variant, probe, index=str(idx), cache=str(cache), seed=seed, label_fraction=fraction,
                         **{k: p[k] for k in ('student_size', 'epochs', 'batch_size', 'lr', 'lam', 'train_stride')})
    return cfg, run_dir(work, variant, fraction, seed)

def row(variant, out:Path, seed, fraction):
    "The result row of a finished run: val/test AUC and its transfer measures (computed once, kept in transfer.json)."
    m = json.loads((out/'metrics.json').read_text())
    t = json.loads((out/'transfer.json').read_text()) if (out/'transfer.json').exists() else transfer_measures(out)
    return dict(variant=variant, method=VARIANTS[variant][0], seed=seed, fraction=fraction, val_auc=m['val']['roc_auc'], test_auc=m['test']['roc_auc'],
                test_f1=m['test']['f1'], test_recall=m['test']['recall'], seconds=m['seconds'], best_epoch=m['best_epoch'],
                **{k: t[k] for k in ('projector_cos', 'linear_map_r2', 'student_probe_auc')})

def commit()->str|None:
    "The git commit the experiment ran on (with '+changes' when the tree was not clean)."
    import subprocess
    try:
        h = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], capture_output=True, text=True).stdout.strip()
        return h + ('+changes' if dirty else '')
    except (OSError, subprocess.CalledProcessError): return None

def compare(runs_dir:Path, variants, seeds, fraction, n_boot):
    "Per variant: mean test AUC over seeds minus the baseline's, with a paired bootstrap interval; gap to the probe closed."
    base = [read_run_scores(runs_dir/f'baseline_f{fraction}_s{s}') for s in seeds]
    probe = [read_run_scores(runs_dir/f'teacher_probe_f{fraction}_s{s}') for s in seeds]
    out = {}
    for v in variants:
        if v == 'baseline': continue
        other = [read_run_scores(runs_dir/f'{v}_f{fraction}_s{s}'.replace(' ', '_').replace('=', '')) for s in seeds]
        c = seed_paired_difference(base, other, n_boot=n_boot)
        # the probe of each fraction/seed may differ (label draws): its own mean over seeds as the reference
        cp = seed_paired_difference(base, probe, n_boot=n_boot)
        gap = cp['difference']['value']
        out[v] = dict(difference=c['difference'], base=c['base'], other=c['other'], probe=cp['other'],
                      gap_closed=(c['difference']['value'] / gap) if gap > 0 else None, per_seed_difference=c['per_seed_difference'])
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('experiment', choices=['ablation', 'fractions'])
    ap.add_argument('--dataset', choices=['synth', 'ped2'], default='synth')
    ap.add_argument('--variants', nargs='+', default=None, help=f'names from {list(VARIANTS)}')
    ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    ap.add_argument('--fractions', nargs='+', type=float, default=[0.1, 0.25, 0.5, 1.0])
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE', help='override a default-scale parameter')
    ap.add_argument('--work', default='runs/experiments'); ap.add_argument('--out', default=None)
    ap.add_argument('--ped2-root', default=str(project_root().parent/'shared'/'data'/'ucsd_ped2'))
    ap.add_argument('--n-boot', type=int, default=1000); ap.add_argument('--threads', type=int, default=2, help='threads of this process (probes, transfer)')
    ap.add_argument('--workers', type=int, default=None, help='parallel training processes (default: 1.5 per core)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p = dict(SCALES['default'])
    for kv in a.set: k, v = kv.split('=', 1); p[k] = json.loads(v)
    variants = a.variants or (list(VARIANTS) if a.experiment == 'ablation' else ['baseline', 'jsd', 'jsd+u+kd'])
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown: sys.exit(f'unknown variant(s) {unknown}; known: {list(VARIANTS)}')
    if 'baseline' not in variants: variants = ['baseline'] + variants
    fractions = [1.0] if a.experiment == 'ablation' else a.fractions
    work = Path(a.work)/a.dataset; idx, cache = dataset(a.dataset, Path(a.work), a.ped2_root, p)
    out = Path(a.out or f'nbs/results/distill_{a.experiment}_{a.dataset}.json')
    res = json.loads(out.read_text()) if out.exists() else {}
    res.update(experiment=a.experiment, dataset=a.dataset, settings={k: p[k] for k in ('teacher', 'teacher_size', 'student_size', 'epochs', 'batch_size', 'lr', 'lam', 'train_stride')}
               | dict(student_init='random (no MobileNetV3 weights offline)', threshold='best F1 on val', checkpoint='best val AUC',
                      selection='variants ranked by mean val AUC; test reported, never used to choose'),
               variants=res.get('variants', {}) | {v: dict(method=VARIANTS[v][0], options=VARIANTS[v][1], what=VARIANTS[v][2]) for v in variants},
               index_summary=index_summary(pd.read_csv(idx)).reset_index().to_dict('records'), hardware=hardware(), commit=commit())
    rows, t0 = [], time.perf_counter()
    for f in fractions:
        keys = [(v, s) for s in a.seeds for v in variants]
        jobs = [job(v, idx, cache, work, s, p, f) for v, s in keys]
        train_many(jobs, workers=a.workers, progress=True)     # parallel worker processes, one thread each; finished runs reused
        for (v, s), (_, d) in zip(keys, jobs):
            r = row(v, d, s, f); rows.append(r); print(json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in r.items()}), flush=True)
        probes = [json.loads((work/'runs'/f'teacher_probe_f{f}_s{s}'/'metrics.json').read_text()) for s in a.seeds]
        res.setdefault('probe', {})[str(f)] = dict(val_auc=[m['val']['roc_auc'] for m in probes], test_auc=[m['test']['roc_auc'] for m in probes])
        comp = res.setdefault('comparison', {})
        comp[str(f)] = comp.get(str(f), {}) | compare(work/'runs', variants, a.seeds, f, a.n_boot)
        res['runs'] = [r for r in res.get('runs', []) if (r['fraction'], r['variant'], r['seed']) not in {(x['fraction'], x['variant'], x['seed']) for x in rows}] + rows
        res['wall_seconds'] = round(time.perf_counter() - t0, 1)
        write_json(res, out)
    df = pd.DataFrame(rows)
    print(df.groupby(['fraction', 'variant'], sort=False)[['val_auc', 'test_auc', 'linear_map_r2', 'student_probe_auc']].mean().round(3).to_string())
    print(f'wrote {out}')

if __name__ == '__main__': main()
