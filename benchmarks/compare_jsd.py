"""Baseline vs JSD over several seeds on the generated default data and on UCSD Ped2.

Writes nbs/results/jsd_comparison.json (read by the training chapter). Reuses finished runs and caches in --work,
so an interrupted run continues. Prints a table per dataset. Takes tens of minutes on 2 CPU cores at the defaults.

    python benchmarks/compare_jsd.py --datasets synth ped2 --seeds 0 1 2
"""
import argparse, json, os, platform, sys, time
from pathlib import Path
import torch, pandas as pd
from jsdlib.core import write_json, project_root
from jsdlib.data import make_synth, index_dataset, write_index, index_summary
from jsdlib.teacher import precompute_teacher
from jsdlib.train import compare_methods, summarize_comparison

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--datasets', nargs='+', default=['synth', 'ped2'])
ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
ap.add_argument('--work', default='runs/compare'); ap.add_argument('--out', default='nbs/results/jsd_comparison.json')
ap.add_argument('--ped2-root', default=str(project_root().parent/'shared'/'data'/'ucsd_ped2'))
ap.add_argument('--synth-clips', type=int, default=48); ap.add_argument('--synth-frames', type=int, default=48)
ap.add_argument('--teacher', default='lite0'); ap.add_argument('--teacher-size', type=int, default=224)
ap.add_argument('--student-size', type=int, default=96); ap.add_argument('--epochs', type=int, default=4)
ap.add_argument('--train-stride', type=int, default=2)
ap.add_argument('--no-proj-relu', action='store_true', help='projector without the final ReLU (ablation)')
ap.add_argument('--name', default=None, help='store the result under DATASET:NAME (an ablation)')
ap.add_argument('--batch-size', type=int, default=32); ap.add_argument('--lr', type=float, default=1e-3); ap.add_argument('--lam', type=float, default=0.5)
a = ap.parse_args()
work = Path(a.work); out = Path(a.out)
res = json.loads(out.read_text()) if out.exists() else dict(datasets={})
for ds in a.datasets:
    t0 = time.perf_counter(); d = work/ds; d.mkdir(parents=True, exist_ok=True)
    key = f'{ds}:{a.name}' if a.name else ds; runs_dir = d/('runs' if not a.name else f'runs_{a.name}')
    if ds == 'synth': root = make_synth(d/'data', n_clips=a.synth_clips, n_frames=a.synth_frames, seed=0)
    elif ds == 'ped2': root = Path(a.ped2_root)
    else: sys.exit(f'unknown dataset {ds}')
    idx = write_index(index_dataset(ds, root, protocol='supervised', seed=0), d/'index.csv')
    precompute_teacher(idx, a.teacher, d/'cache', size=a.teacher_size)
    settings = dict(teacher=a.teacher, teacher_size=a.teacher_size, student_size=a.student_size, epochs=a.epochs,
                    batch_size=a.batch_size, lr=a.lr, lam=a.lam, train_stride=a.train_stride, proj_relu=not a.no_proj_relu, seeds=a.seeds, protocol='supervised',
                    threshold='best F1 on val', checkpoint='best val AUC', student_init='random (no MobileNetV3 weights offline)')
    if ds == 'synth': settings['synth'] = dict(clips=a.synth_clips, frames=a.synth_frames)
    runs = compare_methods(idx, d/'cache', runs_dir, seeds=a.seeds, student_size=a.student_size, epochs=a.epochs,
                           batch_size=a.batch_size, lr=a.lr, lam=a.lam, train_stride=a.train_stride, proj_relu=not a.no_proj_relu)
    res['datasets'][key] = dict(settings=settings, index_summary=index_summary(pd.read_csv(idx)).reset_index().to_dict('records'),
                               runs=runs.drop(columns='run').to_dict('records'),
                               logs={Path(r).name: pd.read_csv(Path(r)/'log.csv').to_dict('list') for r in runs['run']}, wall_seconds=round(time.perf_counter() - t0, 1),
                               hardware=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(), torch_threads=torch.get_num_threads()))
    write_json(res, out)
    print(f'\n== {key} ({res["datasets"][key]["wall_seconds"]} s) ==')
    print(summarize_comparison(runs).to_string())
