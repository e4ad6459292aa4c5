"""DAKD chapter experiments (nbs/13_dakd.ipynb reads what these write under nbs/results/).

    python benchmarks/dakd_experiments.py grid    # teacher settings on Ped2 *validation*, per fold -> dakd_val_grid_ped2.json
    python benchmarks/dakd_experiments.py ped2    # 3 folds x 3 seeds, every model    -> dakd_ped2.json, dakd_ped2_test_scores.csv, dakd_ped2_timelines.csv
    python benchmarks/dakd_experiments.py synth   # the embedded default, 96 clips     -> dakd_synth.json
    python benchmarks/dakd_experiments.py speed   # backbone and head cost per frame   -> dakd_speed.json

Caches and run folders go under runs/dakd/ (kept: every command resumes). Ped2 is read from ../shared/data/ucsd_ped2
(--ped2-root). Nothing here is chosen on test: the grid reads validation scores only.
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
sys.path.insert(0, str(Path(__file__).resolve().parent))
from distill_experiments import commit
from jsdlib.core import project_root, write_json, atomic_write
from jsdlib.data import make_synth, write_index
from jsdlib.datasets import index_dataset
from jsdlib.teacher import precompute_teacher, build_teacher
from jsdlib.reproduce import hardware
from jsdlib.methods.dakd import (DakdConfig, DakdNet, dakd_variants, run_dakd_experiment, dakd_tables, mixed_auc, summarise_dakd,
                                 dakd_markdown, ped2_weak_folds, choose_on_validation, STREAMS)

RESULTS = project_root()/'nbs'/'results'

def caches(idx, cache, sizes:dict):
    for t in STREAMS: precompute_teacher(idx, t, cache, size=sizes.get(t), progress=False, batch_size=32)

def ped2_data(work:Path, root:str):
    if not Path(root).exists(): sys.exit(f'{root}: not found (Ped2 lives in ../shared/data/ucsd_ped2)')
    folds = ped2_weak_folds(root, work)
    caches(folds[0], work/'cache', {})          # native sizes: Lite0 224, Lite1 240, Lite2 260, motion 224
    return folds

def experiment(folds, work:Path, seeds, snippet:int, out:str, extra:dict, per_fold=None):
    t0 = time.perf_counter()
    tabs = run_dakd_experiment(folds, work/'cache', work/'exp', seeds=seeds, snippet=snippet, per_fold=per_fold)
    val = {n: mixed_auc(t) for n, t in dakd_tables(work/'exp', len(folds), seeds, list(tabs), 'val').items()}
    s = summarise_dakd(tabs, n_boot=1000, progress=True)
    runs = [json.loads(p.read_text()) for p in (work/'exp').glob('fold*/*/metrics.json')]
    res = dict(format='jsdlib-dakd-results/1', commit=commit(), hardware=hardware(), seeds=list(seeds), folds=[str(f) for f in folds],
               config=dict(DakdConfig().__dict__, snippet=snippet), val_mixed_auc=val, summary=s, markdown=dakd_markdown(s),
               n_runs=len(runs), train_seconds=round(sum(m['seconds'] for m in runs), 1), seconds_this_call=round(time.perf_counter() - t0, 1), **extra)
    write_json(res, RESULTS/out); print('\n'.join(res['markdown'])); return tabs

def cmd_grid(a):
    """Teacher settings on validation: pooled over folds (the library defaults) and each fold's own (nested; a fold's
    validation clips are other folds' test clips, so only the per-fold choice is used for the Ped2 results)."""
    work = Path(a.work)/'ped2'; folds = ped2_data(work, a.ped2_root)
    sel = choose_on_validation(folds, work/'cache', Path(a.work)/'grid', seeds=(0, 1))
    for r in sel['rows']: print(r)
    write_json(dict(format='jsdlib-dakd-grid/2', commit=commit(), model='teacher (4 streams, TAM)', seeds=[0, 1], folds=3,
                    metric='micro AUC over the validation clips that hold both classes, mean of seeds', **sel,
                    note="chosen: all folds' validation pooled (the library defaults, used as they are for the embedded default data); "
                         "chosen_per_fold: each fold's own validation only, used for that fold's Ped2 models (nested)"), RESULTS/'dakd_val_grid_ped2.json')

def cmd_ped2(a):
    work = Path(a.work)/'ped2'; folds = ped2_data(work, a.ped2_root)
    per = json.loads((RESULTS/'dakd_val_grid_ped2.json').read_text())['chosen_per_fold']   # `grid` first
    tabs = experiment(folds, work, (0, 1, 2), 16, 'dakd_ped2.json', dict(dataset='ped2', protocol='weak, 3 folds (PED2_FOLDS)', per_fold_settings=per), per)
    short = lambda v: v.str.replace('test_', '', regex=False)
    final = tabs['student-kd'][0]
    with atomic_write(RESULTS/'dakd_ped2_test_scores.csv') as f: final.assign(video=short(final.video))[['video', 'frame', 'score']].to_csv(f, index=False)
    tl = final[['video', 'frame', 'label']].assign(video=short(final.video))
    for n in ('teacher', 'single-lite0', 'student-kd'): tl[n] = tabs[n][0]['score'].round(4).to_numpy()
    with atomic_write(RESULTS/'dakd_ped2_timelines.csv') as f: tl.to_csv(f, index=False)

def cmd_synth(a):
    work = Path(a.work)/'synth'
    root = make_synth(work/'data', n_clips=96, n_frames=40, size=(224, 126), seed=0, progress=False)
    idx = work/'index.csv'
    if not idx.exists(): write_index(index_dataset('synth', root, protocol='weak', seed=0), idx)
    caches(idx, work/'cache', {t: 160 for t in STREAMS})
    experiment([idx], work, (0, 1, 2), 4, 'dakd_synth.json', dict(dataset='synth', protocol='weak', clips=96, frames=40, teacher_size=160))

def _time(f, x, reps:int):
    "Median seconds of one call, after two warm-up calls."
    f(x); f(x); ts = []
    for _ in range(reps): t0 = time.perf_counter(); f(x); ts.append(time.perf_counter() - t0)
    return float(np.median(ts))

@torch.no_grad()
def cmd_speed(a):
    torch.set_num_threads(a.threads); rows = {}
    built = {n: build_teacher(n) for n in STREAMS}
    for rnd in range(2):          # two rounds, the second kept: the first also warms the CPU and the allocator
        for n, t in built.items():
            x = torch.randn(16, 3, t.size, t.size)
            rows[n] = dict(size=t.size, ms_per_frame=1e3 * _time(t, x, a.reps) / 16)
    T = 12   # snippets of a Ped2 clip (~180 frames / 16)
    for name, bb in (('teacher head (4 streams, TAM)', STREAMS), ('student head (lite0, TAM)', ('lite0',))):
        m = DakdNet(DakdConfig(backbones=bb), {b: 1280 for b in bb}).eval()
        xs = {b: torch.randn(1, T, 1280) for b in bb}
        rows[name] = dict(ms_per_frame=1e3 * _time(lambda z: m(z), xs, a.reps * 10) / (T * 16), params=sum(p.numel() for p in m.parameters()))
    bb = sum(rows[n]['ms_per_frame'] for n in STREAMS)
    teacher = bb + rows['teacher head (4 streams, TAM)']['ms_per_frame']; student = rows['lite0']['ms_per_frame'] + rows['student head (lite0, TAM)']['ms_per_frame']
    res = dict(format='jsdlib-dakd-speed/1', commit=commit(), hardware=hardware(), threads=a.threads, batch=16, rows=rows,
               teacher_ms_per_frame=teacher, student_ms_per_frame=student, teacher_over_student=teacher / student,
               student_over_lite0=student / rows['lite0']['ms_per_frame'],
               note='motion = Lite0 on a difference picture (the two frames are decoded anyway); frame decoding is not counted')
    write_json(res, RESULTS/'dakd_speed.json'); print(json.dumps(res, indent=1))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('command', choices=['grid', 'ped2', 'synth', 'speed'])
    ap.add_argument('--work', default=str(project_root()/'runs'/'dakd'))
    ap.add_argument('--ped2-root', default=str(project_root().parent/'shared'/'data'/'ucsd_ped2'))
    ap.add_argument('--threads', type=int, default=2); ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    dict(grid=cmd_grid, ped2=cmd_ped2, synth=cmd_synth, speed=cmd_speed)[a.command](a)
