"""The no-model baseline on UCSD Ped2: frame difference, k = 1 and 3, under every declared post-processing.

    python benchmarks/frame_difference_ped2.py --root ../shared/data/ucsd_ped2     # about a minute on 2 cores

Scores every frame of Ped2's 12 official test clips (and of training clip 16, a normal clip the supervised split of
the JSD chapters tests on) by mean |grey(t) - grey(t-k)| (`jsdlib.evaluate.frame_difference`), post-processes them
with each recipe of `jsdlib.evaluate.POST_RECIPES` (raw; offline = per-video min-max + Gaussian sigma 11, AED-MAE's;
causal = running min-max + one-sided Gaussian sigma 11; fast-aed = Gaussian sigma 21, Fast-AED's), and writes
nbs/results/frame_difference_ped2.json: micro and macro frame AUC (macro = mean over the clips holding both classes)
with 95% intervals from 1000 resamples of the test clips (`jsdlib.methods.aed_mae.auc_intervals`), for the official
test split and for the supervised split's 5 test clips. nbs/results/frame_difference_ped2_test_scores.csv holds the
headline variant's per-frame scores (k = 1, offline; video = two-digit test clip, frame 0-based; 2,010 rows) so that
anyone can recompute its AUC against the official UCSDped2.m. Nothing is trained or chosen: there is no parameter
to fit.
"""
import argparse, sys, time
from pathlib import Path
import pandas as pd
from jsdlib.core import write_json, project_root
from jsdlib.datasets import index_ped2, PED2_SUPERVISED
from jsdlib.evaluate import frame_difference, post_process, POST_RECIPES
from jsdlib.methods.aed_mae import auc_intervals

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distill_experiments import commit          # the same script folder: one way to record the commit

RES = project_root()/'nbs'/'results'
KS, HEADLINE = (1, 3), 'k1/offline'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--root', default=str(project_root().parent/'shared'/'data'/'ucsd_ped2'), help='UCSD Ped2 folder')
    p.add_argument('--n-boot', type=int, default=1000, help='bootstrap resamples of the test clips')
    p.add_argument('--out', default=str(RES), help='folder for the JSON and the CSV')
    a = p.parse_args(argv); t0 = time.perf_counter(); out = Path(a.out)
    idx = index_ped2(a.root)
    splits = {'official': sorted(idx.loc[idx['split'] == 'test', 'video'].unique()),
              'supervised': sorted(v for v, s in PED2_SUPERVISED.items() if s == 'test')}
    need = idx[idx['video'].isin(set(splits['official']) | set(splits['supervised']))]
    raw = {k: frame_difference(need, k=k, progress=True) for k in KS}
    res = dict(format='jsdlib-frame-difference-ped2/1', commit=commit(), n_boot=a.n_boot, seed=0, ks=list(KS),
               recipes={r: v['note'] for r, v in POST_RECIPES.items()}, headline=HEADLINE,
               score='mean over pixels of |grey(t) - grey(t-k)|, grey = mean of RGB in [0, 1], frames as stored '
                     '(360x240); the first k frames of a clip get frame k\'s value', splits={})
    for name, vids in splits.items():
        sub = {k: d[d['video'].isin(vids)] for k, d in raw.items()}
        one = sub[1]; both = one.groupby('video')['label'].agg(lambda y: 0 < y.sum() < len(y))
        var = {}
        for k in KS:
            for r in POST_RECIPES:
                var[f'k{k}/{r}'] = dict(k=k, post=r, **auc_intervals(post_process(sub[k], r), n_boot=a.n_boot))
                print(f"{name:10s} k={k} {r:9s} micro {var[f'k{k}/{r}']['micro']} macro {var[f'k{k}/{r}']['macro']}", flush=True)
        res['splits'][name] = dict(videos=vids, n_frames=int(len(one)), n_anomalous=int(one['label'].sum()),
                                   macro_videos=sorted(both[both].index), variants=var)
    res['seconds'] = round(time.perf_counter() - t0, 1)
    head = post_process(raw[1][raw[1]['video'].isin(splits['official'])], 'offline')
    csv = head.assign(video=head['video'].str.replace('test_', '', regex=False))[['video', 'frame', 'score']]
    out.mkdir(parents=True, exist_ok=True)
    csv.to_csv(out/'frame_difference_ped2_test_scores.csv', index=False)
    write_json(res, out/'frame_difference_ped2.json')
    print(f"wrote {out/'frame_difference_ped2.json'} and the headline's test scores ({len(csv)} rows) in {res['seconds']} s")

if __name__ == '__main__': main()
