"End-to-end tests of `jsd visualize` on demo run folders (synthetic scores over a small generated dataset)."
import json, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest
from conftest import run_jsd
from jsdlib.visualize import make_demo_runs
from jsdlib.cli import main

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def runs(synth_root, tmp_path_factory):
    "Two demo run folders (baseline, jsd) over the val/test frames of the shared generated dataset."
    return make_demo_runs(synth_root/'index.csv', tmp_path_factory.mktemp('runs'), seed=1)


def direct_counts(rb, rj, split='test'):
    "Helps/hurts per class straight from the files, without jsdlib."
    b, j = (pd.read_csv(Path(r)/f'scores_{split}.csv', dtype={'video': str}, keep_default_na=False) for r in (rb, rj))
    tb, tj = (json.loads((Path(r)/'metrics.json').read_text())['threshold'] for r in (rb, rj))
    m = b.merge(j[['video', 'frame', 'score']], on=['video', 'frame'], suffixes=('_b', '_j'))
    assert len(m) == len(b) == len(j)
    ok_b = (m.score_b >= tb).astype(int) == m.label; ok_j = (m.score_j >= tj).astype(int) == m.label
    m = m.assign(helps=ok_j & ~ok_b, hurts=ok_b & ~ok_j, cls=np.where(m.label == 0, 'normal', m.anomaly_class.replace('', 'anomaly')))
    return m


def copy_run(r, d):
    shutil.copytree(r, d); return d


def test_visualize_end_to_end(runs, tmp_path, split='test'):
    rb, rj = runs
    p = run_jsd('visualize', '--runs', rb, rj, '--out', tmp_path/'figs', '--split', split, '--n', 3)
    names = sorted(f.name for f in (tmp_path/'figs').iterdir())
    assert names == sorted([f'distill_helps_{split}.png', f'distill_hurts_{split}.png', f'disagreements_{split}.csv', f'visualize_{split}.json'])
    for o in ('helps', 'hurts'): assert (tmp_path/'figs'/f'distill_{o}_{split}.png').read_bytes()[:8] == PNG
    assert 'SYNTHETIC' in p.stdout and f'distill_helps_{split}.png' in p.stdout
    m = direct_counts(rb, rj, split)
    c = pd.read_csv(tmp_path/'figs'/f'disagreements_{split}.csv', index_col=0)
    assert c.loc['all', 'frames'] == len(m)
    for o in ('helps', 'hurts'):
        assert c.loc['all', o] == m[o].sum()
        assert c.drop('all')[o].to_dict() == m.groupby('cls')[o].sum().astype(int).to_dict()
    res = json.loads((tmp_path/'figs'/f'visualize_{split}.json').read_text())
    assert res['synthetic'] is True and res['split'] == split
    for o in ('helps', 'hurts'):
        shown = res['shown'][o]
        assert len(shown) == min(3, int(m[o].sum()))
        ok = set(zip(m.loc[m[o], 'video'], m.loc[m[o], 'frame']))
        assert all((s['video'], s['frame']) in ok for s in shown), f'{o}: a shown frame does not satisfy the condition'
        assert all(Path(s['path']).exists() for s in shown)
    assert m.helps.sum() + m.hurts.sum() > 0          # the demo runs do disagree, so the checks above are not vacuous


def test_same_run_twice_has_no_disagreement(runs, tmp_path):
    rb, _ = runs
    p = run_jsd('visualize', '--runs', rb, rb, '--out', tmp_path, '--n', 2, '--split', 'val')
    c = pd.read_csv(tmp_path/'disagreements_val.csv', index_col=0)
    assert c.loc['all', 'helps'] == c.loc['all', 'hurts'] == 0 and c.loc['all', 'both_wrong'] > 0
    assert c.loc['all', 'frames'] == len(pd.read_csv(Path(rb)/'scores_val.csv'))
    assert (tmp_path/'distill_helps_val.png').read_bytes()[:8] == PNG      # an empty grid says so, it is still written
    assert 'method' in p.stdout                                         # notes that a baseline run is given as the JSD run


def jsd_inproc(capsys, *args):
    "`jsd ...` through the same entry point, in this process (each console-script start costs seconds of imports)."
    rc = main([str(a) for a in args]); out = capsys.readouterr()
    return rc, out.out, out.err


def test_errors_are_clear(runs, tmp_path, capsys):
    rb, rj = runs
    short = copy_run(rj, tmp_path/'short')
    s = pd.read_csv(short/'scores_test.csv', dtype={'video': str}, keep_default_na=False); s.iloc[:-2].to_csv(short/'scores_test.csv', index=False)
    rc, _, err = jsd_inproc(capsys, 'visualize', '--runs', rb, short, '--out', tmp_path/'o1')
    assert rc == 2 and 'scored different frames' in err and '2 frame(s) only in' in err
    assert not (tmp_path/'o1').exists()                                  # nothing written on error

    nb, nj = copy_run(rb, tmp_path/'nb'), copy_run(rj, tmp_path/'nj')
    for r in (nb, nj):
        cfg = json.loads((r/'config.json').read_text()); cfg['index'] = str(tmp_path/'moved.csv'); (r/'config.json').write_text(json.dumps(cfg))
    rc, _, err = jsd_inproc(capsys, 'visualize', '--runs', nb, nj, '--out', tmp_path/'o2')
    assert rc == 2 and 'cannot find the frame index' in err and '--index' in err
    rc, _, err = jsd_inproc(capsys, 'visualize', '--runs', rb, rj, '--out', tmp_path/'o2', '--index', tmp_path/'nope.csv')
    assert rc == 2 and 'index file not found' in err

    # the index given explicitly works; then delete the image of the frame it showed
    idx = json.loads((Path(rb)/'config.json').read_text())['index']
    rc, _, _ = jsd_inproc(capsys, 'visualize', '--runs', nb, nj, '--out', tmp_path/'o3', '--index', idx, '--n', 1)
    res = json.loads((tmp_path/'o3'/'visualize_test.json').read_text())
    assert rc == 0 and res['index'] == idx
    o = 'helps' if res['shown']['helps'] else 'hurts'
    img = Path(res['shown'][o][0]['path']); data = img.read_bytes(); img.unlink()
    try:
        p = run_jsd('visualize', '--runs', nb, nj, '--out', tmp_path/'o4', '--index', idx, '--n', 1, check=False)
        assert p.returncode == 2 and 'is missing' in p.stderr and str(img) in p.stderr and 'Traceback' not in p.stderr
    finally: img.write_bytes(data)
