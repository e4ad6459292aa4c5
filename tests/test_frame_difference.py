"The no-model baseline (chapter 06, benchmarks/frame_difference_ped2.py): the committed Ped2 scores against the official ground truth."
import json
import numpy as np, pandas as pd
from sklearn.metrics import roc_auc_score
from conftest import ROOT, need_shared, ped2_test_labels

RES = ROOT/'nbs'/'results'

def test_committed_scores_against_official_ground_truth():
    "The committed per-frame scores (k=1, per-video min-max + Gaussian sigma 11) give the committed micro and macro AUC against UCSDped2.m, read without the library."
    ped2 = need_shared('ucsd_ped2')
    s = pd.read_csv(RES/'frame_difference_ped2_test_scores.csv', dtype={'video': str})
    assert len(s) == 2010 and list(s.columns) == ['video', 'frame', 'score'] and s['video'].nunique() == 12
    assert sorted(s['video'].unique()) == [f'{k:02d}' for k in range(1, 13)] and s['frame'].min() == 0
    s['y'] = ped2_test_labels(ped2, s['video'], s['frame'])
    res = json.loads((RES/'frame_difference_ped2.json').read_text())
    assert res['headline'] == 'k1/offline'
    head = res['splits']['official']['variants']['k1/offline']
    micro = roc_auc_score(s['y'], s['score'])
    macro = np.mean([roc_auc_score(g['y'], g['score']) for _, g in s.groupby('video') if 0 < g['y'].sum() < len(g)])
    assert abs(micro - head['micro']['value']) < 1e-4 and abs(macro - head['macro']['value']) < 1e-4, (micro, macro, head)
    assert round(micro, 3) == 0.874 and round(macro, 3) == 0.923          # the figures of issue 27
    assert head['micro']['lo'] < micro < head['micro']['hi'] and head['macro']['lo'] < macro < head['macro']['hi']
    for g in s.groupby('video')['score']:                                  # per-video min-max then smoothing: within [0, 1]
        assert 0 <= g[1].min() and g[1].max() <= 1
