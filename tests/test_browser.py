"""The threshold explorer in a real browser: Voila serves a notebook showing it on 127.0.0.1, Playwright drives
Debian's Chromium (/usr/bin/chromium), moves the slider and reads the numbers back, which must equal scikit-learn's
at the threshold shown. Skips with the reason when Chromium, Voila or Playwright is missing."""
import importlib.util, os, signal, socket, subprocess, sys, time, urllib.error, urllib.request
import numpy as np, pytest
from sklearn import metrics as skm

CHROMIUM = '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
        '--disable-component-update', '--disable-sync']

def _missing():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)): return f'{CHROMIUM} not installed (apt-get install chromium)'
    for mod in ('voila', 'playwright'):
        if importlib.util.find_spec(mod) is None: return f'python package {mod!r} not installed (pip install {mod})'
    return None

pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))

def _free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _wait_http(url, proc, log, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: pytest.fail(f'voila exited with {proc.returncode}:\n{log.read_text()[-3000:]}')
        try:   # any HTTP answer means the server is up (GET / itself would start a kernel)
            with urllib.request.urlopen(url + 'voila/static/', timeout=2): return
        except urllib.error.HTTPError: return
        except Exception: time.sleep(0.5)
    pytest.fail(f'voila did not answer on {url} within {timeout}s:\n{log.read_text()[-3000:]}')

def _notebook(csv):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('from jsdlib.evaluate import threshold_explorer, read_scores'),
                nbformat.v4.new_code_cell(f'df = read_scores({str(csv)!r})\n'
                                          "ex = threshold_explorer({'demo': df}, sigmas=(0,), value=0.5, step=0.01)\nex")]
    nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    return nb

def test_explorer_in_browser(tmp_path):
    import nbformat
    from playwright.sync_api import sync_playwright
    from jsdlib.evaluate import synth_scores
    df = synth_scores(8, 40, seed=5)
    df['score'] = np.round(df['score'], 3).clip(0, 0.998) + 0.0005   # no score sits on the 0.01 grid of the slider
    csv = tmp_path/'scores.csv'; df.to_csv(csv, index=False)
    nb = tmp_path/'explorer.ipynb'; nbformat.write(_notebook(csv), nb)
    port = _free_port(); url = f'http://127.0.0.1:{port}/'
    log = tmp_path/'voila.log'
    env = dict(os.environ, JSD_FIGURES=str(tmp_path/'figures'), JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'))
    with open(log, 'w') as lf:
        proc = subprocess.Popen([sys.executable, '-m', 'voila', str(nb), '--no-browser', f'--port={port}', '--Voila.ip=127.0.0.1',
                                 '--ServerApp.port_retries=0'], cwd=tmp_path, env=env, stdout=lf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_http(url, proc, log)
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(str(tmp_path/'chromium-profile'), executable_path=CHROMIUM, headless=True,
                                                       args=ARGS, timeout=60_000)
            try:
                page = ctx.new_page()
                page.goto(url, timeout=60_000)
                page.wait_for_selector('.jsd-threshold', timeout=90_000)
                read = lambda k: page.inner_text(f'.jsd-summary .jsd-{k}').strip()
                before = {k: read(k) for k in ('threshold', 'f1', 'recall', 'precision')}
                assert float(before['threshold']) == pytest.approx(0.5)
                handle = page.locator('.jsd-explorer .noUi-handle').first
                handle.focus()
                for _ in range(12): handle.press('ArrowRight')   # 12 steps of 0.01: 0.5 -> 0.62
                # every key press is one change the kernel answers in turn: wait until the summary shows the slider's final value
                page.wait_for_function('''() => {
                    const r = document.querySelector('.jsd-explorer .widget-readout'), t = document.querySelector('.jsd-summary .jsd-threshold');
                    return r && t && parseFloat(t.innerText) > 0.5 && Math.abs(parseFloat(r.innerText) - parseFloat(t.innerText)) < 1e-6; }''',
                    timeout=60_000)
                readout = float(page.inner_text('.jsd-explorer .widget-readout'))
                after = {k: read(k) for k in ('threshold', 'tn', 'fp', 'fn', 'tp', 'accuracy', 'precision', 'recall', 'f1')}
                page.screenshot(path=str(tmp_path/'explorer.png'))
            finally: ctx.close()
        t = float(after['threshold'])
        assert t == pytest.approx(0.62) and readout == pytest.approx(0.62), (readout, after)
        assert after['f1'] != before['f1'], (before, after)
        y, pred = df['label'].to_numpy(), (df['score'].to_numpy() >= t).astype(int)
        assert [int(after[k]) for k in ('tn', 'fp', 'fn', 'tp')] == skm.confusion_matrix(y, pred).ravel().tolist()
        for k, f in (('accuracy', skm.accuracy_score), ('precision', skm.precision_score), ('recall', skm.recall_score), ('f1', skm.f1_score)):
            assert float(after[k]) == pytest.approx(f(y, pred), abs=1e-4), k
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(10)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait(5)
