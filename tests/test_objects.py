"The object-centric teacher (chapter 14): commands on Ped2 as a user runs them, bad input, the committed scores."
import json
from pathlib import Path
import numpy as np, pandas as pd
from PIL import Image
from sklearn.metrics import roc_auc_score
from conftest import run_jsd, need_shared, committed_ped2_scores

RES = Path(__file__).resolve().parents[1]/'nbs'/'results'


def _small_index(tmp_path, ped2, train=('train_01', 'train_02'), val=('train_09',), test=('test_02',)):
    "A CSV index over frames 60-119 of a few Ped2 clips, for fast command tests."
    from jsdlib.methods.objects import objects_index
    from jsdlib.data import write_index
    df = objects_index('ped2', ped2)
    df = df[df['video'].isin([*train, *val, *test])].copy()
    df.loc[df['video'].isin(val), 'split'] = 'val'; df.loc[df['video'].isin(train), 'split'] = 'train'
    df = df[(df['frame'] >= 60) & (df['frame'] < 120)]
    return write_index(df, tmp_path/'index.csv')


def test_objects_fit_evaluate_cache(tmp_path):
    ped2 = need_shared('ucsd_ped2')
    idx = _small_index(tmp_path, ped2)
    run = tmp_path/'run'
    p = run_jsd('objects', 'fit', '--dataset', 'index', '--root', idx, '--out', run, '--flow', 'dis', '--no-appearance',
                '--quiet')
    assert 'chosen on validation' in p.stdout, p.stdout
    for f in ('config.json', 'metrics.json', 'model.safetensors', 'scores_val.csv', 'scores_test.csv', 'choice.csv'):
        assert (run/f).exists(), f
    te = pd.read_csv(run/'scores_test.csv')
    assert {'score', 'score_raw', 'score_smooth', 'score_minmax', 'score_velocity'} <= set(te.columns)
    assert len(te) == 60 and te['label'].nunique() == 2
    # the run folder contract: the course's evaluation reads it unchanged
    run_jsd('evaluate', '--runs', run, '--out', tmp_path/'eval.json')
    assert json.loads((tmp_path/'eval.json').read_text())
    # a finished run is not replaced without --overwrite
    from jsdlib.cli import main
    assert main(['objects', 'fit', '--dataset', 'index', '--root', str(idx), '--out', str(run), '--no-appearance']) == 2
    # its maps through the chapter-02 cache
    p = run_jsd('objects', 'cache', '--run', run, '--dataset', 'index', '--root', idx, '--cache', tmp_path/'cache',
                '--quiet')
    from jsdlib.teacher import FeatureCache
    from jsdlib.methods.objects import ObjectTeacher
    c = FeatureCache(tmp_path/'cache', teacher=ObjectTeacher(run/'model.safetensors', 'maps'))
    assert c.features[:].shape == (len(pd.read_csv(idx)), 273)


def _jsd(capsys, *args):
    "Run `jsd` in this process (no start-up cost): (exit code, stderr)."
    from jsdlib.cli import main
    rc = main([str(a) for a in args]); return rc, capsys.readouterr().err


def test_objects_bad_input(tmp_path, capsys):
    rc, err = _jsd(capsys, 'objects', 'fit', '--dataset', 'ped2', '--root', tmp_path/'nowhere', '--out', tmp_path/'r')
    assert rc == 2 and 'nowhere' in err and len(err.strip().splitlines()) == 1, err
    rc, err = _jsd(capsys, 'objects', 'fit', '--dataset', 'ped2', '--root', 'x', '--out', tmp_path/'r', '--min-area', 0)
    assert rc == 2 and 'min_area must be >= 1' in err, err
    # a moving camera: frames of a panning street
    rng = np.random.default_rng(0)
    street = np.kron(rng.integers(0, 255, (12, 60)), np.ones((8, 8))).astype(np.uint8)
    rows = []
    for v, split in (('a', 'train'), ('b', 'val'), ('c', 'test')):
        d = tmp_path/'pan'/v; d.mkdir(parents=True)
        for t in range(30):
            Image.fromarray(street[:, 6 * t:6 * t + 144]).save(d/f'{t:03d}.png')
            rows.append(dict(video=v, frame=t, path=str(d/f'{t:03d}.png'), label=0, anomaly_class='', split=split,
                             video_label=0))
    pd.DataFrame(rows).to_csv(tmp_path/'pan.csv', index=False)
    args = ('objects', 'fit', '--dataset', 'index', '--root', tmp_path/'pan.csv', '--out', tmp_path/'r',
            '--no-appearance', '--quiet')
    rc, err = _jsd(capsys, *args)
    assert rc == 2 and 'the camera moves' in err, err
    # frames of mixed sizes
    Image.fromarray(street[:40, :100]).save(tmp_path/'pan'/'c'/'005.png')
    rc, err = _jsd(capsys, *args)
    assert rc == 2 and '005.png' in err and 'one frame size' in err, err
    assert not (tmp_path/'r'/'metrics.json').exists()


def test_reproduce_objects_smoke(tmp_path):
    ped2 = need_shared('ucsd_ped2')
    out = tmp_path/'obj'
    run_jsd('reproduce', '--method', 'objects', '--dataset', 'ped2', '--root', ped2, '--scale', 'smoke', '--out', out)
    rep = (out/'report.md').read_text()
    assert 'no model: frame difference' in rep and 'object teacher, chosen on validation' in rep, rep
    assert (out/'figures'/'objects_timelines.png').exists()
    p = run_jsd('reproduce', '--method', 'objects', '--dataset', 'synth', '--scale', 'smoke', '--out', out/'x',
                check=False)
    assert p.returncode == 2 and 'static camera' in p.stderr, p.stderr


def test_committed_object_scores_against_official_ground_truth():
    "The committed per-frame Ped2 test scores give the committed AUC against UCSDped2.m, read without the library."
    s, y = committed_ped2_scores('objects_ped2_test_scores.csv')
    res = json.loads((RES/'objects_ped2.json').read_text())
    assert abs(roc_auc_score(y, s['score']) - res['test']['chosen (score)']['micro']['value']) < 1e-3
    per_video = [roc_auc_score(y[s['video'] == v], s['score'][s['video'] == v]) for v in sorted(s['video'].unique())
                 if 0 < y[s['video'] == v].mean() < 1]
    assert len(per_video) == 8
    assert abs(np.mean(per_video) - res['test']['chosen (score)']['macro']['value']) < 1e-3
