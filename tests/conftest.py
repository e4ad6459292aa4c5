import os, re, sys, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('JSD_SHARED_DATA', ROOT.parent/'shared'/'data'))
BIN = Path(sys.executable).parent

if os.environ.get('PYTEST_XDIST_WORKER'):
    # `make test` runs two pytest workers (pytest-xdist) on two cores: each gets its share of the cores as its
    # thread count, and so do the processes it starts (OMP_NUM_THREADS is inherited); two pools of two threads on two
    # cores made the tests of tiny models several times slower
    n = str(max(1, (os.cpu_count() or 1) // int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '2'))))
    os.environ['OMP_NUM_THREADS'] = n
    import torch; torch.set_num_threads(int(n))

def _jsd_in_process(args, cwd=None, env=None)->subprocess.CompletedProcess:
    """`jsd ARGS` run by `jsdlib.cli.main` in this process, its stdout and stderr captured.

    Starting the `jsd` script costs about 11 CPU-seconds (Python, torch and every chapter's module imported again);
    the suite runs it about a hundred times. In this process the imports are paid once. What a command changes
    globally (working folder, environment, `sys.argv`, torch's thread count, open figures, warning filters) is put back."""
    import io, contextlib, traceback, warnings, torch
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from jsdlib.cli import main
    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_env, old_argv, threads = os.getcwd(), dict(os.environ), sys.argv, torch.get_num_threads()
    os.environ.update({'MPLBACKEND': 'Agg', **{k: str(v) for k, v in (env or {}).items()}})
    try:
        if cwd: os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter('default')      # as a fresh process shows them: once per place, not once a session
            sys.argv = ['jsd', *map(str, args)]     # as the console script calls it (old spellings print notes)
            try: rc = main()
            except SystemExit as e:               # argparse: --help, --version (0) and usage errors (2)
                rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, (int, type(None))): print(e.code, file=sys.stderr)
            except Exception:                     # what the script would print before exiting with 1
                traceback.print_exc(); rc = 1
    finally:
        os.chdir(old_cwd); os.environ.clear(); os.environ.update(old_env); sys.argv = old_argv
        torch.set_num_threads(threads); plt.close('all')
    return subprocess.CompletedProcess(['jsd', *map(str, args)], rc, out.getvalue(), err.getvalue())

# JSD_TEST_SUBPROCESS=1: every `run_jsd` starts the installed script, as a user's shell does
SUBPROCESS = os.environ.get('JSD_TEST_SUBPROCESS', '') not in ('', '0')

def run_jsd(*args, cwd=None, check=True, env=None, script=False):
    """Run `jsd ARGS`; return the CompletedProcess. In this process by default (`_jsd_in_process`); `script=True` (or
    JSD_TEST_SUBPROCESS=1) starts the installed `jsd` console script instead, as tests of the script itself need."""
    if script or SUBPROCESS:
        e = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
        p = subprocess.run([str(BIN/'jsd'), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=e)
    else: p = _jsd_in_process(args, cwd, env)
    if check and p.returncode != 0:
        raise AssertionError(f"jsd {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p

@pytest.fixture(scope='session')
def synth_root(tmp_path_factory):
    "A small generated dataset shared by the CLI tests."
    out = tmp_path_factory.mktemp('synth')/'synth'
    run_jsd('data', 'synth', '--out', out, '--clips', 10, '--frames', 24, '--width', 160, '--height', 90, '--index')
    return out

@pytest.fixture(scope='session')
def synth_cache(synth_root, tmp_path_factory):
    "Lite0 features (64 px) of `synth_root`, cached once for the session; tests that damage a cache copy it first."
    c = tmp_path_factory.mktemp('cache')
    run_jsd('precompute-teacher', '--index', synth_root/'index.csv', '--teacher', 'lite0', '--size', 64, '--cache', c, '--quiet')
    return c

@pytest.fixture(scope='session')
def small_synth(tmp_path_factory):
    "`small_synth(clips, frames)`: `jsd data synth` at 96x54 (seed 0), made once a session per size; tests read it, never write into it."
    made = {}
    def get(clips, frames):
        if (clips, frames) not in made:
            out = tmp_path_factory.mktemp(f'synth{clips}x{frames}')/'d'
            run_jsd('data', 'synth', '--out', out, '--clips', clips, '--frames', frames, '--width', 96, '--height', 54)
            made[clips, frames] = out
        return made[clips, frames]
    return get

@pytest.fixture(scope='session')
def site_run(tmp_path_factory):
    """`site_run('09_reproduce')`: (the executed notebook as JSON, its kept folder) from the site build's run of that chapter.

    `make test` builds the site first (tools/build_docs.py --fresh), which runs every chapter and keeps the run folder a
    chapter makes in _build/docs/keep/<chapter>/; tests check that run instead of making the same again. When the
    chapter changed since that build, or no build ran (pytest alone), the chapter is run here through the same tool."""
    sys.path.insert(0, str(ROOT/'tools'))
    import build_docs
    build, nbs, done = ROOT/'_build'/'docs', ROOT/'nbs', {}
    def get(stem):
        if stem not in done:
            import fcntl
            build.mkdir(parents=True, exist_ok=True)
            with open(build/'.site_run.lock', 'w') as lock:   # two pytest workers never build the same chapter at once
                fcntl.flock(lock, fcntl.LOCK_EX); _ensure(stem)
            import json
            done[stem] = json.loads((build/'exec'/f'{stem}.ipynb').read_text()), build/'keep'/stem
        return done[stem]
    def _ensure(stem):
        "Run the chapter through the site tool unless the site build's run of it is current."
        ex = build/'exec'
        fresh = (ex/f'{stem}.key').exists() and (ex/f'{stem}.key').read_text() == build_docs.exec_key(nbs/f'{stem}.ipynb', nbs)
        if not (fresh and (build/'keep'/stem).is_dir()):
            r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--only', stem, '--fresh', '--out', str(tmp_path_factory.mktemp('site_only')/'_docs')],
                               cwd=ROOT, capture_output=True, text=True)
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return get

def need_shared(name):
    p = SHARED/name
    if not p.exists(): pytest.skip(f'real data {p} not found (the tests expect ../shared/data next to the repo)')
    return p

def ped2_test_labels(ped2, videos, frames):
    "0/1 labels of (test clip 'NN', 0-based frame) pairs from the official UCSDped2.m, read without the library."
    txt = (Path(ped2)/'UCSDped2.m').read_text()
    gt = [[tuple(map(int, iv.split(':'))) for iv in re.findall(r'\d+:\d+', ln)] for ln in txt.splitlines() if 'gt_frame' in ln and '=' in ln]
    return [int(any(a - 1 <= f <= b - 1 for a, b in gt[int(v) - 1])) for v, f in zip(videos, frames)]

def committed_ped2_scores(name:str):
    """A committed per-frame Ped2 test-score CSV of nbs/results (video two-digit, frame 0-based, score; 2,010 rows over
    the 12 test clips), checked for that shape, and its 0/1 labels from the official UCSDped2.m (read without the library)."""
    import numpy as np, pandas as pd
    ped2 = need_shared('ucsd_ped2')
    s = pd.read_csv(ROOT/'nbs'/'results'/name, dtype={'video': str})
    assert len(s) == 2010 and list(s.columns) == ['video', 'frame', 'score'] and s['video'].nunique() == 12, name
    return s, np.array(ped2_test_labels(ped2, s['video'], s['frame']))
