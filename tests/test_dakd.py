"DAKD chapter: the commands end to end under video-level labels, the reproduction, Ped2's folds, the committed results against the official ground truth, bad input."
import json, re
import numpy as np, pandas as pd, pytest
from sklearn.metrics import roc_auc_score
from conftest import ROOT, run_jsd, need_shared, committed_ped2_scores

RES = ROOT/'nbs'/'results'

@pytest.fixture(scope='module')
def weak(small_synth, tmp_path_factory):
    "synth (24 clips of 16 frames) -> weak index -> Lite0 and motion caches at 48 px; made once for this module's tests, which only read them."
    d = tmp_path_factory.mktemp('dakd')
    run_jsd('data', 'index', '--dataset', 'synth', '--root', small_synth(24, 16), '--protocol', 'weak', '--out', d/'idx.csv')
    for t in ('lite0', 'motion'):
        run_jsd('precompute-teacher', '--index', d/'idx.csv', '--teacher', t, '--cache', d/'cache', '--size', 48)
    return dict(root=small_synth(24, 16), index=d/'idx.csv', cache=d/'cache')

def test_dakd_commands(weak, tmp_path):
    "synth -> weak index -> two backbone caches -> teacher -> distilled student and MIL-only student -> jsd evaluate."
    common = ('--index', weak['index'], '--cache', weak['cache'], '--snippet', 4, '--steps', 15, '--quiet')
    run_jsd('dakd', 'train', *common, '--out', tmp_path/'teacher', '--backbones', 'lite0', 'motion')
    p = run_jsd('dakd', 'train', *common, '--out', tmp_path/'student', '--backbones', 'lite0', '--teacher-run', tmp_path/'teacher')
    assert 'test AUC' in p.stdout, p.stdout
    run_jsd('dakd', 'train', *common, '--out', tmp_path/'mil', '--backbones', 'lite0')
    for r in ('teacher', 'student', 'mil'):
        for f in ('config.json', 'metrics.json', 'model.safetensors', 'scores_val.csv', 'scores_test.csv'): assert (tmp_path/r/f).exists(), (r, f)
    cfg = json.loads((tmp_path/'student'/'config.json').read_text())
    assert cfg['backbones'] == ['lite0'] and cfg['soft'] == 1. and cfg['alpha'] == 1. and cfg['held_out'] == 3
    assert json.loads((tmp_path/'mil'/'config.json').read_text())['soft'] == 0.
    assert (tmp_path/'teacher'/'held_out_3.safetensors').exists()          # the held-out teacher scores, kept for the next student
    run_jsd('evaluate', '--runs', tmp_path/'mil', tmp_path/'student', '--out', tmp_path/'ev.json', '--n-boot', 20, '--quiet')
    ev = json.loads((tmp_path/'ev.json').read_text())
    assert set(ev['runs']) == {'mil', 'student'}

def test_dakd_bad_input(weak, tmp_path):
    run_jsd('data', 'index', '--dataset', 'synth', '--root', weak['root'], '--protocol', 'supervised', '--out', tmp_path/'sup.csv')
    p = run_jsd('dakd', 'train', '--index', tmp_path/'sup.csv', '--cache', weak['cache'], '--out', tmp_path/'x', '--backbones', 'lite0', check=False)
    assert p.returncode == 2 and '--protocol weak' in p.stderr, p.stderr
    p = run_jsd('dakd', 'train', '--index', weak['index'], '--cache', weak['cache'], '--out', tmp_path/'x', '--backbones', 'lite0', 'lite2', check=False)
    assert p.returncode == 2 and "no cache for teacher 'lite2'" in p.stderr, p.stderr
    p = run_jsd('dakd', 'train', '--index', weak['index'], '--cache', weak['cache'], '--out', tmp_path/'x', '--backbones', 'lite0',
                '--teacher-run', tmp_path/'nope', check=False)
    assert p.returncode == 2 and 'no DAKD model here' in p.stderr, p.stderr
    p = run_jsd('reproduce', '--method', 'dakd', '--scale', 'smoke', '--out', tmp_path/'r', '--set', 'lr=1', check=False)
    assert p.returncode == 2 and "unknown dakd parameter 'lr'" in p.stderr, p.stderr

def test_reproduce_dakd_smoke(tmp_path):
    out = tmp_path/'dakd'
    run_jsd('reproduce', '--method', 'dakd', '--scale', 'smoke', '--out', out)
    rep = (out/'report.md').read_text()
    assert '| teacher |' in rep and 'distillation: student vs student trained with MIL alone' in rep and 'dakd_timelines.png' in rep, rep
    assert (out/'figures'/'dakd_timelines.png').exists()
    for n in ('teacher', 'single-lite0', 'student-kd', 'student-in-sample'): assert (out/'runs'/'fold0'/f'{n}_s0'/'metrics.json').exists(), n
    again = run_jsd('reproduce', '--method', 'dakd', '--scale', 'smoke', '--out', out)
    assert 'dakd: reused' in again.stdout, again.stdout

def test_ped2_folds(tmp_path):
    ped2 = need_shared('ucsd_ped2')
    run_jsd('dakd', 'folds', '--root', ped2, '--out', tmp_path)
    tests = []
    for f in range(3):
        d = pd.read_csv(tmp_path/f'index_fold{f}.csv', dtype={'video': str})
        assert set(d.loc[d.split == 'train', 'label']) == {-1}                     # weak: no training frame label
        assert d.groupby('video').split.nunique().max() == 1                       # clip-disjoint
        tests += sorted(d.loc[d.split == 'test', 'video'].unique())
    assert sorted(tests) == [f'test_{k:02d}' for k in range(1, 13)]

def test_committed_scores_against_official_ground_truth():
    "The committed per-frame Ped2 test scores of the distilled student give the committed AUC against UCSDped2.m, read without the library."
    s, y = committed_ped2_scores('dakd_ped2_test_scores.csv')
    res = json.loads((RES/'dakd_ped2.json').read_text())
    assert abs(roc_auc_score(y, s['score']) - res['summary']['variants']['student-kd']['auc'][0]) < 1e-6
    tl = pd.read_csv(RES/'dakd_ped2_timelines.csv', dtype={'video': str})
    assert (tl['label'].to_numpy() == y).all() and np.allclose(tl['student-kd'], s['score'], atol=1e-4)

def test_any_cached_teacher_is_a_stream(weak, tmp_path):
    "A DINOv2 cache (a tiny model saved locally, as a user's weights would be) joins Lite0 as a teacher stream."
    import shutil
    from jsdlib.teacher import precompute_teacher, save_tiny_dinov2
    from jsdlib.methods.dakd import DakdConfig, train_dakd, load_dakd
    shutil.copytree(weak['cache']/'lite0', tmp_path/'cache'/'lite0')      # the module's Lite0 cache (48 px) of the weak index
    precompute_teacher(weak['index'], 'dinov2', tmp_path/'cache', weights=save_tiny_dinov2(tmp_path/'tiny'), size=56, progress=False)
    m = train_dakd(DakdConfig(backbones=('lite0', 'dinov2'), snippet=4, steps=5), weak['index'], tmp_path/'cache', tmp_path/'run', progress=False)
    assert 0 <= m['test']['roc_auc'] <= 1
    assert load_dakd(tmp_path/'run'/'model.safetensors').dims == {'lite0': 1280, 'dinov2': 32}
