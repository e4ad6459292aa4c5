"""Fast-AED experiments on UCSD Ped2 (nbs/12_fast_aed.ipynb reads the results).

    python benchmarks/fast_aed_experiments.py ped2 [--root ../shared/data/ucsd_ped2] [--jobs 2]
    python benchmarks/fast_aed_experiments.py speed
    python benchmarks/fast_aed_experiments.py figures

ped2: fits and caches the two map teachers, then trains students as separate one-thread processes (--jobs at a time):
first the paper's learning rate (1e-4) and 1e-3 at the default configuration, the one with the lower *validation*
distillation error is kept (validation = 2 held-out normal training clips; the test split is never looked at for a
choice); then, at that rate, the student without the adversarial terms, with one teacher only (each), and the size and
width points of the speed/accuracy curve. Writes nbs/results/fast_aed_ped2.json and fast_aed_ped2_test_scores.csv
(the default student's post-processed test scores: video, frame, score).

speed: model-only frames/s of each curve configuration (PyTorch eager and ONNX Runtime, batch 1 and 64, 2 threads),
beside the JSD student (MobileNetV3-Small) at 224 px, median of 3 timed passes after a warm-up; plus the end-to-end
path on one Ped2 test clip (JPEG decode + resize, stacking, model, score) split into its stages. Writes
nbs/results/fast_aed_speed.json with the CPU named.
"""
import argparse, json, subprocess, sys, os, time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(ngf=8, n_down=3, depth=2, heads=2)
CURVE = {'paper width, 32x48': dict(size=[32, 48]), 'paper width, 64x96': dict(size=[64, 96]),
         'paper width, 120x180': dict(size=[120, 180], frame_stride=4),
         'small, 64x96': dict(size=[64, 96], **SMALL), 'small, 32x48': dict(size=[32, 48], **SMALL)}
BASE = dict(size=[64, 96], epochs=12, frame_stride=2)
GRID = {f"lr {lr:g}{', coords' if c else ''}": dict(BASE, lr=lr, coords=c) for lr in (1e-4, 1e-3) for c in (False, True)}

def variants(chosen:dict)->dict:
    v = {'no adversarial terms': dict(adv_weight=0.), 'PatchCore teacher only': dict(teachers=['patchcore']),
         'motion teacher only': dict(teachers=['motion']), 'no synthetic anomalies (the paper\'s data)': dict(synthetic=False)}
    v.update({k: c for k, c in CURVE.items() if k != 'paper width, 64x96'})
    return {k: dict(chosen, **c) for k, c in v.items()}

def slug(name:str)->str: return ''.join(ch if ch.isalnum() else '_' for ch in name).strip('_')

def train_one(name, over, root, work):
    out = work/slug(name)
    if (out/'metrics.json').exists(): return name, out
    cmd = [sys.executable, '-c', 'import sys, json, torch; torch.set_num_threads(1); from jsdlib.methods.fast_aed import *; from jsdlib.data import read_index; '
           'o = json.loads(sys.argv[1]); c = FastAedConfig(**o); '
           'train_fast_aed(c, read_index(sys.argv[2]), sys.argv[3], sys.argv[4], progress=False, overwrite=True)',
           json.dumps(over), str(work/'index.csv'), str(work/'cache'), str(out)]
    r = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True, text=True)
    if r.returncode: raise SystemExit(f'{name}: failed\n{r.stderr[-3000:]}')
    return name, out

def run_all(jobs, root, work, named):
    with ThreadPoolExecutor(jobs) as ex: return dict(ex.map(lambda kv: train_one(kv[0], kv[1], root, work), named.items()))

def summary(out:Path)->dict:
    m, c = json.loads((out/'metrics.json').read_text()), json.loads((out/'config.json').read_text())
    import pandas as pd
    log = pd.read_csv(out/'log.csv')
    return dict(run=str(out), config={k: c[k] for k in ('size', 'ngf', 'n_down', 'depth', 'heads', 'coords', 'teachers', 'adv_weight', 'lr', 'epochs', 'frame_stride', 'synthetic')},
                post=m['post']['test'], raw=m['raw']['test'], teachers=m['teachers_test'], val_mse=float(log['val_mse'].iloc[-1]),
                train_seconds=m['seconds'], threshold=m['threshold'], threshold_method=m['threshold_method'], test_at_threshold=m['test'])

def ped2(a):
    from jsdlib.methods.fast_aed import fast_data, cache_maps, auc_intervals
    from jsdlib.speed import hardware_info
    from jsdlib.core import write_json
    import pandas as pd, torch
    work = Path(a.work); torch.set_num_threads(2); t0 = time.time()
    df = fast_data('ped2', a.root, work, a.synthetic, progress=False)
    cache = cache_maps(df, work/'cache', progress=False)
    print('teachers cached', {k: v['seconds'] for k, v in cache.items()}, flush=True)
    grid = run_all(a.jobs, a.root, work, GRID)
    val = {k: summary(p)['val_mse'] for k, p in grid.items()}
    chosen = min(val, key=val.get)
    print('validation distillation error', val, '-> chosen', chosen, flush=True)
    rest = run_all(a.jobs, a.root, work, variants(GRID[chosen]))
    DEFAULT = 'default (paper width, 64x96)'
    runs = {DEFAULT: summary(grid[chosen]), **{k: summary(p) for k, p in rest.items()},
            **{f'{k} (not chosen)': summary(p) for k, p in grid.items() if k != chosen}}
    lr_runs = grid
    d = pd.read_csv(lr_runs[chosen]/'scores_test.csv', dtype={'video': str})
    iv = {'student': auc_intervals(d)}
    write_json(dict(format='jsdlib-fast-aed-ped2/1', default=DEFAULT, choice=dict(val_mse=val, chosen=chosen, settings=GRID[chosen]), runs=runs, intervals=iv,
                    hardware=hardware_info(), minutes=round((time.time() - t0) / 60, 1),
                    note='UCSD Ped2 official test split (12 clips, 2,010 frames); one seed per configuration; AUC micro = pooled frames, '
                         'macro = mean over videos with both classes; post = temporal Gaussian sigma 21 (the paper); last epoch kept'), ROOT/'nbs/results/fast_aed_ped2.json')
    d.assign(video=d['video'].str.replace('test_', '', regex=False))[['video', 'frame', 'score']].to_csv(ROOT/'nbs/results/fast_aed_ped2_test_scores.csv', index=False, float_format='%.6f')
    print(pd.DataFrame({k: dict(micro=v['post']['micro_auc'], macro=v['post']['macro_auc'], raw_micro=v['raw']['micro_auc'], val_mse=v['val_mse'], s=v['train_seconds']) for k, v in runs.items()}).T.round(4).to_string())

def speed(a):
    """Model-only frames/s over the curve's configurations and the paper's, beside the JSD student; then one clip end to end."""
    import numpy as np, torch, tempfile, onnxruntime as ort
    from jsdlib.methods.fast_aed import FastAedConfig, CyTran, PAPER_STUDENT, export_student, load_student, load_clips, clip_positions, _inputs, map_score, scale_input, fast_index
    from jsdlib.student import build_student, count_flops
    from jsdlib.speed import time_throughput, hardware_info
    from jsdlib.engines import _ort_options
    from jsdlib.core import write_json
    from jsdlib.evaluate import smooth_scores
    import pandas as pd
    torch.set_num_threads(2); tmp = Path(tempfile.mkdtemp(prefix='fast_speed_')); hw = hardware_info(); rows = []
    confs = {'paper (240x360, paper width)': dict(PAPER_STUDENT), **{k: dict(v) for k, v in CURVE.items()}}
    def bench(name, model, x1, onnx_path, macs):
        with torch.inference_mode():
            t0 = time.perf_counter(); model(x1.repeat(8, 1, 1, 1)); per = (time.perf_counter() - t0) / 8
        for bs in (1, 64):
            x = x1.repeat(bs, 1, 1, 1); n = int(min(512, max(64, 2.0 / per)) // 64 * 64)   # about 2 s a pass
            with torch.inference_mode():
                rows.append(dict(model=name, engine='torch eager', batch=bs, flops_per_frame=macs, **time_throughput(lambda: [model(x) for _ in range(n // bs)], n)))
            sess = ort.InferenceSession(str(onnx_path), _ort_options(2), providers=['CPUExecutionProvider']); xi = x.numpy(); iname = sess.get_inputs()[0].name
            rows.append(dict(model=name, engine='onnxruntime', batch=bs, flops_per_frame=macs, **time_throughput(lambda: [sess.run(None, {iname: xi}) for _ in range(n // bs)], n)))
            print(rows[-2]['model'], bs, round(rows[-2]['fps']), round(rows[-1]['fps']), flush=True)
    for name, c in confs.items():
        c = {k: v for k, v in c.items() if k in ('size', 'ngf', 'n_down', 'depth', 'heads')}; c['size'] = tuple(c['size'])
        m = CyTran(FastAedConfig(channels=1, **c)).eval(); x1 = scale_input(torch.randint(0, 255, (1, 3, *c['size']), dtype=torch.uint8))
        macs = count_flops(m, c['size'], 1)   # FLOPs per frame (a multiply-add = 2)
        bench(name, m, x1, export_student(m, tmp/f'{len(rows)}.onnx'), macs)
    js = build_student().eval(); x1 = torch.randn(1, 3, 224, 224)
    torch.onnx.export(js, (x1,), str(tmp/'jsd.onnx'), input_names=['x'], dynamic_axes={'x': {0: 'b'}}, opset_version=17, dynamo=False)
    bench('JSD student (MobileNetV3-Small), 224x224 RGB', js, x1, tmp/'jsd.onnx', count_flops(js, 224, 1))
    # end to end on one Ped2 test clip with the trained default student
    e2e = None
    res = ROOT/'nbs/results/fast_aed_ped2.json'
    run = a.run or (json.loads(res.read_text())['runs']['default (paper width, 64x96)']['run'] if res.exists() else None)
    if run and Path(run).exists():
        a.run = run
        model = load_student(Path(a.run)/'model.safetensors'); cfg = model.cfg
        frames = sorted(Path(a.clip).glob('*.jpg'))
        df = pd.DataFrame(dict(video='01', frame=range(len(frames)), path=[str(f) for f in frames], label=0, split='test', anomaly_class=''))
        onnx = export_student(model, tmp/'student.onnx'); sess = ort.InferenceSession(str(onnx), _ort_options(2), providers=['CPUExecutionProvider'])
        st = {}
        t0 = time.perf_counter(); clips = load_clips(df, cfg.size, cfg.channels, progress=False); st['decode + resize (PIL)'] = time.perf_counter() - t0
        seg, pos = clip_positions(df); rws = np.arange(len(df))
        t0 = time.perf_counter(); x = _inputs(clips, seg, pos, rws, cfg.gap).numpy(); st['stack t-3, t, t+3 + scale'] = time.perf_counter() - t0
        t0 = time.perf_counter(); sc = np.concatenate([sess.run(None, {'frames': x[i:i + 64]})[0] for i in range(0, len(x), 64)]); st['model (onnxruntime, batch 64)'] = time.perf_counter() - t0
        t0 = time.perf_counter(); smooth_scores(df.assign(score=sc), cfg.sigma); st['temporal Gaussian'] = time.perf_counter() - t0
        tot = sum(st.values())
        e2e = dict(clip=Path(a.clip).name, frames=len(frames), input=list(cfg.size), stages_s={k: round(v, 4) for k, v in st.items()},
                   stages_share={k: round(v / tot, 3) for k, v in st.items()}, fps=round(len(frames) / tot, 1))
        print(e2e, flush=True)
    write_json(dict(format='jsdlib-fast-aed-speed/1', hardware=hw, rows=rows, end_to_end=e2e, goal_fps=1480,
                    note='model only: frames/s = frames / median of 3 timed passes after a warm-up (time_throughput), 2 threads, '
                         'random weights (speed does not depend on them), grey Ped2 input (3 channels: t-3, t, t+3)'), ROOT/'nbs/results/fast_aed_speed.json')

def figures(a):
    "Teacher and student 16x16 maps side by side on real Ped2 test anomalies (and one normal frame) -> nbs/results/fast_aed_ped2_maps.png."
    import pandas as pd, matplotlib; matplotlib.use('Agg')
    from jsdlib.methods.fast_aed import frame_maps, plot_frame_maps
    res = json.loads((ROOT/'nbs/results/fast_aed_ped2.json').read_text()); run = Path(res['runs'][res['default']]['run'])
    s = pd.read_csv(run/'scores_test.csv', dtype={'video': str})
    picks = [('test_02', 100), ('test_04', 100), ('test_06', 150), ('test_01', 20)]        # fixed frames: cyclists / a cart, and a normal frame
    picks = [(v, f) for v, f in picks if ((s['video'] == v) & (s['frame'] == f)).any()]
    fig = plot_frame_maps(frame_maps(run, picks))
    fig.savefig(ROOT/'nbs/results/fast_aed_ped2_maps.png', dpi=80, bbox_inches='tight')
    print('wrote nbs/results/fast_aed_ped2_maps.png', picks)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest='cmd', required=True)
    q = s.add_parser('ped2'); q.add_argument('--root', default=str(ROOT.parent/'shared/data/ucsd_ped2'))
    q.add_argument('--work', default=str(ROOT/'runs/fast_aed/ped2s')); q.add_argument('--jobs', type=int, default=2)
    q.add_argument('--synthetic', type=int, default=200, help='synthetic-anomaly clips added to the training data')
    q = s.add_parser('speed')
    q.add_argument('--clip', default=str(ROOT.parent/'shared/data/ucsd_ped2/testing/frames/01'))
    q.add_argument('--run', default=None, help='the trained default student (default: the one fast_aed_ped2.json names)')
    s.add_parser('figures')
    a = p.parse_args()
    {'ped2': ped2, 'speed': speed, 'figures': figures}[a.cmd](a)
