"""Fast-AED students distilled from the object teacher (chapter 14) on UCSD Ped2 (issue: distilling a teacher that knows).

    python benchmarks/fast_aed_objects.py [--root ../shared/data/ucsd_ped2] [--objects-run runs/objects_ped2/run]
                                          [--work runs/fast_objects] [--jobs 2]

The index is chapter 12's (Ped2's official split plus 200 synthetic-anomaly clips), with the object teacher's own 3
held-out training clips as validation (val_clips 3, seed 0: the same clips), so student and teacher train on the same
13 clips and hold out the same 3; neither sees a test clip while fitting. The object teacher's maps are cached once
for every row (resumable); the motion teacher is fitted and cached beside it.

Nothing is chosen on test, and nothing is chosen at all here: every setting is fixed in advance (chapter 12's
validation-chosen learning rate 1e-4, 12 epochs, 64x96, frame stride 2) and every run is reported. The runs: the
paper-width student from the object teacher; the narrow student (the `small, 64x96` configuration, >= 1,480
frames/s model-only with ONNX Runtime on 2 threads in nbs/results/fast_aed_speed.json); the same default without the
adversarial terms, without the synthetic clips, and with the motion teacher added. Writes
nbs/results/fast_aed_objects_ped2.json and nbs/results/fast_aed_objects_ped2_test_scores.csv (the default student's
post-processed test scores: video two-digit, frame 0-based, score; 2,010 rows).
"""
import argparse, json, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fast_aed_experiments import SMALL, run_all, summary   # the same one-thread training processes as chapter 12's

BASE = dict(size=[64, 96], epochs=12, frame_stride=2, lr=1e-4, coords=False, teachers=['objects'], val_clips=3)
DEFAULT, NARROW = 'default (paper width, 64x96), object teacher', 'narrow (small, 64x96), object teacher'
RUNS = {DEFAULT: BASE, NARROW: dict(BASE, **SMALL),
        'no adversarial terms': dict(BASE, adv_weight=0.),
        "no synthetic anomalies (the paper's data)": dict(BASE, synthetic=False),
        'object + motion teachers': dict(BASE, teachers=['objects', 'motion'])}


def main():
    from jsdlib.methods.fast_aed import fast_data, cache_maps, auc_intervals
    from jsdlib.speed import hardware_info
    from jsdlib.core import write_json
    import pandas as pd, torch
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', default=str(ROOT.parent/'shared'/'data'/'ucsd_ped2'))
    ap.add_argument('--objects-run', default=str(ROOT/'runs'/'objects_ped2'/'run'))
    ap.add_argument('--work', default=str(ROOT/'runs'/'fast_objects'))
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--n-boot', type=int, default=1000)
    ap.add_argument('--only', nargs='*', default=None, metavar='N',
                    help='train only these runs (0-based positions in RUNS; the default and narrow ones are needed)')
    a = ap.parse_args()
    work = Path(a.work); torch.set_num_threads(2); t0 = time.time()
    df = fast_data('ped2', a.root, work, 200, val_clips=3, seed=0, progress=False)
    cache = cache_maps(df, work/'cache', ('objects', 'motion'), progress=False, objects_run=a.objects_run)
    print('teachers cached', {k: v.get('seconds') for k, v in cache.items()}, flush=True)
    todo = RUNS if a.only is None else {k: v for i, (k, v) in enumerate(RUNS.items()) if str(i) in a.only}
    runs = run_all(a.jobs, a.root, work, todo)
    rows = {k: summary(p) for k, p in runs.items()}
    d = pd.read_csv(runs[DEFAULT]/'scores_test.csv', dtype={'video': str})
    n = pd.read_csv(runs[NARROW]/'scores_test.csv', dtype={'video': str})
    iv = {'default student': auc_intervals(d, n_boot=a.n_boot), 'narrow student': auc_intervals(n, n_boot=a.n_boot)}
    obj = json.loads((ROOT/'nbs'/'results'/'objects_ped2.json').read_text())
    speed = json.loads((ROOT/'nbs'/'results'/'fast_aed_speed.json').read_text())
    fps = {r['model']: round(r['fps']) for r in speed['rows'] if r['engine'] == 'onnxruntime' and r['batch'] == 64}
    write_json(dict(format='jsdlib-fast-aed-objects-ped2/1', default=DEFAULT, narrow=NARROW, settings=RUNS, runs=rows,
                    not_run=[k for k in RUNS if k not in todo],
                    intervals=iv, objects_run=str(a.objects_run), objects_teacher_test=obj['test']['chosen (score)'],
                    objects_teacher_chosen=obj['chosen'],
                    narrow_fps_onnxruntime_batch64=fps.get('small, 64x96'), speed_source='nbs/results/fast_aed_speed.json',
                    hardware=hardware_info(), minutes=round((time.time() - t0) / 60, 1),
                    note='UCSD Ped2 official test split (12 clips, 2,010 frames); validation = the object teacher\'s 3 '
                         'held-out normal training clips; one seed per configuration; every setting fixed in advance, '
                         'nothing chosen; micro = pooled frames, macro = mean over videos with both classes; post = '
                         'temporal Gaussian sigma 21 (the paper); the teacher row is the object teacher\'s maps scored '
                         'as Fast-AED scores a teacher (map_score, sigma 21); last epoch kept'),
               ROOT/'nbs/results/fast_aed_objects_ped2.json')
    d.assign(video=d['video'].str.replace('test_', '', regex=False))[['video', 'frame', 'score']].to_csv(
        ROOT/'nbs/results/fast_aed_objects_ped2_test_scores.csv', index=False, float_format='%.6f')
    print(pd.DataFrame({k: dict(micro=v['post']['micro_auc'], macro=v['post']['macro_auc'],
                                teacher=v['teachers']['objects']['post']['micro_auc'], s=v['train_seconds'])
                        for k, v in rows.items()}).T.round(4).to_string())


if __name__ == '__main__': main()
