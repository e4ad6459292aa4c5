"AED-MAE chapter: the reproduction end to end, the committed Ped2 results against the official ground truth, the run folder in the common tools, bad input."
import json
import numpy as np, pandas as pd, pytest, torch
from sklearn.metrics import roc_auc_score
from conftest import ROOT, run_jsd, need_shared

RES = ROOT/'nbs'/'results'

def test_reproduce_aed_mae_smoke(tmp_path):
    out = tmp_path/'aed'
    p = run_jsd('reproduce', '--method', 'aed-mae', '--dataset', 'synth', '--scale', 'smoke', '--out', out)
    rep = (out/'report.md').read_text()
    assert '**(chosen on val)**' in rep and '| AED-MAE, paper post-processing' in rep and 'micro test AUC' in rep, rep
    for f in ('config.json', 'metrics.json', 'model.safetensors', 'scores_val.csv', 'scores_test.csv'):
        assert (out/'runs'/'aed-mae'/f).exists(), f
    res = json.loads((out/'results.json').read_text())
    assert res['step']['status'] == 'ran' and res['params']['epochs'] == 1
    again = run_jsd('reproduce', '--method', 'aed-mae', '--dataset', 'synth', '--scale', 'smoke', '--out', out)
    assert 'aed_mae: reused' in again.stdout, again.stdout
    # the common evaluation reads the AED-MAE run folder as it reads a JSD run
    ev = run_jsd('evaluate', '--runs', out/'runs'/'aed-mae', '--out', tmp_path/'ev.json', '--n-boot', 20, '--quiet', '--figures', tmp_path/'figs')
    assert json.loads((tmp_path/'ev.json').read_text())['runs']['aed-mae']['chosen']['metrics']['micro/roc_auc']['value'] > 0

def test_reproduce_aed_mae_bad_arguments(tmp_path):
    p = run_jsd('reproduce', '--method', 'aed-mae', '--scale', 'full', '--out', tmp_path/'x', check=False)
    assert p.returncode == 2 and "scale must be one of ['smoke', 'default'] for aed-mae" in p.stderr, p.stderr
    p = run_jsd('reproduce', '--method', 'aed-mae', '--scale', 'smoke', '--out', tmp_path/'x', '--set', 'teacher=lite0', check=False)
    assert p.returncode == 2 and "unknown aed-mae parameter 'teacher'" in p.stderr, p.stderr

def test_committed_scores_against_official_ground_truth():
    "The committed per-frame test scores give the committed AUC when scored against UCSDped2.m, read here without the library."
    ped2 = need_shared('ucsd_ped2')
    import re
    txt = (ped2/'UCSDped2.m').read_text()
    gt = [[tuple(map(int, iv.split(':'))) for iv in re.findall(r'\d+:\d+', ln)] for ln in txt.splitlines() if 'gt_frame' in ln and '=' in ln]
    s = pd.read_csv(RES/'aed_mae_ped2_test_scores.csv', dtype={'video': str})
    assert len(s) == 2010 and list(s.columns) == ['video', 'frame', 'score']
    y = np.zeros(len(s), int)
    for i, (v, f) in enumerate(zip(s['video'], s['frame'])):
        y[i] = any(a - 1 <= f <= b - 1 for a, b in gt[int(v) - 1])
    auc = roc_auc_score(y, s['score'])
    res = json.loads((RES/'aed_mae_ped2.json').read_text())
    assert abs(auc - res['test']['post-processed']['micro']['value']) < 1e-4, (auc, res['test'])

def test_committed_run_rescored_matches():
    "The committed model, scored again on Ped2 test clip 01, gives the committed scores (deterministic test mask)."
    ped2 = need_shared('ucsd_ped2')
    from jsdlib.methods.aed_mae import load_model, ped2_index, load_clips, score_split, combine
    run = RES/'aed_mae_ped2'; cfg = json.loads((run/'config.json').read_text())
    model = load_model(run/'model.safetensors')
    idx = ped2_index(ped2); idx = idx[(idx['video'] == 'test_01')].reset_index(drop=True)
    comp = score_split(model, load_clips(idx, model.cfg.size, model.cfg.channels, progress=False), idx, 'test')
    got = combine(comp, model.cfg.weights, {k: tuple(v) for k, v in cfg['val_stats'].items()}, model.cfg.sigma)
    ref = pd.read_csv(run/'scores_test.csv', dtype={'video': str}); ref = ref[ref['video'] == 'test_01']
    np.testing.assert_allclose(got['recon_mean'].to_numpy(), ref['recon_mean'].to_numpy(), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(got['score_raw'].to_numpy(), ref['score_raw'].to_numpy(), rtol=1e-3, atol=1e-4)

def test_bad_input(tmp_path):
    from jsdlib.core import JsdError
    from jsdlib.methods.aed_mae import AedMaeConfig, train_aed_mae, load_model
    from jsdlib.student import build_student, save_student
    save_student(build_student(), tmp_path/'student.safetensors')
    with pytest.raises(JsdError, match='not an AED-MAE model'): load_model(tmp_path/'student.safetensors')
    df = pd.DataFrame(dict(video='a', frame=[0, 1], path='x.jpg', label=[0, 1], anomaly_class='', split='train', video_label=1))
    with pytest.raises(JsdError, match='one-class'): train_aed_mae(AedMaeConfig(size=(32, 48)), df, tmp_path/'r', progress=False)
    p = run_jsd('aed-mae', 'train', '--dataset', 'ped2', '--root', tmp_path/'nope', '--out', tmp_path/'o', check=False)
    assert p.returncode == 2 and 'nope' in p.stderr and 'not found' in p.stderr, p.stderr

def test_resume_is_bit_identical(tmp_path):
    "A run stopped after epoch 1 and resumed equals one that never stopped: weights, log (but seconds) and scores."
    from safetensors.torch import load_file
    from jsdlib.core import JsdError
    from jsdlib.data import make_synth
    from jsdlib.methods.aed_mae import AedMaeConfig, aed_index, train_aed_mae, RESUME_DIR
    root = make_synth(tmp_path/'synth', n_clips=8, n_frames=24, size=(96, 54), seed=0, progress=False)
    idx = aed_index('synth', root, seed=0)
    cfg = AedMaeConfig(size=(32, 48), channels=3, dim=32, dec_dim=16, heads=2, dec_heads=2, epochs=2, student_epochs=1,
                       batch_size=8, lr=1e-3, warmup_steps=5, sigma=2.)
    train = lambda out, c=cfg, **kw: train_aed_mae(c, idx, tmp_path/out, progress=False, **kw)
    train('whole')
    def stop(row):
        if row['epoch'] == 1: raise KeyboardInterrupt('stopped after epoch 1')
    with pytest.raises(KeyboardInterrupt): train('resumed', on_epoch=stop)
    assert sorted(p.name for p in (tmp_path/'resumed'/RESUME_DIR).iterdir()) == ['epoch_0001.pt', 'epoch_0001.safetensors']
    with pytest.raises(JsdError, match=r'unfinished run \(epoch 1 saved\)'): train('resumed')
    other = AedMaeConfig(**{**cfg.__dict__, 'lr': 2e-3, 'batch_size': 4})
    with pytest.raises(JsdError, match='batch_size: 8 saved, 4 now; lr: 0.001 saved, 0.002 now'): train('resumed', other, resume=True)
    train('resumed', resume=True)
    a, b = (load_file(str(tmp_path/r/'model.safetensors')) for r in ('whole', 'resumed'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    logs = [pd.read_csv(tmp_path/r/'log.csv') for r in ('whole', 'resumed')]
    assert len(logs[0]) == 3 and logs[0].drop(columns='seconds').equals(logs[1].drop(columns='seconds'))
    assert pd.read_csv(tmp_path/'whole'/'scores_test.csv').equals(pd.read_csv(tmp_path/'resumed'/'scores_test.csv'))
    assert not (tmp_path/'resumed'/RESUME_DIR).exists()
    with pytest.raises(JsdError, match='holds a finished run'): train('resumed', resume=True)
