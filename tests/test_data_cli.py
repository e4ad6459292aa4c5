"End-to-end tests of `jsd data` as a user runs it from a shell."
import json
import pandas as pd
from conftest import run_jsd, need_shared

def test_synth_and_index(synth_root, tmp_path):
    idx = pd.read_csv(synth_root/'index.csv')
    assert len(idx) == 10 * 24 and idx.video.nunique() == 10
    assert set(idx.split) == {'train', 'val', 'test'}
    assert idx.groupby('video').split.nunique().max() == 1          # clip-disjoint
    # the same command again reuses the data; the index command writes another protocol
    p = run_jsd('data', 'index', '--dataset', 'synth', '--root', synth_root, '--protocol', 'one-class', '--out', tmp_path/'oc.csv')
    assert 'wrote 2' in p.stdout or 'wrote' in p.stdout
    oc = pd.read_csv(tmp_path/'oc.csv')
    assert oc[oc.split == 'train'].label.sum() == 0

def test_synth_is_deterministic(tmp_path):
    for d in ('a', 'b'): run_jsd('data', 'synth', '--out', tmp_path/d, '--clips', 3, '--frames', 10, '--width', 96, '--height', 54)
    fa = sorted((tmp_path/'a').rglob('*.jpg')); fb = sorted((tmp_path/'b').rglob('*.jpg'))
    assert len(fa) == 30 and [f.read_bytes() for f in fa] == [f.read_bytes() for f in fb]
    assert json.loads((tmp_path/'a'/'metadata_train.json').read_text()) == json.loads((tmp_path/'b'/'metadata_train.json').read_text())

def test_bad_input_is_a_clear_error(tmp_path):
    p = run_jsd('data', 'index', '--dataset', 'dota', '--root', tmp_path, '--out', tmp_path/'x.csv', check=False)
    assert p.returncode == 2 and 'metadata_train.json' in p.stderr and 'Traceback' not in p.stderr
    (tmp_path/'metadata_train.json').write_text('{"c1": {"num_frames": 10, "anomaly_start": 2}}')
    (tmp_path/'metadata_val.json').write_text('{}')
    p = run_jsd('data', 'index', '--dataset', 'dota', '--root', tmp_path, '--out', tmp_path/'x.csv', check=False)
    assert p.returncode == 2 and "lacks field(s) ['anomaly_end', 'anomaly_class']" in p.stderr
    assert not (tmp_path/'x.csv').exists()                            # nothing half-written

def test_ped2_counts(tmp_path):
    root = need_shared('ucsd_ped2')
    run_jsd('data', 'index', '--dataset', 'ped2', '--root', root, '--protocol', 'one-class', '--out', tmp_path/'p.csv')
    df = pd.read_csv(tmp_path/'p.csv')
    test = df[df.video.str.startswith('test_')]
    assert len(test) == 2010 and test.label.sum() == 1648

def test_dota_metadata(tmp_path):
    root = need_shared('dota')
    p = run_jsd('data', 'index', '--dataset', 'dota', '--root', root, '--metadata-only', '--out', tmp_path/'d.csv')
    assert 'warning: ' in p.stderr and 'gXezhrOijmQ_004598' in p.stderr   # the self-contradicting record is reported (on stderr)
    assert '1 clip(s) with metadata problems' in p.stdout and '0 of them have a reversed' in p.stdout   # and counted in the summary
    df = pd.read_csv(tmp_path/'d.csv', usecols=['split', 'label'])
    assert len(df) == 334_903 + 142_747 and (df.split == 'test').sum() == 142_747
    p = run_jsd('data', 'index', '--dataset', 'dota', '--root', root, '--out', tmp_path/'e.csv', check=False)
    assert p.returncode == 2 and 'frame file(s) missing in 4677 of 4677 clip(s)' in p.stderr
