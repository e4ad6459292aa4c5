"""Bad input from the shell, as a careful new user would try it: every case exits with code 2 and one line
`error: ...` naming the file or option (no traceback), deletes nothing the user made, and reports nothing half-done
as complete. Each case failed (a traceback, a silent result or lost files) before the reliability issue was fixed."""
import json, os, shutil
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import run_jsd

def refused(p, *needles):
    "Exit code 2, one `error:` line naming what is wrong, no traceback."
    err = p.stderr.strip()
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], err[-2000:])
    assert 'Traceback' not in err, err
    lines = [l for l in err.splitlines() if l.startswith('error: ')]
    assert len(lines) == 1, err
    for n in needles: assert str(n) in lines[0], (n, lines[0])
    return lines[0]

@pytest.fixture
def cache(synth_cache):
    "The Lite0 cache of `synth_root`, built once a session (conftest.py) for this module and the others that need it."
    return synth_cache

def copy_cache(cache, tmp_path):
    d = tmp_path/'cache'; shutil.copytree(cache, d); return d, d/'lite0'

def test_version(tmp_path):
    "The installed console script itself (the other tests run `jsd` in-process): its version, a refusal's exit code."
    p = run_jsd('--version', script=True); assert p.stdout.startswith('jsd (jsdlib) ')
    refused(run_jsd('verify-cache', '--cache', tmp_path/'none', script=True, check=False), 'none')

def test_damaged_cache_bookkeeping(synth_root, cache, tmp_path):
    d, t = copy_cache(cache, tmp_path)
    (t/'shards'/'00000.json').write_bytes(b'\x00\xff garbage')              # a damaged shard record: reported, not a crash
    p = run_jsd('verify-cache', '--cache', d, '--quiet', check=False)
    assert p.returncode == 1 and 'CORRUPT [0]' in p.stdout and 'Traceback' not in p.stderr, (p.stdout, p.stderr)
    (t/'manifest.json').write_text('{"format": "jsdlib-teacher-cache/1", "n_sh')   # a manifest cut short
    refused(run_jsd('verify-cache', '--cache', d, '--quiet', check=False), 'manifest.json', 'not valid JSON')
    refused(run_jsd('precompute-teacher', '--index', synth_root/'index.csv', '--teacher', 'lite0', '--size', 64, '--cache', d, '--quiet', check=False),
            'manifest.json', 'not valid JSON')
    refused(run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', d, '--out', tmp_path/'run', '--epochs', 1, '--quiet', check=False),
            'manifest.json')
    assert not (tmp_path/'run').exists()

def test_damaged_shard_header(synth_root, cache, tmp_path):
    d, t = copy_cache(cache, tmp_path)
    f = t/'shards'/'00000.npy'; raw = bytearray(f.read_bytes()); raw[:16] = b'\x00' * 16; f.write_bytes(bytes(raw))
    refused(run_jsd('train', '--method', 'jsd', '--index', synth_root/'index.csv', '--cache', d, '--out', tmp_path/'run', '--epochs', 1,
                    '--student-size', 64, '--batch-size', 8, '--quiet', check=False), 'corrupt shard', '--repair')
    assert not (tmp_path/'run').exists()                                  # no folder that looks like a run

@pytest.mark.parametrize('opt, value, msg', [('--pos-weight', 'abc', 'pos_weight'), ('--lr', '-1', 'lr'), ('--threshold-method', 'bogus', 'invalid choice')])
def test_train_options(synth_root, tmp_path, opt, value, msg):
    p = run_jsd('train', '--method', 'baseline', '--index', synth_root/'index.csv', '--out', tmp_path/'run', opt, value, '--quiet', check=False)
    assert p.returncode == 2 and msg in p.stderr and 'Traceback' not in p.stderr, p.stderr
    assert not (tmp_path/'run').exists()

def fake_run(tmp_path, name='r'):
    from jsdlib.evaluate import make_fake_run
    return make_fake_run(tmp_path/name, n_videos=4, n_frames=20)

def test_evaluate_damaged_scores(tmp_path):
    r = fake_run(tmp_path)
    (r/'scores_test.csv').write_text('')
    refused(run_jsd('evaluate', '--runs', r, '--out', tmp_path/'e.json', '--quiet', check=False), 'scores_test.csv', 'empty file')
    v = (r/'scores_val.csv').read_text(); (r/'scores_test.csv').write_text(v[:v.rindex(',')])
    refused(run_jsd('evaluate', '--runs', r, '--out', tmp_path/'e.json', '--quiet', check=False), 'scores_test.csv', 'cut short')
    assert not (tmp_path/'e.json').exists()

def test_write_onto_a_folder(tmp_path):
    r = fake_run(tmp_path); (tmp_path/'out.json').mkdir()
    refused(run_jsd('evaluate', '--runs', r, '--out', tmp_path/'out.json', '--figures', tmp_path/'f', '--n-boot', 5, '--quiet', check=False), 'out.json')

def test_export_onnx_onto_a_folder(tmp_path):
    from jsdlib.engines import make_demo_run
    run = make_demo_run(tmp_path/'demo', size=64); (tmp_path/'m.onnx').mkdir()
    refused(run_jsd('export-onnx', '--checkpoint', run, '--out', tmp_path/'m.onnx', check=False), 'm.onnx')

@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0, reason='root writes into read-only folders: the case cannot be made here')
def test_export_onnx_read_only(tmp_path):
    from jsdlib.engines import make_demo_run
    run = make_demo_run(tmp_path/'demo', size=64); ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o555)
    try: refused(run_jsd('export-onnx', '--checkpoint', run, '--out', ro/'m.onnx', check=False), 'ro', 'Permission denied')
    finally: ro.chmod(0o755)

def test_truncated_video(tmp_path):
    from jsdlib.engines import make_demo_run
    from jsdlib.video import write_video
    run = make_demo_run(tmp_path/'demo', size=64)
    frames = [np.full((64, 96, 3), 4 * i, np.uint8) for i in range(60)]
    raw = write_video(frames, tmp_path/'v.mkv', fps=10).read_bytes(); (tmp_path/'cut.mkv').write_bytes(raw[:len(raw) // 2])
    p = run_jsd('score', '--checkpoint', run, '--video', tmp_path/'cut.mkv', '--out', tmp_path/'s.csv', '--quiet')
    assert 'warning: ' in p.stderr and 'of the 60 frames its container declares' in p.stderr, p.stderr
    refused(run_jsd('score', '--checkpoint', run, '--video', tmp_path/'cut.mkv', '--out', tmp_path/'s2.csv', '--quiet', '--strict', check=False),
            'cut.mkv', 'truncated')
    assert not (tmp_path/'s2.csv').exists()
    refused(run_jsd('score', '--checkpoint', run, '--video', tmp_path/'v.mkv', '--out', tmp_path/'s3.csv', '--sigma', '-2', check=False), 'sigma')

def test_synth_overwrite_keeps_foreign_files(tmp_path):
    out = tmp_path/'synth'
    run_jsd('data', 'synth', '--out', out, '--clips', 2, '--frames', 8, '--width', 96, '--height', 54)
    (out/'cache').mkdir(); (out/'cache'/'x.npy').write_bytes(b'mine'); (out/'index.csv').write_text('mine')
    refused(run_jsd('data', 'synth', '--out', out, '--clips', 3, '--frames', 8, '--width', 96, '--height', 54, '--overwrite', check=False),
            'did not write', 'cache', 'index.csv')
    assert (out/'cache'/'x.npy').read_bytes() == b'mine' and (out/'index.csv').read_text() == 'mine'

def test_dota_reversed_window(tmp_path):
    root = tmp_path/'dota'; root.mkdir()
    rec = lambda s, e: dict(num_frames=10, anomaly_start=s, anomaly_end=e, anomaly_class='ego: collision')
    train = {f'a{i}': rec(2, 5) if i % 2 else rec(None, None) for i in range(8)} | {'b': rec(6, 3)}
    (root/'metadata_train.json').write_text(json.dumps(train))
    (root/'metadata_val.json').write_text(json.dumps({f'c{i}': rec(1, 4) if i % 2 else rec(None, None) for i in range(4)}))
    p = run_jsd('data', 'index', '--dataset', 'dota', '--root', root, '--metadata-only', '--out', tmp_path/'i.csv')
    assert 'anomaly_end=3 <= anomaly_start=6' in p.stderr and '1 clip(s) with metadata problems' in p.stdout and '1 of them have a reversed' in p.stdout, (p.stdout, p.stderr)
    assert pd.read_csv(tmp_path/'i.csv').query("video == 'b'").label.sum() == 0
    refused(run_jsd('data', 'index', '--dataset', 'dota', '--root', root, '--metadata-only', '--out', tmp_path/'j.csv', '--strict', check=False),
            'metadata problem', 'anomaly_end=3')
    assert not (tmp_path/'j.csv').exists()

def test_help_shows_defaults():
    for cmd in (['data', 'synth'], ['data', 'index'], ['train'], ['precompute-teacher'], ['benchmark-cache'], ['export-onnx'], ['app'], ['score'], ['evaluate']):
        p = run_jsd(*cmd, '--help')
        assert '(default:' in p.stdout, (cmd, p.stdout)

def test_full_disk_during_precompute(synth_root, tmp_path, monkeypatch, capsys):
    "A disk that fills up while shards are written: one line naming the file, the finished shards kept, no temp file, resumable."
    import errno, jsdlib.teacher as T
    from jsdlib.cli import main
    real, calls = np.save, []
    def save(f, a, **kw):
        calls.append(1)
        if len(calls) == 2: raise OSError(errno.ENOSPC, 'No space left on device', getattr(f, 'name', None))
        return real(f, a, **kw)
    monkeypatch.setattr(T.np, 'save', save)
    args = ['precompute-teacher', '--index', str(synth_root/'index.csv'), '--teacher', 'lite0', '--size', '32', '--shard-size', '64',
            '--cache', str(tmp_path/'c'), '--quiet']
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and 'No space left on device (the disk is full' in err and len(err.splitlines()) == 1, err
    shards = tmp_path/'c'/'lite0'/'shards'
    assert sorted(p.name for p in shards.iterdir()) == ['00000.json', '00000.npy']       # the finished shard, nothing half-written
    monkeypatch.setattr(T.np, 'save', real)
    assert main(args) == 0 and main(['verify-cache', '--cache', str(tmp_path/'c'), '--quiet']) == 0   # space freed: it resumes
