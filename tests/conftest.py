import os, re, sys, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('JSD_SHARED_DATA', ROOT.parent/'shared'/'data'))
BIN = Path(sys.executable).parent

def run_jsd(*args, cwd=None, check=True, env=None):
    "Run the installed `jsd` console script; return the CompletedProcess."
    e = {**os.environ, 'MPLBACKEND': 'Agg', **(env or {})}
    p = subprocess.run([str(BIN/'jsd'), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=e)
    if check and p.returncode != 0: raise AssertionError(f"jsd {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p

@pytest.fixture(scope='session')
def synth_root(tmp_path_factory):
    "A small generated dataset shared by the CLI tests."
    out = tmp_path_factory.mktemp('synth')/'synth'
    run_jsd('data', 'synth', '--out', out, '--clips', 10, '--frames', 24, '--width', 160, '--height', 90, '--index')
    return out

def need_shared(name):
    p = SHARED/name
    if not p.exists(): pytest.skip(f'real data {p} not found (the tests expect ../shared/data next to the repo)')
    return p

def ped2_test_labels(ped2, videos, frames):
    "0/1 labels of (test clip 'NN', 0-based frame) pairs from the official UCSDped2.m, read without the library."
    txt = (Path(ped2)/'UCSDped2.m').read_text()
    gt = [[tuple(map(int, iv.split(':'))) for iv in re.findall(r'\d+:\d+', ln)] for ln in txt.splitlines() if 'gt_frame' in ln and '=' in ln]
    return [int(any(a - 1 <= f <= b - 1 for a, b in gt[int(v) - 1])) for v, f in zip(videos, frames)]
