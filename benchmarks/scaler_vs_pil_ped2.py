"""Does resizing in the decoder's scaler change what a trained student says? UCSD Ped2 test clips as H.264 video, scored
twice by each run folder: with the training pipeline's resize (full-size RGB, PIL bilinear) and with FFmpeg's scaler.

The clips of the runs' test split (index.csv) are encoded once (H.264, crf 18) so that both paths decode the same video;
then frame AUC on those clips for each path, and how far the scores move (max / mean |difference|, alarm agreement at the
run's validation threshold). Writes nbs/results/scaler_vs_pil_ped2.json.

    python benchmarks/distill_experiments.py fractions --dataset ped2 ...     # made the run folders (fraction 1.0)
    python benchmarks/scaler_vs_pil_ped2.py --runs runs/experiments/ped2/runs/*_f1.0_s* --index runs/experiments/ped2/index.csv
"""
import argparse, json, sys, tempfile
from pathlib import Path

import numpy as np, pandas as pd
from PIL import Image
from sklearn.metrics import roc_auc_score
from jsdlib.core import write_json
from jsdlib.video import write_video
from jsdlib.inference import score_video


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--runs', nargs='+', required=True); p.add_argument('--index', required=True)
    p.add_argument('--out', default='nbs/results/scaler_vs_pil_ped2.json'); p.add_argument('--work', default=None)
    a = p.parse_args(argv)
    idx = pd.read_csv(a.index); test = idx[idx.split == 'test']
    work = Path(a.work or tempfile.mkdtemp(prefix='jsd-scaler-'))
    clips = {}
    for v, g in test.groupby('video'):
        g = g.sort_values('frame'); clips[v] = (write_video((Image.open(x).convert('RGB') for x in g.path), work/f'{v}.mp4', fps=10, crf=18), g.label.to_numpy())
    y = np.concatenate([l for _, l in clips.values()])
    rows = []
    for r in a.runs:
        if 'teacher_probe' in r: continue                 # a probe has no student to score video with
        s = {rs: np.concatenate([score_video(r, f, resize=rs).table.score.to_numpy() for f, _ in clips.values()]) for rs in ('pil', 'scaler')}
        thr = json.loads((Path(r)/'metrics.json').read_text())['threshold']
        d = np.abs(s['pil'] - s['scaler'])
        rows.append(dict(run=Path(r).name, auc_pil=round(roc_auc_score(y, s['pil']), 4), auc_scaler=round(roc_auc_score(y, s['scaler']), 4),
                         max_abs_diff=round(float(d.max()), 5), mean_abs_diff=round(float(d.mean()), 5), score_std=round(float(s['pil'].std()), 4),
                         alarm_agreement=round(float(((s['pil'] >= thr) == (s['scaler'] >= thr)).mean()), 4)))
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    res = dict(videos=sorted(clips), frames=int(len(y)), encoding='H.264 crf 18, yuv420p, from the Ped2 frames', runs=rows,
               mean_auc_difference=round(float((df.auc_scaler - df.auc_pil).mean()), 4))
    write_json(res, a.out); print(f"wrote {a.out}: mean AUC difference (scaler - pil) {res['mean_auc_difference']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
