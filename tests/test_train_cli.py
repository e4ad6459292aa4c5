"`jsd train` end to end: baseline and JSD from the shell, bad input, and 2 CPU processes under `accelerate launch`."
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from conftest import run_jsd, BIN

SMALL = ['--student-size', 64, '--epochs', 2, '--batch-size', 8, '--quiet', '--threads', 1]

@pytest.fixture
def cache(synth_cache):
    "The Lite0 cache of `synth_root`, built once a session (conftest.py) for this module and the others that need it."
    return synth_cache

def test_baseline_and_jsd(synth_root, cache, tmp_path):
    for method in ('baseline', 'jsd'):
        p = run_jsd('train', '--method', method, '--index', synth_root/'index.csv', '--cache', cache, '--out', tmp_path/method, *SMALL)
        assert 'chosen on val' in p.stdout
        m = json.loads((tmp_path/method/'metrics.json').read_text())
        assert 0 <= m['threshold'] <= 1 and set(m['test']) >= {'accuracy', 'recall', 'f1', 'roc_auc'}
        scores = pd.read_csv(tmp_path/method/'scores_test.csv')
        idx = pd.read_csv(synth_root/'index.csv')
        assert len(scores) == (idx.split == 'test').sum() and scores.score.between(0, 1).all()
    b, j = (pd.read_csv(tmp_path/m/'log.csv') for m in ('baseline', 'jsd'))
    assert (b.train_align == 0).all() and (j.train_align > 0).all()

def test_bad_input(synth_root, cache, tmp_path):
    p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--out', tmp_path/'x', *SMALL, check=False)
    assert p.returncode == 2 and 'needs a teacher feature cache' in p.stderr
    idx = pd.read_csv(synth_root/'index.csv'); idx = idx[idx.split != 'val']; idx.to_csv(tmp_path/'noval.csv', index=False)
    p = run_jsd('train', '--method', 'baseline', '--index', tmp_path/'noval.csv', '--out', tmp_path/'y', *SMALL, check=False)
    assert p.returncode == 2 and "no 'val' frames" in p.stderr
    p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', tmp_path, '--out', tmp_path/'z', *SMALL, check=False)
    assert p.returncode == 2 and 'no teacher cache here' in p.stderr

BAD_OPTIONS = [(['--threshold-method', 'bogus'], "invalid choice: 'bogus'"), (['--pos-weight', 'abc'], 'pos_weight: expected a positive number'),
               (['--lr', '-1'], 'lr: expected a positive number'), (['--student-size', '50'], 'student_size: expected a multiple of 32'),
               (['--device', 'tpu'], "device: expected 'auto'"), (['--label-fraction', '1.5'], 'label_fraction: expected a number in (0, 1]'),
               (['--kd', '1'], 'kd > 0 needs kd_probe')]

@pytest.mark.parametrize('extra,msg', BAD_OPTIONS)
def test_bad_options_fail_before_work(synth_root, cache, tmp_path, extra, msg):
    "Every option is checked before any frame is read: exit 2, one line naming the option, no traceback, no run folder."
    p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', cache, '--out', tmp_path/'r', *SMALL, *extra, check=False)
    assert p.returncode == 2 and msg in p.stderr and 'Traceback' not in p.stderr, p.stderr
    assert not (tmp_path/'r').exists()

def test_finished_run_is_not_replaced(synth_root, cache, tmp_path):
    run_jsd('train', '--method', 'baseline', '--index', synth_root/'index.csv', '--out', tmp_path/'b', '--epochs', 1, *SMALL[:2], *SMALL[4:])
    before = (tmp_path/'b'/'metrics.json').read_bytes()
    p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', cache, '--out', tmp_path/'b', *SMALL, check=False)
    assert p.returncode == 2 and 'holds a finished run' in p.stderr and (tmp_path/'b'/'metrics.json').read_bytes() == before
    run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', cache, '--out', tmp_path/'b', *SMALL, '--overwrite')
    assert json.loads((tmp_path/'b'/'metrics.json').read_text())['method'] == 'jsd'

def test_train_refuses_corrupt_or_stale_cache(synth_root, cache, tmp_path):
    "A shard rewritten with other values, or frames rewritten in place, stop training before it starts (they used to train silently)."
    import shutil, numpy as np
    bad = tmp_path/'cache'; shutil.copytree(cache, bad)
    npy = sorted((bad/'lite0'/'shards').glob('*.npy'))[0]
    a = np.load(npy); np.save(npy, np.random.default_rng(0).standard_normal(a.shape).astype(a.dtype))   # same shape and size
    p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', bad, '--out', tmp_path/'c', *SMALL, check=False)
    assert p.returncode == 2 and 'corrupt shard' in p.stderr and '--repair' in p.stderr and 'Traceback' not in p.stderr, p.stderr
    run_jsd('precompute-teacher', '--index', synth_root/'index.csv', '--teacher', 'lite0', '--size', 64, '--cache', bad, '--quiet', '--repair')
    assert run_jsd('verify-cache', '--cache', bad, '--quiet', check=False).returncode == 0
    stale = tmp_path/'stale'; shutil.copytree(cache, stale)
    idx = pd.read_csv(synth_root/'index.csv'); f = Path(idx.path.iloc[0]); st = f.stat()
    try:
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        p = run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', stale, '--out', tmp_path/'s', *SMALL, check=False)
        assert p.returncode == 2 and 'changed since their features were cached' in p.stderr, p.stderr
    finally: os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))

def test_accelerate_two_processes(synth_root, cache, tmp_path):
    acc = BIN/'accelerate'
    if not acc.exists(): pytest.skip('accelerate CLI not installed')
    out = tmp_path/'ddp'
    r = subprocess.run([str(acc), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                        '--dynamo_backend', 'no', str(BIN/'jsd'), 'train', '--method', 'jsd', '--index', str(synth_root/'index.csv'),
                        '--cache', str(cache), '--out', str(out), *map(str, SMALL)],
                       capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['world_size'] == 2 and len(pd.read_csv(out/'log.csv')) == 2
    # the same kind of result as one process: every test frame scored once, metrics defined
    s = pd.read_csv(out/'scores_test.csv'); idx = pd.read_csv(synth_root/'index.csv')
    assert len(s) == (idx.split == 'test').sum() and not s.duplicated(['video', 'frame']).any()
    assert 0 <= m['test']['roc_auc'] <= 1
