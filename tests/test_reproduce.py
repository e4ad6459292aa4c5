"`jsd reproduce` end to end at smoke scale through papermill (the run chapter 09 makes when the site is built), and a failing step."
import json
from pathlib import Path
from conftest import run_jsd

STEPS = ['01_data', '02_teacher', '03_train_baseline', '03_train_jsd', '04_evaluate', '05_visualize']

def test_reproduce_smoke_synth(site_run):
    """The smoke reproduction that chapter 09 runs when the site is built (the same call `jsd reproduce` makes), checked
    here instead of being run a second time; then `jsd reproduce` from the shell on that folder: reused, refused."""
    nb, keep = site_run('09_reproduce')
    out = keep/'run'
    stdout = ''.join(''.join(o.get('text', '')) for c in nb['cells'] if c['cell_type'] == 'code'
                     for o in c.get('outputs', []) if o.get('output_type') == 'stream' and o.get('name') == 'stdout')
    for s in STEPS: assert f'{s}: ran in' in stdout, stdout       # the time of each step is printed as it goes
    assert 'Kernel is running over TCP' not in stdout              # kernel chatter goes to a log (checked from the shell below)
    assert (out/'notebooks'/'01_data.kernel.log').exists()
    res = json.loads((keep/'first_results.json').read_text())     # results.json of the first run (the chapter reran steps)
    assert list(res['steps']) == STEPS and all(r['status'] == 'ran' and r['seconds'] > 0 for r in res['steps'].values())
    assert {'python', 'torch', 'timm', 'jsdlib'} <= set(res['versions']) and res['hardware']['cpu_count'] >= 1
    ev = res['evaluation']['0']
    assert sorted(r['method'] for r in ev['runs'].values()) == ['baseline', 'jsd', 'teacher_probe']
    assert 'minus baseline [95%]' in (keep/'first_report.md').read_text() and len(res['transfer']) == 2
    auc = ev['runs']['baseline_s0']['chosen']['metrics']['micro/roc_auc']
    assert set(auc) >= {'value', 'lo', 'hi'}
    for s in STEPS:
        assert (out/'notebooks'/f'{s}.ipynb').exists() and (out/'steps'/f'{s}.done.json').exists()
    for f in ('data/index.csv', 'figures/frames.png', 'figures/s0/roc_pr_test.png', 'figures/distill_helps_test.png',
              'runs/baseline_s0/model.safetensors', 'runs/jsd_s0/scores_test.csv'):
        assert (out/f).exists(), f
    rep = (keep/'first_report.md').read_text()
    assert '| baseline_s0 | baseline |' in rep and '| jsd_s0 | jsd |' in rep and 'paired difference' in rep
    assert 'figures/s0/roc_pr_test.png' in rep
    # the executed notebook carries the injected parameters
    nb = json.loads((out/'notebooks'/'03_train_jsd.ipynb').read_text())
    inj = [''.join(c['source']) for c in nb['cells'] if 'injected-parameters' in c['metadata'].get('tags', [])]
    assert inj and 'method = "jsd"' in inj[0]
    # nothing is written next to the step notebooks
    src = Path(__file__).resolve().parents[1]/'nbs'/'reproduce'
    assert sorted(p.name for p in src.iterdir() if not p.name.startswith('.')) == sorted(f'{n}.ipynb' for n in ('01_data', '02_teacher', '03_train', '04_evaluate', '05_visualize', '11_aed_mae', '12_fast_aed', '13_dakd', '14_objects'))
    # a call from the shell reuses every step and reports the same numbers
    p2 = run_jsd('reproduce', '--dataset', 'synth', '--scale', 'smoke', '--out', out)
    res2 = json.loads((out/'results.json').read_text())
    assert all(r['status'] == 'reused' for r in res2['steps'].values()), p2.stdout
    assert res2['evaluation'] == res['evaluation']
    assert 'Kernel is running over TCP' not in p2.stdout + p2.stderr and 'IPKernelApp' not in p2.stderr, p2.stderr
    # another setting in the same folder is refused
    p3 = run_jsd('reproduce', '--dataset', 'synth', '--scale', 'smoke', '--out', out, '--set', 'epochs=2', check=False)
    assert p3.returncode == 2 and 'other settings' in p3.stderr

def test_reproduce_failing_step(tmp_path):
    empty = tmp_path/'empty'; empty.mkdir()
    p = run_jsd('reproduce', '--dataset', 'dota', '--root', empty, '--scale', 'smoke', '--out', tmp_path/'run', check=False)
    assert p.returncode == 2, (p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()[-1]
    assert err.startswith('error: step 01_data failed') and '01_data.ipynb' in err and 'cell' in err and 'metadata_train.json' in err, err
    assert (tmp_path/'run'/'notebooks'/'01_data.ipynb').exists()            # the failed executed notebook is kept
    # the step's kernel ran from the shell: its chatter went to the kernel log, not to the screen
    assert 'Kernel is running over TCP' not in p.stdout + p.stderr and 'IPKernelApp' not in p.stderr, p.stderr
    assert (tmp_path/'run'/'notebooks'/'01_data.kernel.log').exists()
    assert not (tmp_path/'run'/'steps'/'01_data.done.json').exists()
    assert not (tmp_path/'run'/'results.json').exists()                      # it stopped at the first failing step

def test_reproduce_bad_arguments(tmp_path):
    p = run_jsd('reproduce', '--dataset', 'ped2', '--scale', 'smoke', '--out', tmp_path/'x', check=False)
    assert p.returncode == 2 and 'needs --root' in p.stderr
    p = run_jsd('reproduce', '--dataset', 'synth', '--scale', 'smoke', '--out', tmp_path/'x', '--set', 'epoch=2', check=False)
    assert p.returncode == 2 and "unknown scale parameter 'epoch'" in p.stderr
