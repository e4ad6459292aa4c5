"""The course website (tools/build_docs.py): it is built here and read in headless Chromium.

`make test` runs `tools/build_docs.py --fresh` first, which executes every notebook once; the build below then reuses
those runs (each notebook's key covers its code, the library and nbs/results/) and renders the whole site again into a
temporary folder: pages, mkdocs, link check. Run alone on a machine with no earlier run it executes every chapter
first (about as long as `make docs`). The browser part skips with the reason when Chromium or Playwright is missing,
as tests/test_browser.py does; the build and link tests run regardless. The small two-page site is built once (fixture
`mini`); the tests that change only its prose copy its executed notebooks, so they render without running them again."""
import importlib.util, json, os, re, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = [sys.executable, str(ROOT/'tools'/'build_docs.py')]
CHROMIUM = '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run',
        '--disable-component-update', '--disable-sync']
CHAPTERS = sorted(p.stem for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))

def _no_browser():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)): return f'{CHROMIUM} not installed (apt-get install chromium)'
    if importlib.util.find_spec('playwright') is None: return "python package 'playwright' not installed (pip install playwright)"
    return None

def _build(*args, env=None):
    return subprocess.run([*BUILD, *args], cwd=ROOT, capture_output=True, text=True, env=env or os.environ.copy())

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('site')/'_docs'
    r = _build('--out', str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return out

# ---------------------------------------------------------------- the build itself
def _mini_nbs(d:Path, home_md:str)->Path:
    import nbformat as nbf
    d.mkdir(parents=True)
    home = nbf.v4.new_notebook(); home.cells = [nbf.v4.new_markdown_cell(home_md)]
    ch = nbf.v4.new_notebook()
    ch.cells = [nbf.v4.new_markdown_cell('# A chapter\n\n$$a^2 + b^2 = c^2$$'), nbf.v4.new_code_cell('6 * 7'),
                nbf.v4.new_code_cell('#| eval: false\nraise RuntimeError("a cell marked eval: false must not run")'),
                nbf.v4.new_code_cell('#| hide\nhidden_marker = 1')]
    for nb in (home, ch): nb.metadata['kernelspec'] = dict(name='python3', display_name='Python 3', language='python')
    nbf.write(home, d/'index.ipynb'); nbf.write(ch, d/'01_a.ipynb')
    return d

@pytest.fixture(scope='module')
def mini(tmp_path_factory):
    "The two-page site built once: its folder (nbs/, build/ with the executed notebooks, out/) and the build's output."
    d = tmp_path_factory.mktemp('mini')
    nbs = _mini_nbs(d/'nbs', '# Home\n\nRead [the chapter](01_a.ipynb).')
    return d, _build('--nbs', str(nbs), '--build', str(d/'build'), '--out', str(d/'out'))

def _reuse_runs(mini, tmp_path):
    "A build folder holding the mini site's executed notebooks: a test that changes only prose renders without running them again."
    import shutil
    shutil.copytree(mini[0]/'build'/'exec', tmp_path/'build'/'exec')

def test_mini_site_builds(mini):
    "A two-page site: the chapter runs (its eval: false cell does not), its output and math are on the page, hidden cells are not."
    tmp_path, r = mini; nbs = tmp_path/'nbs'
    assert r.returncode == 0, r.stdout + r.stderr
    page = (tmp_path/'out'/'01_a.html').read_text()
    assert '42' in page and '<math' in page and 'hidden_marker' not in page
    assert 'not run when the site is built' in page                     # the eval: false cell is shown, with a note
    assert 'href="01_a.html"' in (tmp_path/'out'/'index.html').read_text()
    r2 = _build('--nbs', str(nbs), '--build', str(tmp_path/'build'), '--out', str(tmp_path/'out2'))
    assert r2.returncode == 0 and '01_a.ipynb: unchanged since its last run, reused' in r2.stdout, r2.stdout + r2.stderr

@pytest.mark.parametrize('link', ['[gone](missing_page.md)', '<a href="nowhere.html">raw</a>', '[anchor](01_a.md#no-such-heading)'])
def test_broken_internal_link_fails_the_build(mini, tmp_path, link):
    nbs = _mini_nbs(tmp_path/'nbs', f'# Home\n\n{link} and [the chapter](01_a.ipynb).')
    _reuse_runs(mini, tmp_path)                     # only the home page's prose differs: its code did not change
    r = _build('--nbs', str(nbs), '--build', str(tmp_path/'build'), '--out', str(tmp_path/'out'))
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'running' not in r.stdout, r.stdout      # the link check failed the build, not a new run
    name = re.search(r'(missing_page|nowhere|no-such-heading)', link).group(1)
    assert 'build failed' in r.stderr and name in r.stderr, r.stderr[-3000:]

def test_failing_cell_fails_the_build(mini, tmp_path):
    nbs = _mini_nbs(tmp_path/'nbs', '# Home')
    import nbformat as nbf
    nb = nbf.read(nbs/'01_a.ipynb', as_version=4); nb.cells.append(nbf.v4.new_code_cell('assert 1 == 2, "boom"')); nbf.write(nb, nbs/'01_a.ipynb')
    _reuse_runs(mini, tmp_path)                     # the home page is reused; the chapter's code changed, so it runs again
    r = _build('--nbs', str(nbs), '--build', str(tmp_path/'build'), '--out', str(tmp_path/'out'))
    assert r.returncode == 1 and '01_a.ipynb' in r.stderr and 'boom' in r.stderr, r.stderr[-3000:]
    assert 'running 01_a.ipynb' in r.stdout, r.stdout

def test_every_chapter_ends_with_exercises_and_a_solution():
    import nbformat
    for c in CHAPTERS:
        md = [x.source for x in nbformat.read(ROOT/'nbs'/f'{c}.ipynb', as_version=4).cells if x.cell_type == 'markdown']
        k = max((i for i, s in enumerate(md) if s.startswith('## Exercises')), default=None)
        assert k is not None and k == len(md) - 1, f'{c}: its last markdown cell is not "## Exercises"'
        n = len(re.findall(r'^\d+\. ', md[k], re.M))
        assert 2 <= n <= 5, f'{c}: {n} exercises'
        nb = nbformat.read(ROOT/'nbs'/f'{c}.ipynb', as_version=4)
        folded_code = any(x.cell_type == 'code' and '#| code-fold: true' in x.source for x in nb.cells[-2:])
        assert '<details><summary>Solution' in md[k] or folded_code, f'{c}: no solution to unfold'

# ---------------------------------------------------------------- the built site
def test_site_pages_and_outputs(site):
    for c in ['index', *CHAPTERS, 'api']: assert (site/f'{c}.html').exists(), c
    build = json.loads((site/'build.json').read_text())
    assert set(build['executed_s']) | set(build['reused']) == {'index.ipynb', *(f'{c}.ipynb' for c in CHAPTERS)}
    for c in CHAPTERS:
        page = (site/f'{c}.html').read_text()
        assert 'id="exercises"' in page, c
        assert 'Traceback (most recent call last)' not in page, c
    api = (site/'api.html').read_text()
    assert 'index_ped2' in api and 'threshold_explorer' in api

def _serve(site):
    "`python -m http.server -d site` on a free port of 127.0.0.1, as the README says; (process, base url)."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, '-m', 'http.server', '-d', str(site), '-b', '127.0.0.1', str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + 'index.html', timeout=2): return proc, url
        except Exception: time.sleep(0.2)
    proc.kill(); pytest.fail('python -m http.server did not answer')

@pytest.mark.skipif(_no_browser() is not None, reason=str(_no_browser()))
def test_site_in_browser(site):
    from playwright.sync_api import sync_playwright
    server, url = _serve(site)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, timeout=60_000)
        try:
            page = b.new_page(viewport={'width': 1300, 'height': 1000})
            page.goto((site/'index.html').as_uri(), wait_until='load', timeout=60_000)   # opened from the file, as the README says
            hrefs = page.eval_on_selector_all('nav.md-nav--primary a.md-nav__link[href]', 'els => els.map(e => e.getAttribute("href"))')
            listed = [re.sub(r'\.html.*$', '', h.split('/')[-1]) for h in hrefs if re.match(r'^(\./)?\d\w*\.html$', h)]
            assert listed == CHAPTERS, (listed, CHAPTERS)                   # every chapter, in course order
            # search (served over HTTP): an exported function's name leads to its chapter
            page.goto(url + 'index.html', wait_until='load', timeout=60_000)
            page.fill('input.md-search__input', 'index_ped2')
            page.wait_for_selector('.md-search-result__item a[href*="01b_datasets.html"]', timeout=60_000)
            # the threshold explorer: a static snapshot (its summary table and plot), how to run it live, a solution to unfold
            page.goto((site/'06_evaluate.html').as_uri(), wait_until='load', timeout=60_000)
            snap = page.locator('.jsd-widget-snapshot:has(.jsd-summary)')
            assert snap.count() == 1 and 'jupyter lab nbs/06_evaluate.ipynb' in snap.inner_text()
            assert snap.locator('table').count() >= 1 and snap.locator('img').count() >= 1
            assert page.locator('details:has(summary:text("Solution"))').count() >= 1
            # chapter pages: plots that loaded, tables, signatures and docstrings
            for ch in ('13_dakd', '01_data', '01b_datasets'):
                page.goto((site/f'{ch}.html').as_uri(), wait_until='load', timeout=60_000)
                imgs = page.eval_on_selector_all('article img.jsd-output-img', 'els => els.map(e => [e.complete, e.naturalWidth])')
                assert imgs and all(ok and w > 50 for ok, w in imgs), (ch, imgs)
                assert page.locator('article .jsd-html table').count() >= 1, ch
            assert page.locator('h4#index_ped2').count() == 1                 # the exported function's signature and docstring
            assert 'def index_ped2(' in page.inner_text('article')
        finally:
            b.close()
            os.killpg(server.pid, signal.SIGTERM); server.wait(10)
