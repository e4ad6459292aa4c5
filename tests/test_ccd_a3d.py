"""End-to-end tests of `jsd data index --dataset ccd|a3d|labels` as a user runs them, on small files written here in each format.
One command per dataset runs the installed `jsd` script; the many error cases call the same `main()` in this process (a new
interpreter costs seconds each)."""
import io, os, pickle, struct, contextlib, subprocess
from pathlib import Path
import numpy as np
import pandas as pd
from PIL import Image
from conftest import run_jsd
from jsdlib.cli import main
from jsdlib.data import read_index, index_summary, INDEX_COLUMNS
from jsdlib.datasets import index_ccd, index_a3d, safe_load_pickle, CCD_FIELDS

# ---- writers of the official formats
def ccd_line(vid, first, n=50, brackets=True, meta=('12', 'yt', 'Day', 'Normal', 'Yes')):
    labs = ['1' if first is not None and i >= first else '0' for i in range(n)]
    return ','.join([vid, f"[{', '.join(labs)}]" if brackets else ','.join(labs), *meta])

def ccd_release(d, firsts, brackets=None):
    "CarCrash/videos/Crash-1500.txt with one clip per entry of `firsts` (alternating bracketed / unbracketed lines)."
    v = Path(d)/'CarCrash'/'videos'; v.mkdir(parents=True, exist_ok=True)
    lines = [ccd_line(f'{k:06d}', f, brackets=(k % 2 == 1) if brackets is None else brackets,
                      meta=(str(k), f'yt{k // 2}', ('Day', 'Night')[k % 2], ('Normal', 'Snowy', 'Rainy')[k % 3], ('Yes', 'No')[k % 3 == 0]))
             for k, f in enumerate(firsts, 1)]
    (v/'Crash-1500.txt').write_text('\n'.join(lines) + '\n')
    return Path(d)/'CarCrash'

def video(path, n, size=(32, 24)):
    import av
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), 'w') as out:
        st = out.add_stream('mpeg4', rate=10); st.width, st.height, st.pix_fmt = *size, 'yuv420p'
        for i in range(n):
            for p in st.encode(av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), i * 5, np.uint8), format='rgb24')): out.mux(p)
        for p in st.encode(): out.mux(p)

class Py2Pickler(pickle._Pickler):
    "Writes str/bytes as Python 2 `str` opcodes, like a pickle written by Python 2."
    dispatch = pickle._Pickler.dispatch.copy()
    def _save_str(self, obj):
        b = obj.encode('latin1') if isinstance(obj, str) else obj
        self.write(pickle.SHORT_BINSTRING + bytes([len(b)]) + b if len(b) < 256 else pickle.BINSTRING + struct.pack('<i', len(b)) + b)
        self.memoize(obj)
    dispatch[str] = dispatch[bytes] = _save_str

def py2_pickle(obj, path):
    buf = io.BytesIO(); Py2Pickler(buf, protocol=2).dump(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().replace(b'cnumpy._core.', b'cnumpy.core.')); return path

def a3d_rec(video_name, start, n, first, ego=True):
    return dict(video_name=video_name, clip_start=start, clip_end=start + n - 1, ego_envolve=ego, ego_only=False,
                target=np.array([0.] * first + [1.] * (n - first)))

def a3d_release(d, n_clips=10, frames=False):
    recs = {f'vid{k // 3}_{k:06d}': a3d_rec(f'vid{k // 3}', 10 * k, 20 + k, 20 + k if k % 4 == 0 else 5 + k, ego=k % 2 == 0) for k in range(n_clips)}
    py2_pickle(recs, Path(d)/'A3D_labels.pkl')
    if frames:
        for c, r in recs.items():
            fd = Path(d)/'frames'/c/'images'; fd.mkdir(parents=True)
            for i in range(len(r['target'])): Image.new('RGB', (16, 12), (i, 0, 0)).save(fd/f'{i + 1:06d}.jpg')
    return Path(d), recs

def refused(p, *needles):
    assert p.returncode == 2, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert 'Traceback' not in p.stderr, p.stderr
    for n in needles: assert n in p.stderr, (n, p.stderr)

def index(*args, check=True):
    "`jsd data index ARGS` in this process: the CompletedProcess a shell would give."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(['data', 'index', *map(str, args)])
    p = subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())
    if check and rc: raise AssertionError(f"jsd data index failed ({rc}):\n{p.stdout}\n{p.stderr}")
    return p

def shell(*args, check=True): return run_jsd('data', 'index', *args, check=check)

# ---- CCD
FIRSTS = [30, 45, 20, 10, 49, 0, 25, 33, 40, 15, 12, 38]

def test_ccd_metadata_only(tmp_path):
    rel = ccd_release(tmp_path/'r', FIRSTS)
    p = shell('--dataset', 'ccd', '--root', rel, '--metadata-only', '--out', tmp_path/'c.csv')
    assert f'wrote {len(FIRSTS) * 50} rows' in p.stdout
    df = read_index(tmp_path/'c.csv')
    assert list(df.columns) == INDEX_COLUMNS + list(CCD_FIELDS)
    assert len(df) == len(FIRSTS) * 50 and (df.groupby('video').size() == 50).all() and set(df.path) == {''}
    got = df.groupby('video').label.apply(lambda y: int(np.argmax(y.to_numpy()))).to_dict()
    assert got == {f'{k:06d}': f for k, f in enumerate(FIRSTS, 1)}            # first accident frame, both line forms
    assert df.groupby('video').label.sum().to_dict() == {f'{k:06d}': 50 - f for k, f in enumerate(FIRSTS, 1)}
    clip = df.groupby('video').first()
    assert clip.loc['000002', ['timing', 'weather', 'egoinvolve', 'youtubeID']].tolist() == ['Day', 'Rainy', 'Yes', 'yt1']
    assert df[(df.video == '000003') & (df.label == 1)].anomaly_class.unique().tolist() == ['other: crash']   # egoinvolve No
    assert set(df.anomaly_class) == {'', 'ego: crash', 'other: crash'}
    assert set(df.split) == {'train', 'val', 'test'} and df.groupby('video').split.nunique().max() == 1
    # the folder of the annotation file and the file itself are accepted as --root, with the same result
    for root in (rel/'videos', rel/'videos'/'Crash-1500.txt', tmp_path/'r'):
        index('--dataset', 'ccd', '--root', root, '--metadata-only', '--out', tmp_path/'d.csv')
        pd.testing.assert_frame_equal(read_index(tmp_path/'d.csv'), df)

def test_ccd_full_size(tmp_path):
    rng = np.random.default_rng(0)
    rel = ccd_release(tmp_path/'r', [int(x) for x in rng.integers(0, 50, 1500)])
    index('--dataset', 'ccd', '--root', rel, '--metadata-only', '--out', tmp_path/'c.csv')
    s = index_summary(read_index(tmp_path/'c.csv'))
    assert (s.clips.sum(), s.frames.sum()) == (1500, 75_000)
    s = index_summary(index_ccd(rel, metadata_only=True))
    assert s.loc['train', 'clips'] == 1500 and s.loc['train', 'frames'] == 75_000

def test_ccd_with_videos(tmp_path):
    rel = ccd_release(tmp_path/'r', FIRSTS[:5])
    for k in range(1, 6): video(rel/'videos'/'Crash-1500'/f'{k:06d}.mp4', 50)
    for k in (1, 2): video(rel/'videos'/'Normal'/f'{k:06d}.mp4', 50)
    shell('--dataset', 'ccd', '--root', rel, '--out', tmp_path/'c.csv')
    df = read_index(tmp_path/'c.csv')
    assert df.video.nunique() == 7 and len(df) == 7 * 50
    assert all(Path(p).is_file() for p in df.path) and all(str(rel/'frames') in p for p in df.path)
    assert df[df.video.str.startswith('normal_')].label.sum() == 0
    meta = index_ccd(rel, metadata_only=True)
    crash = df[~df.video.str.startswith('normal_')].sort_values(['video', 'frame'])
    assert crash.label.tolist() == meta.sort_values(['video', 'frame']).label.tolist()   # the same official labels, now with paths
    # extracted frames elsewhere (--frames-dir) are used without decoding
    fd = tmp_path/'frames'
    for v in ('000001', '000002', '000003', '000004', '000005'):
        (fd/'Crash-1500'/v).mkdir(parents=True)
        for i in range(50): Image.new('RGB', (8, 8)).save(fd/'Crash-1500'/v/f'{i:05d}.png')
    (rel/'videos'/'Normal'/'000002.mp4').unlink(); (rel/'videos'/'Normal'/'000001.mp4').unlink()
    for v in ('000001', '000002', '000003', '000004', '000005'): (rel/'videos'/'Crash-1500'/f'{v}.mp4').unlink()
    index('--dataset', 'ccd', '--root', rel, '--frames-dir', fd, '--out', tmp_path/'e.csv')
    e = read_index(tmp_path/'e.csv')
    assert e.video.nunique() == 5 and all(p.startswith(str(fd)) for p in e.path)

def test_ccd_bad_input(tmp_path):
    rel = ccd_release(tmp_path/'r', FIRSTS); f = rel/'videos'/'Crash-1500.txt'
    lines = f.read_text().splitlines()
    for k, (bad, msg) in enumerate([(ccd_line('000003', 20, n=49), "Crash-1500.txt:3: clip '000003' has 49 frame labels, expected 50"),
                                    (ccd_line('000003', 20, n=51, brackets=False), '51 labels instead of 50'),
                                    (ccd_line('000003', 20).replace('[0,', '[5,'), "Crash-1500.txt:3: clip '000003': frame label 0 is '5', expected 0 or 1"),
                                    (ccd_line('000003', 20, brackets=False).replace(',0,', ',x,', 1), "frame label 0 is 'x', expected 0 or 1")]):
        f.write_text('\n'.join(lines[:2] + [bad] + lines[3:]) + '\n')
        refused(index('--dataset', 'ccd', '--root', rel, '--metadata-only', '--out', tmp_path/'x.csv', check=False), msg)
    f.write_text('\n'.join(lines) + '\n')
    refused(index('--dataset', 'ccd', '--root', rel, '--out', tmp_path/'x.csv', check=False),
            f'no frames for {len(FIRSTS)} of {len(FIRSTS)} crash clip(s)', '--metadata-only')
    video(rel/'videos'/'Crash-1500'/'000001.mp4', 40)
    for k in range(2, len(FIRSTS) + 1): video(rel/'videos'/'Crash-1500'/f'{k:06d}.mp4', 50)
    refused(index('--dataset', 'ccd', '--root', rel, '--out', tmp_path/'x.csv', check=False), "40 frames, but Crash-1500.txt labels 50 frames of clip '000001'")
    refused(index('--dataset', 'ccd', '--root', tmp_path/'nowhere', '--metadata-only', '--out', tmp_path/'x.csv', check=False), 'dataset root not found')
    refused(index('--dataset', 'ccd', '--root', tmp_path, '--metadata-only', '--out', tmp_path/'x.csv', check=False), 'CCD annotation file not found')
    assert not (tmp_path/'x.csv').exists()                                     # nothing written

# ---- A3D
def test_a3d_metadata_only_and_frames(tmp_path):
    root, recs = a3d_release(tmp_path/'a', frames=False)
    assert b'numpy.core.multiarray' in (root/'A3D_labels.pkl').read_bytes()     # written as Python 2 wrote it
    shell('--dataset', 'a3d', '--root', root, '--metadata-only', '--out', tmp_path/'m.csv')
    m = read_index(tmp_path/'m.csv')
    assert list(m.columns) == INDEX_COLUMNS + ['video_name', 'clip_start', 'clip_end', 'ego_envolve', 'ego_only']
    assert set(m.path) == {''} and m.video.nunique() == len(recs)
    for c, r in recs.items():
        g = m[m.video == c]
        assert g.label.tolist() == r['target'].astype(int).tolist() and g.clip_start.iloc[0] == r['clip_start']
        assert g.ego_envolve.iloc[0] == ('Yes' if r['ego_envolve'] else 'No') and g.video_name.iloc[0] == r['video_name']
    assert set(m.split) == {'train', 'val', 'test'}
    root, _ = a3d_release(tmp_path/'b', frames=True)
    index('--dataset', 'a3d', '--root', root, '--out', tmp_path/'f.csv')
    f = read_index(tmp_path/'f.csv')
    pd.testing.assert_frame_equal(f.drop(columns='path'), m.drop(columns='path'))
    first = f[f.frame == 0].path.map(lambda p: Path(p).relative_to(root).as_posix())
    assert all(p.endswith('/images/000001.jpg') and p.startswith('frames/') for p in first)

def test_a3d_bad_input(tmp_path):
    root, recs = a3d_release(tmp_path/'a', frames=True)
    import shutil; shutil.rmtree(root/'frames'/'vid1_000004')
    refused(index('--dataset', 'a3d', '--root', root, '--out', tmp_path/'x.csv', check=False), "no frames for 1 of 10 clip(s), e.g. ['vid1_000004']", '--metadata-only')
    (root/'frames'/'vid1_000004').mkdir()                                   # a plain folder of png files is read too
    for i in range(24): Image.new('RGB', (16, 12)).save(root/'frames'/'vid1_000004'/f'{i:04d}.png')
    (root/'frames'/'vid0_000001'/'images'/'000003.jpg').unlink()
    refused(index('--dataset', 'a3d', '--root', root, '--out', tmp_path/'x.csv', check=False),
            "20 frame files, but A3D_labels.pkl labels 21 frames of clip 'vid0_000001'")
    r = dict(recs['vid0_000001']); del r['target']
    py2_pickle({'c1': r}, tmp_path/'b'/'A3D_labels.pkl')
    refused(index('--dataset', 'a3d', '--root', tmp_path/'b', '--metadata-only', '--out', tmp_path/'x.csv', check=False), "clip 'c1' lacks field(s) ['target']")
    r = dict(recs['vid0_000001']); r['target'] = np.array([0, 1, 3])
    py2_pickle({'c1': r}, tmp_path/'b'/'A3D_labels.pkl')
    refused(index('--dataset', 'a3d', '--root', tmp_path/'b', '--metadata-only', '--out', tmp_path/'x.csv', check=False), "'target' must be a non-empty 1-D array of 0/1")
    py2_pickle({'c1': 'not a record'}, tmp_path/'b'/'A3D_labels.pkl')
    refused(index('--dataset', 'a3d', '--root', tmp_path/'b', '--metadata-only', '--out', tmp_path/'x.csv', check=False), "clip 'c1': expected a dict with fields")
    assert not (tmp_path/'x.csv').exists()

class Evil:
    def __init__(self, d): self.d = d
    def __reduce__(self): return (os.mkdir, (self.d,))

def test_a3d_pickle_cannot_run_code(tmp_path):
    for proto in (0, 2, 5):
        d = tmp_path/f'p{proto}'; d.mkdir()
        (d/'A3D_labels.pkl').write_bytes(pickle.dumps({'c1': Evil(str(d/'pwned'))}, protocol=proto))
        refused((shell if proto == 2 else index)('--dataset', 'a3d', '--root', d, '--metadata-only', '--out', d/'x.csv', check=False),
                'A3D_labels.pkl: refused to load the global', 'mkdir')
        assert not (d/'pwned').exists() and not (d/'x.csv').exists()
    (tmp_path/'obj.pkl').write_bytes(pickle.dumps({'c1': Path('x')}))
    try: safe_load_pickle(tmp_path/'obj.pkl'); assert False
    except Exception as e: assert 'refused to load the global pathlib' in str(e)

def test_a3d_length_mismatch_is_reported(tmp_path):
    r = a3d_rec('v', 0, 10, 5); r['clip_end'] = 30
    recs = {f'c{k}': a3d_rec('v', 0, 12, 4 if k % 2 else 12) for k in range(10)}; recs['c0'] = r
    py2_pickle(recs, tmp_path/'A3D_labels.pkl')
    p = index('--dataset', 'a3d', '--root', tmp_path, '--metadata-only', '--out', tmp_path/'x.csv')
    assert 'warning: ' in p.stderr and 'c0' in p.stderr and '1 clip(s) with metadata problems' in p.stdout and 'reversed' not in p.stdout
    assert (read_index(tmp_path/'x.csv').groupby('video').size()['c0']) == 10
    refused(index('--dataset', 'a3d', '--root', tmp_path, '--metadata-only', '--strict', '--out', tmp_path/'y.csv', check=False),
            'target has 10 frames but clip_end-clip_start+1 = 31')

# ---- per-frame label CSV
def labels_csv(d, frames=True, n=10, videos=('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')):
    d = Path(d); rows = []
    for k, v in enumerate(videos):
        for i in range(n): rows.append(dict(video=v, frame=i, label=int(k % 2 == 1 and i >= 5), anomaly_class='fall' if k % 2 == 1 and i >= 5 else '', cam=f'c{k % 3}'))
        if frames:
            (d/'frames'/v).mkdir(parents=True)
            for i in range(n): Image.new('RGB', (8, 8), (i, 0, 0)).save(d/'frames'/v/f'{i:03d}.png')
    d.mkdir(parents=True, exist_ok=True); pd.DataFrame(rows).to_csv(d/'labels.csv', index=False)
    return d

def test_labels_csv(tmp_path):
    d = labels_csv(tmp_path/'l')
    shell('--dataset', 'labels', '--root', d, '--out', tmp_path/'x.csv')
    x = read_index(tmp_path/'x.csv')
    assert list(x.columns) == INDEX_COLUMNS + ['cam'] and len(x) == 80 and x.label.sum() == 20
    assert all(Path(p).is_file() for p in x.path) and set(x.split) == {'train', 'val', 'test'}
    assert x[(x.video == 'b') & (x.label == 1)].anomaly_class.unique().tolist() == ['fall']
    # labels only: the CSV file as --root, no frames folder
    d2 = labels_csv(tmp_path/'m', frames=False)
    index('--dataset', 'labels', '--root', d2/'labels.csv', '--out', tmp_path/'y.csv')
    y = read_index(tmp_path/'y.csv')
    assert set(y.path) == {''}
    pd.testing.assert_frame_equal(y.drop(columns='path'), x.drop(columns='path'))

def test_labels_csv_bad_input(tmp_path):
    d = labels_csv(tmp_path/'l')
    df = pd.read_csv(d/'labels.csv', keep_default_na=False); good = df.copy()
    df.loc[3, 'label'] = 7; df.to_csv(d/'labels.csv', index=False)
    refused(index('--dataset', 'labels', '--root', d, '--out', tmp_path/'x.csv', check=False), "labels.csv: row 5 (video 'a'): 'label' must be 0 or 1, got '7'")
    df.loc[3, 'label'] = 0; df = df.drop(index=4); df.to_csv(d/'labels.csv', index=False)
    refused(index('--dataset', 'labels', '--root', d, '--out', tmp_path/'x.csv', check=False), "video 'a' has 9 rows (frames 0..9)")
    index('--dataset', 'labels', '--root', d, '--metadata-only', '--out', tmp_path/'x.csv')    # labels alone are fine
    good.to_csv(d/'labels.csv', index=False); import shutil; shutil.rmtree(d/'frames'/'c')
    refused(index('--dataset', 'labels', '--root', d, '--out', tmp_path/'z.csv', check=False), "no frame files for video 'c'", '--metadata-only')
    refused(index('--dataset', 'labels', '--root', tmp_path, '--out', tmp_path/'z.csv', check=False), 'label CSV not found')
    assert not (tmp_path/'z.csv').exists()
