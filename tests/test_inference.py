"Tests of jsdlib.video, .engines, .inference, .speed and .app: run folders, frame sources, streaming memory, scores and alarm events, ONNX export parity and cache, the fast path against the old one, the CLI."
import json, tracemalloc
from pathlib import Path

import numpy as np, pandas as pd, pytest, torch

from jsdlib.core import JsdError, write_json
from jsdlib.student import build_student, save_student
from jsdlib.video import iter_frames, write_video, video_info, synthetic_stream, FrameReader
from jsdlib.engines import load_run, TorchScorer, OnnxScorer, get_scorer, export_onnx, read_onnx_metadata, quantize_onnx, weights_sha256
from jsdlib.inference import preprocess, iter_batches, score_stream, score_video, alarm_events, smooth, prefetch
from jsdlib.speed import accuracy_vs
from jsdlib.app import score_player, app_predict
from conftest import run_jsd, SHARED

SIZE = 64


@pytest.fixture(scope='module', autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
    "A run folder as the training chapter writes it, from a random-init student (BatchNorm statistics moved off init)."
    d = tmp_path_factory.mktemp('run')
    torch.manual_seed(0); m = build_student().train()
    with torch.no_grad():
        for _ in range(2): m(torch.randn(4, 3, SIZE, SIZE) * 2 + 0.5)
    save_student(m.eval(), d/'model.safetensors')
    write_json({"method": "baseline", "student_size": SIZE, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, d/'config.json')
    write_json({"threshold": 0.5}, d/'metrics.json')
    return d


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    "A generated 40-frame dashcam clip as H.264 and as a JPEG frame folder."
    from jsdlib.dashcam import render_clip
    d = tmp_path_factory.mktemp('clip')
    frames, plan = render_clip(0, 40, (160, 90), clip=2)
    (d/'frames').mkdir()
    for i, f in enumerate(frames): f.save(d/'frames'/f'{i:06d}.png')
    return dict(video=write_video(frames, d/'clip.mp4', fps=10), folder=d/'frames', frames=frames, plan=plan)


def test_load_run_checks_fields(run_dir, tmp_path):
    r = load_run(run_dir)
    assert (r.size, r.threshold, r.method) == (SIZE, 0.5, 'baseline') and not r.model.training
    for f in ('model.safetensors', 'config.json', 'metrics.json'): (tmp_path/f).write_bytes((run_dir/f).read_bytes())
    write_json({"threshold": 1.5}, tmp_path/'metrics.json')
    with pytest.raises(JsdError, match=r"metrics.json: field 'threshold' must be a score in \[0, 1\]"): load_run(tmp_path)
    write_json({"threshold": 0.2}, tmp_path/'metrics.json'); write_json({"student_size": 60}, tmp_path/'config.json')
    with pytest.raises(JsdError, match="config.json: field 'student_size'"): load_run(tmp_path)
    write_json({"student_size": 64, "std": [0.2, 0, 0.2]}, tmp_path/'config.json')
    with pytest.raises(JsdError, match="'std' must be positive"): load_run(tmp_path)
    (tmp_path/'config.json').write_text('{broken')
    with pytest.raises(JsdError, match='config.json: not valid JSON'): load_run(tmp_path)
    with pytest.raises(JsdError, match='run folder not found'): load_run(tmp_path/'nope')


def test_frames_from_video_folder_and_iterable(clip):
    v = list(iter_frames(clip['video'])); f = list(iter_frames(clip['folder'])); it = list(iter_frames(clip['frames']))
    assert len(v) == len(f) == len(it) == 40
    assert v[0].shape == (90, 160, 3) and v[0].dtype == np.uint8
    np.testing.assert_array_equal(f[7], np.asarray(clip['frames'][7]))       # PNG is lossless
    np.testing.assert_array_equal(it[7], f[7])
    assert np.abs(v[7].astype(int) - f[7].astype(int)).mean() < 10           # H.264 is close
    info = video_info(clip['video'])
    assert info['frames'] == 40 and info['fps'] == pytest.approx(10) and (info['width'], info['height']) == (160, 90)
    assert len(list(iter_frames(clip['video'], max_frames=3))) == 3


def test_batches_and_preprocessing_match_training(clip):
    from jsdlib.data import load_image
    from jsdlib.teacher import to_tensor
    paths = sorted(clip['folder'].iterdir())[:3]
    ref = torch.stack([to_tensor(load_image(p), SIZE) for p in paths]).numpy()
    np.testing.assert_allclose(preprocess(list(iter_frames(clip['folder'], 3)), SIZE), ref, atol=1e-5)
    sizes = [len(x) for _, x in iter_batches(iter_frames(clip['folder']), SIZE, 16)]
    assert sizes == [16, 16, 8]


def test_streaming_memory_does_not_grow():
    "Scoring 10x more frames must not raise the peak of traced (NumPy/Python) memory: frames are not kept."
    def peak(n):
        tracemalloc.start()
        try:
            s = score_stream(lambda x: x.mean(axis=(1, 2, 3)), synthetic_stream(n, 320, 240), 32, batch_size=8)
            assert len(s) == n
            return tracemalloc.get_traced_memory()[1]
        finally: tracemalloc.stop()
    small, big = peak(50), peak(1000)
    frames_bytes = 1000 * 320 * 240 * 3                                     # 230 MB if they were kept
    assert big - small < 1_000_000, (small, big)
    assert big < frames_bytes / 20


def test_streaming_with_the_real_model_long_stream(run_dir):
    "A long generated stream through the real student: scores for every frame, equal to scoring in one go."
    sc = get_scorer(run_dir)
    frames = list(synthetic_stream(70, 96, 64, seed=3))
    s = score_stream(sc, iter(frames), sc.size, sc.mean, sc.std, batch_size=16)
    np.testing.assert_allclose(s, sc(preprocess(frames, sc.size)), atol=1e-5)


def test_prefetch_propagates_errors_and_stops():
    def gen():
        yield 1; yield 2; raise RuntimeError('decoder broke')
    with pytest.raises(RuntimeError, match='decoder broke'): list(prefetch(gen()))
    it = prefetch(iter(range(10**9)), depth=2)                              # an endless producer is stopped on close
    assert next(it) == 0
    it.close()


@pytest.mark.parametrize('seed', range(4))
def test_alarm_events_cover_exactly_the_alarm_frames(seed):
    rng = np.random.default_rng(seed)
    s = smooth(rng.random(200), sigma=float(rng.integers(0, 3)))
    thr = float(rng.uniform(0.3, 0.7))
    ev = alarm_events(s, thr, fps=25)
    covered = np.zeros(len(s), bool)
    for e in ev.itertuples():
        assert e.frames == e.end - e.start and e.start <= e.peak_frame < e.end
        assert e.peak_score == pytest.approx(s[e.start:e.end].max())
        assert e.start_s == pytest.approx(e.start / 25)
        covered[e.start:e.end] = True
    np.testing.assert_array_equal(covered, s >= thr)
    assert (ev.start.iloc[1:].to_numpy() > ev.end.iloc[:-1].to_numpy()).all()   # separated by at least one normal frame


def test_score_video_consistent(run_dir, clip):
    a = score_video(run_dir, clip['video'], batch_size=7, sigma=1.5)
    b = score_video(run_dir, clip['video'], batch_size=40, sigma=1.5, prefetch_depth=0)
    np.testing.assert_allclose(a.table.score, b.table.score, atol=1e-5)     # batch size and pipeline do not matter
    assert list(a.table.columns) == ['video', 'frame', 'time_s', 'score', 'smoothed', 'alarm', 'scored']
    np.testing.assert_array_equal(a.table.alarm, (a.table.smoothed >= 0.5).astype(int))
    assert a.table.time_s.iloc[-1] == pytest.approx(3.9)
    t = score_video(run_dir, clip['video'], threshold=float(a.table.smoothed.median()))
    assert 0 < t.table.alarm.sum() < 40 and len(t.events) >= 1
    with pytest.raises(JsdError, match='threshold must be in'): score_video(run_dir, clip['video'], threshold=2)


def test_onnx_export_parity_and_metadata(run_dir, clip, tmp_path):
    out = export_onnx(run_dir, tmp_path/'student.onnx')
    md = read_onnx_metadata(out)
    assert (md['threshold'], md['input_size'], md['method']) == (0.5, SIZE, 'baseline')
    assert md['mean'] == [0.485, 0.456, 0.406] and md['std'] == [0.229, 0.224, 0.225]
    run = load_run(run_dir); sc = OnnxScorer(out, threads=1)
    x = preprocess(list(iter_frames(clip['video'], 11)), SIZE)
    with torch.no_grad(): ref = torch.sigmoid(run.model(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(sc(x), ref, atol=1e-5)
    for b in (1, 3): np.testing.assert_allclose(sc(x[:b]), ref[:b], atol=1e-5)   # dynamic batch
    import onnx
    g = onnx.load(str(out)).graph
    assert g.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    assert [o.name for o in g.output] == ['logit', 'score']
    assert not any(n.op_type.startswith('Projector') for n in g.node)
    # scoring with the exported file == scoring with the run folder
    np.testing.assert_allclose(score_video(out, clip['video']).table.score, score_video(run_dir, clip['video']).table.score, atol=1e-5)
    np.testing.assert_allclose(score_video(run_dir, clip['video'], engine='onnx').table.score, score_video(run_dir, clip['video']).table.score, atol=1e-5)


def test_onnx_export_is_atomic(run_dir, tmp_path, monkeypatch):
    out = tmp_path/'student.onnx'; out.write_bytes(b'old')
    import onnx.checker
    def boom(*a, **k): raise RuntimeError('checker says no')
    monkeypatch.setattr(onnx.checker, 'check_model', boom)
    with pytest.raises(RuntimeError, match='checker says no'): export_onnx(run_dir, out)
    assert out.read_bytes() == b'old' and sorted(p.name for p in tmp_path.iterdir()) == ['student.onnx']


def test_int8_static_quantisation_accuracy_check(run_dir, clip, tmp_path):
    fp32 = export_onnx(run_dir, tmp_path/'student.onnx')
    x = preprocess(list(iter_frames(clip['video'])), SIZE)
    q = quantize_onnx(fp32, tmp_path, x[:16], 'static')
    assert read_onnx_metadata(q)['threshold'] == 0.5
    a, b = OnnxScorer(fp32, 1)(x), OnnxScorer(q, 1)(x)
    acc = accuracy_vs(a[16:], b[16:], 0.5)
    assert set(acc) == {'max_abs_diff', 'mean_abs_diff', 'ref_score_std', 'spearman', 'alarm_agreement'}
    assert 0 <= acc['max_abs_diff'] < 0.5 and 0 <= acc['alarm_agreement'] <= 1
    assert acc['max_abs_diff'] > 0                                          # int8 is not bit-identical: the check measures something
    assert accuracy_vs(a, a, 0.5)['max_abs_diff'] == 0


def test_player_widget(run_dir, clip):
    res = score_video(run_dir, clip['folder'], sigma=1)
    p = score_player(res, labels=np.r_[np.zeros(20, int), np.ones(20, int)])
    p.slider.value = 13
    assert f"frame 13<br>score {res.table.score[13]:.4f}" in p.label.value
    assert p.image.value[:2] == b'\xff\xd8' and p.timeline.value[:4] == b'\x89PNG'


def test_app_predict_without_server(run_dir, clip, tmp_path):
    sc = get_scorer(run_dir)
    png, ev, gal, summ = app_predict(sc, str(clip['video']), None, {}, sigma=0, out_dir=tmp_path)
    assert Path(png).stat().st_size > 1000 and '40 frames scored' in summ
    assert len(gal) == min(8, len(ev))
    with pytest.raises(JsdError, match='upload a video or pick an example'): app_predict(sc, None, '', {'a': 'b'})


def test_cli_score_and_export(run_dir, clip, tmp_path, capsys):
    from jsdlib.cli import main
    p = run_jsd('score', '--checkpoint', run_dir, '--video', clip['video'], '--out', tmp_path/'s.csv', '--sigma', 2,
                '--threads', 1, '--plot', tmp_path/'t.png', '--quiet')          # the installed console script
    assert 'alarm frames' in p.stdout and p.stdout.startswith('engine: onnxruntime') and '1 thread;' in p.stdout
    df = pd.read_csv(tmp_path/'s.csv'); ev = pd.read_csv(tmp_path/'s_events.csv')
    assert len(df) == 40 and df.score.between(0, 1).all() and (tmp_path/'t.png').exists()
    assert list(ev.columns)[:5] == ['start', 'end', 'frames', 'peak_frame', 'peak_score'] and ev.frames.sum() == df.alarm.sum()
    capsys.readouterr()
    assert main(['export-onnx', '--checkpoint', str(run_dir), '--out', str(tmp_path/'m.onnx')]) == 0
    assert 'parity with PyTorch' in capsys.readouterr().out
    assert main(['score', '--checkpoint', str(tmp_path/'m.onnx'), '--video', str(clip['folder']), '--out', str(tmp_path/'o.csv'), '--quiet']) == 0
    np.testing.assert_allclose(pd.read_csv(tmp_path/'o.csv').score, score_video(run_dir, clip['folder']).table.score, atol=1e-5)
    capsys.readouterr()
    assert main(['score', '--checkpoint', str(tmp_path/'none'), '--video', str(clip['video']), '--out', str(tmp_path/'x.csv')]) == 2
    assert 'run folder not found' in capsys.readouterr().err
    assert main(['score', '--checkpoint', str(run_dir), '--video', str(tmp_path/'missing.mp4'), '--out', str(tmp_path/'x.csv')]) == 2
    assert 'no such video file or frame folder' in capsys.readouterr().err


def test_cli_benchmark_writes_table(run_dir, tmp_path, capsys):
    "A benchmark, not a timed test: only the structure of its output is checked."
    from jsdlib.cli import main
    assert main(['benchmark', '--checkpoint', str(run_dir), '--out', str(tmp_path/'b.json'), '--frames', '8', '--batch-size', '4',
                 '--threads', '1', '--repeats', '1', '--no-quant']) == 0
    out = capsys.readouterr().out
    r = json.loads((tmp_path/'b.json').read_text())
    rows, stages = pd.DataFrame(r['rows']), pd.DataFrame(r['stages'])
    assert {'model', 'end-to-end'} <= set(rows.measure) and set(stages.stage) == {'decode', 'preprocess', 'model', 'end to end'}
    assert rows.engine.str.startswith('reference').any() and (rows.fps > 0).all() and (stages.fps > 0).all()
    assert {'cpu', 'cores', 'thread_options', 'loadavg_1min'} <= set(r['hardware']) and r['hardware']['thread_options'] == [1]
    g = r['goals']
    assert {'decode_fps', 'model_gflops', 'model_vs_peak', 'matmul_peak_gflops', 'pil', 'scaler', 'goals'} <= set(g)
    assert {'e2e_fps', 'vs_decode', 'vs_slowest', 'vs_ceiling', 'vs_reference', 'ceiling_fps'} <= set(g['pil'])
    assert 'goal end to end >= 80% of decode-only' in out and 'of the matmul peak' in out
    assert torch.get_num_threads() == 1                                      # restored


def test_real_ped2_clip(run_dir):
    clip = SHARED/'ucsd_ped2'/'testing'/'frames'/'01'
    if not clip.is_dir(): pytest.skip(f'{clip} not found (UCSD Ped2 is expected in ../shared/data)')
    res = score_video(run_dir, clip, max_frames=60)
    assert len(res.table) == 60 and res.table.score.between(0, 1).all()


@pytest.fixture(scope='module')
def spread_run(tmp_path_factory):
    "A 224-px run whose scores vary widely from frame to frame (the head rescaled), so that a 1e-4 agreement means something."
    from jsdlib.engines import make_demo_run, load_run as lr
    from jsdlib.video import bench_clip
    d = tmp_path_factory.mktemp('spread'); clip = bench_clip(d/'clip.mp4', 64)           # 640x360 H.264, as the benchmark
    run = lr(make_demo_run(d/'run', size=224, threshold=0.5))
    head = [m for m in run.model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        z = run.model(torch.from_numpy(preprocess(list(iter_frames(clip, 64)), 224)))
        a = 2 / z.std(); head.weight *= a; head.bias.copy_(a * (head.bias - z.mean()))        # logits now about N(0, 2^2)
    save_student(run.model, d/'run'/'model.safetensors')
    return d/'run', clip


def _current_path(run_dir, clip):
    "The path before the fast one, written out: PyAV to full-size RGB, PIL bilinear resize, (x/255 - mean)/std, PyTorch, one stage after another."
    import av
    from PIL import Image
    run = load_run(run_dir); m, s = np.asarray(run.mean, np.float32), np.asarray(run.std, np.float32)
    with av.open(str(clip)) as c:
        rgb = [np.asarray(Image.fromarray(f.to_ndarray(format='rgb24')).resize((run.size, run.size), Image.BILINEAR)) for f in c.decode(video=0)]
    x = ((np.stack(rgb).astype(np.float32) / 255. - m) / s).transpose(0, 3, 1, 2)
    with torch.no_grad(): return torch.sigmoid(run.model(torch.from_numpy(np.ascontiguousarray(x)))).numpy()


@pytest.fixture(scope='module')
def trained_run(synth_root, tmp_path_factory):
    "A student trained for a few epochs on the small generated dataset (about 10 s on one thread): scores that vary as a real student's do."
    d = tmp_path_factory.mktemp('trained')/'run'
    run_jsd('train', '--method', 'baseline', '--index', synth_root/'index.csv', '--out', d, '--epochs', 15, '--lr', 3e-3, '--student-size', 64,
            '--threads', 1, '--quiet')
    return d


def test_fast_path_scores_equal_the_current_path(trained_run, spread_run):
    "The default fast path (ONNX Runtime, three-thread pipeline, table-look-up normalisation) gives the old path's scores within 1e-4."
    clip = spread_run[1]                                      # 64 frames of 640x360 H.264, as the benchmark's
    ref = _current_path(trained_run, clip)
    assert ref.std() > 0.02, ref.std()                        # the scores move from frame to frame: a real check
    fast = score_video(trained_run, clip, batch_size=16)
    assert fast.engine.startswith('onnxruntime') and fast.resize == 'pil'
    np.testing.assert_allclose(fast.table.score.to_numpy(), ref, atol=1e-4, rtol=0)
    # with PyTorch as the engine the pipeline is bit-for-bit the old path (same pixels, same floats)
    np.testing.assert_allclose(score_video(trained_run, clip, engine='torch').table.score.to_numpy(), ref, atol=1e-6, rtol=0)
    # the check can fail: the decoder's scaler is a different resize, and its scores are further away than 1e-4
    scaler = score_video(trained_run, clip, batch_size=16, resize='scaler').table.score.to_numpy()
    assert np.abs(scaler - ref).max() > 1e-4


def test_every_kth_frame_and_max_side(spread_run):
    run_dir, clip = spread_run
    full = score_video(run_dir, clip).table
    k3 = score_video(run_dir, clip, every=3).table
    assert len(k3) == len(full) == 64 and k3.scored.sum() == 22 and k3.scored.iloc[::3].all()
    np.testing.assert_allclose(k3.score.iloc[::3], full.score.iloc[::3], atol=1e-6)
    np.testing.assert_allclose(k3.score.iloc[1], (2 * k3.score.iloc[0] + k3.score.iloc[3]) / 3, atol=1e-9)
    assert k3.score.iloc[-1] == k3.score.iloc[63]              # after the last scored frame (63): held
    small = score_video(run_dir, clip, max_side=320)
    assert len(small.table) == 64 and small.table.score.between(0, 1).all()
    assert next(iter(FrameReader(clip, max_side=320))).shape == (180, 320, 3)
    with pytest.raises(JsdError, match='every must be an integer >= 1'): score_video(run_dir, clip, every=0)
    with pytest.raises(JsdError, match="resize must be 'pil' or 'scaler'"): score_video(run_dir, clip, resize='cv2')


def test_onnx_export_cached_in_the_run_folder(run_dir, tmp_path, monkeypatch):
    import shutil
    d = tmp_path/'run'; shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns('model.onnx'))
    a, b = get_scorer(d), get_scorer(d)
    assert a.name.startswith(f"onnxruntime (exported to {d/'model.onnx'}") and b.name.startswith('onnxruntime (cached')
    assert read_onnx_metadata(d/'model.onnx')['raw']['jsdlib.weights_sha256'] == weights_sha256(load_run(d))
    x = np.random.default_rng(0).standard_normal((2, 3, SIZE, SIZE)).astype(np.float32)
    torch.manual_seed(5); save_student(build_student().eval(), d/'model.safetensors')      # retrained: the cache is stale
    c = get_scorer(d)
    assert c.name.startswith('onnxruntime (exported to')
    with torch.no_grad(): np.testing.assert_allclose(c(x), torch.sigmoid(load_run(d).model(torch.from_numpy(x))).numpy(), atol=1e-5)
    write_json({"threshold": 0.25}, d/'metrics.json')                                   # a new threshold is read from the folder
    assert get_scorer(d).threshold == 0.25
    assert get_scorer(d, 'torch').name == 'torch eager + inference_mode'
    ro = tmp_path/'ro'; shutil.copytree(run_dir, ro, ignore=shutil.ignore_patterns('model.onnx'))
    monkeypatch.setattr('jsdlib.engines.os.access', lambda *a, **k: False)          # a folder we may not write (also as root)
    t = get_scorer(ro)
    assert t.name.startswith('onnxruntime (temporary export') and not (ro/'model.onnx').exists()
    np.testing.assert_allclose(t(x), get_scorer(run_dir, 'torch')(x), atol=1e-5)


def test_cli_score_progress_bar_shows_frames_per_second(run_dir, tmp_path):
    "`jsd score` on a long generated clip: the bar (stderr) counts frames and shows frames/s; stdout names the engine."
    from jsdlib.video import write_video
    clip = write_video(synthetic_stream(900, 160, 96, seed=1), tmp_path/'long.mp4', fps=25)
    p = run_jsd('score', '--checkpoint', run_dir, '--video', clip, '--out', tmp_path/'s.csv', '--threads', 1, '--every', 2)
    assert 'scoring 1 frame in 2' in p.stderr and 'frames/s' in p.stderr and '900/900' in p.stderr, p.stderr[-500:]     # the bar counts video frames
    assert p.stdout.startswith('engine: onnxruntime') and '900 frames scored' in p.stdout
    assert len(pd.read_csv(tmp_path/'s.csv')) == 900


def test_pipeline_threads_stop_when_the_model_fails(clip):
    "An error in the model stage stops the decode and preprocess threads at once (not when the exception is garbage-collected)."
    import threading, time
    def broken(x): raise RuntimeError('model broke')
    kept = []
    try: score_stream(broken, FrameReader(clip['video']), 32, batch_size=4)
    except RuntimeError as e: kept.append(e)                              # keep the exception alive, as a notebook does
    assert str(kept[0]) == 'model broke'
    for _ in range(50):
        if not any(t.name == 'jsd-prefetch' and t.is_alive() for t in threading.enumerate()): break
        time.sleep(0.1)
    assert not any(t.name == 'jsd-prefetch' and t.is_alive() for t in threading.enumerate())


def test_onnx_cache_follows_threshold_and_onnx_file_engine(run_dir, tmp_path):
    import shutil
    d = tmp_path/'run'; shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns('model.onnx'))
    get_scorer(d); write_json({"threshold": 0.3}, d/'metrics.json')
    assert get_scorer(d).name.startswith('onnxruntime (exported to')       # the file's metadata would be stale: exported again
    assert read_onnx_metadata(d/'model.onnx')['threshold'] == 0.3 and get_scorer(d/'model.onnx').threshold == 0.3
    assert str(d/'model.onnx') in get_scorer(d/'model.onnx').name
    with pytest.raises(JsdError, match='an .onnx file is scored with ONNX Runtime'): get_scorer(d/'model.onnx', 'torch')
    with pytest.raises(JsdError, match='max_frames must be at least 1'): score_video(d, synthetic_stream(3), max_frames=0)
