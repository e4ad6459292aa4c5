"""Teacher cache end to end: CLI, kill + resume, 2-process accelerate, and the HF <-> timm DINOv2 key map.

Kept tiny (a 2-layer random DINOv2 at 28 px, or Lite0 at 64 px, on a dozen small JPEGs) because CI has 2 shared cores.
"""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from conftest import run_jsd
from jsdlib.cli import main
from jsdlib.core import JsdError
from jsdlib.data import write_index
from jsdlib.teacher import (FeatureCache, build_teacher, hf_to_timm_dinov2, precompute_teacher, save_tiny_dinov2,
                            verify_cache, CachedFrameDataset)

PY = sys.executable
JSD = [PY, '-c', 'import sys; from jsdlib.cli import main; sys.exit(main(sys.argv[1:]))']


def _files(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    "A 2-clip, 12-frame index of small random JPEGs, written as CSV."
    d = tmp_path_factory.mktemp('frames'); rng = np.random.default_rng(0); rows = []
    for v in range(2):
        for f in range(6):
            p = d/f'clip{v}'/f'{f:03d}.jpg'; p.parent.mkdir(exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(p, quality=90)
            rows.append(dict(video=f'clip{v}', frame=f, path=str(p), label=int(v == 1 and f >= 3), anomaly_class='x' if v == 1 and f >= 3 else '',
                             split='train', video_label=v))
    df = pd.DataFrame(rows); write_index(df, d/'index.csv')
    return d/'index.csv', df


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    return save_tiny_dinov2(tmp_path_factory.mktemp('w')/'tiny', image_size=28)


def test_cli_precompute_verify_and_corruption(frames, tiny, tmp_path, capsys):
    index, df = frames
    args = ['precompute-teacher', '--index', str(index), '--teacher', 'dinov2', '--weights', str(tiny), '--size', '28',
            '--cache', str(tmp_path), '--shard-size', '5', '--batch-size', '2', '--quiet']
    assert main(args) == 0
    out = capsys.readouterr().out
    assert '3/3 shards complete' in out and '12 rows' in out
    m = json.loads((tmp_path/'dinov2'/'manifest.json').read_text())
    assert (m['teacher'], m['dtype'], m['feature_shape'], m['n_rows'], m['n_shards']) == ('dinov2', 'float16', [32], 12, 3)
    assert m['preprocessing']['size'] == 28 and len(m['weights_sha256']) == 64
    fc = FeatureCache(tmp_path, index=df, teacher='dinov2')
    assert fc.features.shape == (12, 32) and fc.features.dtype == np.float16
    # the cached row equals the teacher run on that frame
    t = build_teacher('dinov2', tiny, size=28)
    from jsdlib.data import load_image
    ref = t(t.preprocess(load_image(df.path[7]))[None])[0].numpy()
    np.testing.assert_allclose(fc.features[7].astype(np.float32), ref, rtol=1e-2, atol=1e-2)
    # a rerun computes nothing and changes nothing
    before = _files(tmp_path)
    assert main(args) == 0 and _files(tmp_path) == before
    assert main(['verify-cache', '--cache', str(tmp_path), '--quiet']) == 0
    shard = tmp_path/'dinov2'/'shards'/'00002.npy'
    raw = bytearray(shard.read_bytes()); raw[-2] ^= 0xFF; shard.write_bytes(bytes(raw))
    assert main(['verify-cache', '--cache', str(tmp_path), '--quiet']) == 1
    assert verify_cache(tmp_path)['dinov2']['corrupt'] == [2]


def test_mismatch_and_missing_frames_are_errors(frames, tiny, tmp_path, capsys):
    index, df = frames
    base = ['precompute-teacher', '--index', str(index), '--teacher', 'dinov2', '--weights', str(tiny), '--cache', str(tmp_path), '--quiet']
    assert main(base + ['--size', '28']) == 0
    assert main(base + ['--size', '42']) == 2                       # same teacher, other preprocessing
    assert "preprocessing: cache has {'size': 28}" in capsys.readouterr().err
    other = tmp_path/'other-weights'; save_tiny_dinov2(other, image_size=28, seed=1)
    assert main(base[:6] + [str(other)] + base[7:] + ['--size', '28']) == 2
    assert 'weights_sha256' in capsys.readouterr().err
    with pytest.raises(JsdError, match="no cache for teacher 'lite0'"): FeatureCache(tmp_path, teacher='lite0')
    bad = df.copy(); bad.loc[3, 'path'] = str(tmp_path/'missing.jpg'); bad.loc[8, 'path'] = ''
    with pytest.raises(JsdError, match=r'2 frame\(s\) of the index are missing') as e:
        precompute_teacher(bad, 'dinov2', tmp_path/'c2', weights=tiny, size=28, progress=False)
    assert 'missing.jpg' in str(e.value) and 'clip1 frame 2' in str(e.value)
    assert not (tmp_path/'c2'/'dinov2'/'shards').exists() or not list((tmp_path/'c2'/'dinov2'/'shards').glob('*.npy'))


def test_max_shards_resume_is_identical(frames, tiny, tmp_path):
    index, df = frames
    kw = dict(weights=tiny, size=28, shard_size=4, batch_size=3, progress=False)
    full = precompute_teacher(index, 'dinov2_cls', tmp_path/'full', **kw)
    s1 = precompute_teacher(index, 'dinov2_cls', tmp_path/'part', max_shards=2, **kw)
    assert (s1['shards_done'], s1['complete']) == (2, False)
    with pytest.raises(JsdError, match='incomplete'): FeatureCache(tmp_path/'part', teacher='dinov2_cls')
    s2 = precompute_teacher(index, 'dinov2_cls', tmp_path/'part', **kw)
    assert (s2['shards_skipped'], s2['shards_written_here'], s2['complete']) == (2, 1, True)
    assert full['complete'] and _files(tmp_path/'full') == _files(tmp_path/'part')
    ds = CachedFrameDataset(df.iloc[::-1], FeatureCache(tmp_path/'part', df, 'dinov2_cls'))
    img, y, f = ds[0]
    assert f.shape == (32,) and float(y) == float(df.label.iloc[-1])


def test_killed_subprocess_resumes_to_identical_cache(frames, tmp_path):
    "SIGKILL a real `jsd precompute-teacher` after its first shards, rerun it, compare with an uninterrupted run."
    index, df = frames
    args = ['precompute-teacher', '--index', str(index), '--teacher', 'lite0', '--size', '64', '--shard-size', '1',
            '--batch-size', '1', '--quiet', '--cache']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    p = subprocess.Popen(JSD + args + [str(tmp_path/'killed')], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    recs, t0 = tmp_path/'killed'/'lite0'/'shards', time.time()
    while p.poll() is None and time.time() - t0 < 120 and len(list(recs.glob('*.json'))) < 2: time.sleep(0.005)
    p.send_signal(signal.SIGKILL); p.wait()
    n_before = len(list(recs.glob('*.json')))
    assert 2 <= n_before, p.stderr.read().decode()[-2000:]
    if n_before == 12: pytest.skip('the run finished before it could be killed')
    with pytest.raises(JsdError, match='incomplete'): FeatureCache(tmp_path/'killed', teacher='lite0')
    assert subprocess.run(JSD + args + [str(tmp_path/'killed')], env=env).returncode == 0
    assert subprocess.run(JSD + args + [str(tmp_path/'clean')], env=env).returncode == 0
    assert not list(recs.glob('.*.tmp*'))                      # a killed write's temp file is cleaned up
    assert _files(tmp_path/'killed') == _files(tmp_path/'clean')


def test_accelerate_two_processes_equal_single(frames, tiny, tmp_path):
    "`accelerate launch` with 2 CPU processes: each writes its own shards; the cache equals a single-process one."
    index, df = frames
    acc = Path(PY).parent/'accelerate'
    if not acc.exists(): pytest.skip('accelerate CLI not installed')
    script = tmp_path/'run_jsd.py'
    script.write_text('import sys\nfrom jsdlib.cli import main\nsys.exit(main(sys.argv[1:]))\n')
    args = ['precompute-teacher', '--index', str(index), '--teacher', 'dinov2', '--weights', str(tiny), '--size', '28',
            '--shard-size', '3', '--batch-size', '2', '--quiet', '--cache']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([str(acc), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                        '--dynamo_backend', 'no', '--main_process_port', '29517', str(script)] + args + [str(tmp_path/'multi')],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'process' not in r.stdout or True
    assert subprocess.run(JSD + args + [str(tmp_path/'single')], env=env).returncode == 0
    assert _files(tmp_path/'multi') == _files(tmp_path/'single')
    assert verify_cache(tmp_path/'multi')['dinov2']['ok'] == 4


def test_hf_to_timm_new_attention_names():
    "transformers' in-memory names (q_proj/o_proj) and the saved legacy names (query/output.dense) both map onto timm."
    from transformers import Dinov2Config, Dinov2Model
    import timm
    torch.manual_seed(0)
    hf = Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14)).eval()
    sd = hf_to_timm_dinov2(hf.state_dict())
    vit = timm.create_model('vit_small_patch14_dinov2', pretrained=False, img_size=28, num_classes=0, embed_dim=32, depth=1,
                            num_heads=2).eval()
    vit.load_state_dict(sd, strict=True)
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad(): torch.testing.assert_close(vit.forward_features(x), hf(pixel_values=x).last_hidden_state, atol=1e-5, rtol=1e-4)


def test_benchmark_cache_cli_prints_ratios_and_verdicts(frames):
    "`jsd benchmark-cache` times the three ways on real files and says whether each goal is met."
    p = run_jsd('benchmark-cache', '--index', frames[0], '--teachers', 'lite0', '--frames', 8, '--batch-size', 4, '--repeats', 1)
    assert 'b_over_a' in p.stdout and 'c_over_b' in p.stdout, p.stdout
    line = [l for l in p.stdout.splitlines() if l.startswith('lite0: JSD from the cache costs')]
    assert len(line) == 1 and ('goal <= 1.1: met' in line[0] or 'goal <= 1.1: NOT met' in line[0]), p.stdout
