"""Build the course website into `_docs/`: every chapter executed headless, rendered with its outputs.

    python tools/build_docs.py [--out _docs] [--fresh] [--nbs nbs] [--build _build/docs]

1. **Execute.** The home page (`nbs/index.ipynb`) and every chapter (`nbs/[0-9]*.ipynb`, in name order: a new chapter
   appears by itself) run top to bottom in a Jupyter kernel (`python3`) with `nbs/` as the working directory, at
   their default parameters. Any error stops that notebook and fails the build (after the others have run). Cells
   are skipped exactly as `nbdev_test` skips them: `#| eval: false`, the flags in settings.ini's `tst_flags`, cells
   calling `nbdev_export(`, and notebooks whose front matter says `skip_exec: true`; `IN_TEST=1` is set as nbdev_test
   sets it. A skipped cell is shown on the page with a note. The executed notebook is kept in `_build/docs/exec/`
   under a key made of its code cells, the library's sources, `nbs/results/`, settings.ini's
   `tst_flags` and EXEC_VERSION: an unchanged notebook is
   not run again unless `--fresh` is given (editing prose only re-renders). Because of this rule, building the site
   is also the check that every notebook runs: `make test` calls it with `--fresh` instead of `nbdev_test`.
   Each notebook runs with `JSD_SITE_KEEP` set to `_build/docs/keep/<notebook>/` (emptied first): a chapter may keep
   the run folder it makes there, and a test check that run instead of making the same again (chapter 09's smoke
   reproduction, read by tests/test_reproduce.py). It is as fresh as the executed notebook next to it.
2. **Render.** Each executed notebook becomes a Markdown page: prose as written (TeX turned into MathML, which browsers
   draw without any script or network), code cells without their `#|` lines (`#| hide` cells left out), and their
   outputs: text, tables (HTML), plots (PNG/SVG files), Markdown. After an exported cell (`#| export`) come the
   signatures and docstrings of the public names it defines, and an API page lists them all. An ipywidgets output
   becomes a static snapshot of the widget's state at the end of the run (its HTML, values and plots), with a note on
   how to use it live.
3. **Site.** mkdocs-material (installs from PyPI, builds offline) turns the pages into `_docs/`: home, chapters in
   course order, the reproduction step notebooks (shown, not run), the API page, and a search box. Pages open from
   the file (`_docs/index.html`); the search box needs the site served over HTTP (`python -m http.server -d _docs`),
   since browsers do not run its web worker from `file://` (mkdocs-material's `offline` plugin would fetch a shim
   from unpkg.com, which an offline machine cannot). `mkdocs build --strict` fails on a broken link between pages, and every
   `href`/`src` in the finished HTML is checked afterwards (links inside raw HTML too); a broken one fails the build.
"""
import argparse, base64, hashlib, html, importlib, inspect, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXEC_VERSION = '1'          # bump when the execution rules below change: every cached notebook is then run again
                            # (the key holds the code cells, jsdlib/, nbs/results/, the tst_flags and this version)
IMG_MIME = (('image/svg+xml', 'svg'), ('image/png', 'png'), ('image/jpeg', 'jpg'), ('image/gif', 'gif'))
ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')
WIDGET_VIEW, WIDGET_STATE = 'application/vnd.jupyter.widget-view+json', 'application/vnd.jupyter.widget-state+json'

class BuildError(Exception): pass

# ---------------------------------------------------------------- notebooks and their directives
def settings():
    import configparser
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini'); return cp['DEFAULT']

def directives(src:str)->dict:
    "nbdev's `#| name: value` / `#| name value` lines at the top of a cell, as {name: [args]}."
    out = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = re.match(r'^\s*#\s*\|\s*([\w-]+:?)\s*(.*)$', line)
        if not m: break
        out[m.group(1)] = m.group(2).split()
    return out

def strip_directives(src:str)->str:
    lines = src.splitlines(); i = 0
    while i < len(lines) and (not lines[i].strip() or re.match(r'^\s*#\s*\|', lines[i])): i += 1
    return '\n'.join(lines[i:]).strip('\n')

def frontmatter(nb)->dict:
    "The YAML-ish front matter nbdev reads: `key: value` lines of a first raw cell between `---` lines."
    c = nb.cells[0] if nb.cells else None
    if c is None or c.cell_type != 'raw' or not c.source.startswith('---'): return {}
    return dict(re.match(r'^\s*([\w-]+)\s*:\s*(.*)$', l).groups() for l in c.source.splitlines()[1:]
                if re.match(r'^\s*([\w-]+)\s*:', l))

def skip_reason(cell, flags)->str|None:
    "Why nbdev_test would not run this code cell (None: it runs)."
    if 'nbdev_export' + '(' in cell.source: return 'it calls nbdev_export'
    d = directives(cell.source)
    if d.get('eval:', [''])[0].lower() == 'false': return 'it is marked `#| eval: false`'
    hit = sorted(flags & set(d))
    return f'it is marked `#| {hit[0]}` (a skip flag in settings.ini)' if hit else None

ONLY = None   # --only: a few chapters, for trying a change quickly (the site then has only those)

def chapters(nbs:Path)->list[Path]:
    found = sorted(nbs.glob('[0-9]*.ipynb'))
    return [p for p in found if any(p.match(g) or p.stem.startswith(g) for g in ONLY)] if ONLY else found

def title_of(nb, fallback:str)->str:
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+)$', c.source, re.M)
            if m: return m.group(1).strip()
    return fallback

# ---------------------------------------------------------------- 1. execute
def exec_key(nb_path:Path, nbs:Path)->str:
    import nbformat
    h = hashlib.sha256(EXEC_VERSION.encode())
    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        if c.cell_type != 'markdown':
            h.update(c.cell_type.encode() + b'\0' + c.source.encode() + b'\0' + json.dumps(c.get('metadata', {}).get('tags', [])).encode())
    extra = [*sorted((ROOT/'jsdlib').rglob('*.py')), *sorted(p for p in (nbs/'results').rglob('*') if p.is_file()),
             ]
    h.update(b'tst_flags:' + ' '.join(sorted(settings().get('tst_flags', '').split())).encode())
    for p in extra:
        if p.exists() and '__pycache__' not in p.parts: h.update(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p).encode() + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()

def execute(nb_path:Path, dest:Path, nbs:Path, flags:set, timeout:int, env:dict|None=None):
    """Run one notebook in a fresh python3 kernel from `nbs/` (with `env` as its environment); raise BuildError naming
    the failing cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    nb = nbformat.read(nb_path, as_version=4)
    if str(frontmatter(nb).get('skip_exec', '')).lower() in ('true', '1', 'yes'):
        nb.metadata['jsd_site'] = {'skipped': 'skip_exec in its front matter'}; nbformat.write(nb, dest); return 0.0
    skipped = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and (r := skip_reason(c, flags)): skipped[i] = r

    class Client(NotebookClient):
        async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
            if cell_index in skipped: return cell
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    client = Client(nb, timeout=timeout, kernel_name='python3', allow_errors=False, store_widget_state=True,
                    resources={'metadata': {'path': str(nbs)}})
    t0 = time.time()
    try: client.execute(env=env) if env is not None else client.execute()
    except CellExecutionError as e:
        fail = dest.with_suffix('.failed.ipynb'); nbformat.write(nb, fail)
        raise BuildError(f'{nb_path.name}: a cell failed (partial run saved to {fail}):\n{ANSI.sub("", str(e))[-4000:]}') from None
    except Exception as e:
        raise BuildError(f'{nb_path.name}: could not be executed: {type(e).__name__}: {e}') from None
    nb.metadata['jsd_site'] = {'skipped_cells': {str(k): v for k, v in skipped.items()}, 'seconds': round(time.time() - t0, 1)}
    nbformat.write(nb, dest)
    return time.time() - t0

# the chapters that run longest, started first when several run side by side (--jobs), so none is left alone at the end
LONG_FIRST = ('09_reproduce', '05_train', '12_fast_aed', '11_aed_mae', '13_dakd', '14_objects', '06_evaluate')

def execute_all(nbs:Path, build:Path, fresh:bool, timeout:int, jobs:int=1)->dict:
    """Run the notebooks whose key changed (all with `fresh`), `jobs` at a time. Each kernel gets its own
    JSD_SITE_KEEP folder. With jobs > 1 each kernel gets OMP_NUM_THREADS=cores // jobs: two kernels with two PyTorch
    threads each on two cores made the chapters of tiny models 3-10x slower (threads waiting at each op for a thread
    that is not running), not 2x. Timings shown on pages built so are one kernel's share of the machine."""
    from concurrent.futures import ThreadPoolExecutor
    ex = build/'exec'; ex.mkdir(parents=True, exist_ok=True)
    flags = set(settings().get('tst_flags', '').split())
    os.environ.update(IN_TEST='1', MPLBACKEND='module://matplotlib_inline.backend_inline',
                      PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get('PYTHONPATH')])]))
    todo = [nbs/'index.ipynb', *chapters(nbs)]
    if jobs > 1: todo.sort(key=lambda p: LONG_FIRST.index(p.stem) if p.stem in LONG_FIRST else len(LONG_FIRST))
    times, failed = {}, []
    def run(p):
        dest, keyf = ex/p.name, ex/(p.stem + '.key')
        key = exec_key(p, nbs)
        if not fresh and dest.exists() and keyf.exists() and keyf.read_text() == key:
            print(f'docs: {p.name}: unchanged since its last run, reused', flush=True); times[p.name] = None; return
        keyf.unlink(missing_ok=True)
        keep = build/'keep'/p.stem; shutil.rmtree(keep, ignore_errors=True)
        env = {**os.environ, 'JSD_SITE_KEEP': str(keep),
               **({'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 1) // jobs))} if jobs > 1 else {})}
        print(f'docs: running {p.name} ...', flush=True)
        try: times[p.name] = t = execute(p, dest, nbs, flags, timeout, env)
        except BuildError as e: failed.append(p.name); print(f'docs: FAILED {e}', file=sys.stderr, flush=True); return
        keyf.write_text(key); print(f'docs: {p.name}: {t:.0f} s', flush=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool: list(pool.map(run, todo))
    if failed: raise BuildError(f'{len(failed)} notebook(s) failed: {", ".join(failed)}')
    return {p.name: times[p.name] for p in [nbs/'index.ipynb', *chapters(nbs)] if p.name in times}

# ---------------------------------------------------------------- 2. render
def tex_to_mathml(tex:str, display:bool)->str:
    import latex2mathml.converter as L
    try: m = L.convert(tex, display='block' if display else 'inline')
    except Exception:
        return f'<code class="jsd-tex">{html.escape(tex)}</code>'
    # Markdown must not read MathML's text as emphasis, links, escapes or table cells
    return re.sub(r'>([^<]+)<', lambda t: '>' + re.sub(r'[*_\\`\[\]|$]', lambda c: f'&#{ord(c.group())};', t.group(1)) + '<', m)

MATH = re.compile(r'\$\$(.+?)\$\$|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])', re.S)

def render_markdown(src:str)->str:
    "Prose for Python-Markdown: TeX -> MathML outside code, `<details>` parsed as Markdown, .ipynb links -> pages."
    parts = re.split(r'(```.*?```|`[^`\n]*`)', src, flags=re.S)
    for i in range(0, len(parts), 2):
        parts[i] = MATH.sub(lambda m: ('\n\n' + tex_to_mathml(m.group(1).strip(), True) + '\n\n') if m.group(1) is not None
                            else f'<span class="jsd-math">{tex_to_mathml(m.group(2), False)}</span>', parts[i])   # <math> alone at a line's start would open an HTML block
        parts[i] = re.sub(r'<details>', '<details markdown="1">', parts[i])
        parts[i] = re.sub(r'\]\(([\w./-]+?)\.ipynb(#[\w-]*)?\)', lambda m: f']({m.group(1)}.md{m.group(2) or ""})', parts[i])
    return ''.join(parts)

def fence(text:str, lang:str='')->str:
    ticks = '```' + '`' * max([len(m) - 2 for m in re.findall(r'`{3,}', text)] or [0])
    return f'{ticks}{lang}\n{text.rstrip()}\n{ticks}'

def clean_stream(text:str)->str:
    "Terminal text as it would look at the end: ANSI colours gone, progress bars (\\r) at their last state."
    text = ANSI.sub('', text)
    return '\n'.join(l.rsplit('\r', 1)[-1] for l in text.split('\n'))

class Renderer:
    def __init__(self, page:str, out:Path, widget_state:dict):
        self.page, self.out, self.state, self.n_img = page, out, widget_state, 0
        self.files = out/f'{page}_files'

    def image(self, data, ext)->str:
        self.files.mkdir(parents=True, exist_ok=True); self.n_img += 1
        name = f'{self.n_img:03d}.{ext}'
        raw = (data if isinstance(data, str) else ''.join(data)).encode() if ext == 'svg' else base64.b64decode(data if isinstance(data, str) else ''.join(data))
        (self.files/name).write_bytes(raw)
        return f'<img class="jsd-output-img" alt="output {self.n_img}" src="{self.page}_files/{name}">'

    def output(self, o)->str|None:
        t = o.get('output_type')
        if t == 'stream':
            txt = clean_stream(''.join(o.get('text', '')))
            return fence(txt, 'text') if txt.strip() else None
        if t == 'error':
            return fence(clean_stream('\n'.join(o.get('traceback', []))), 'text')
        d = o.get('data', {})
        if WIDGET_VIEW in d: return self.widget(d[WIDGET_VIEW].get('model_id'))
        for mime, ext in IMG_MIME:
            if mime in d: return '<div class="jsd-output">' + self.image(d[mime], ext) + '</div>'
        if 'text/html' in d: return f'<div class="jsd-output jsd-html" markdown="0">\n{"".join(d["text/html"]).strip()}\n</div>'
        if 'text/markdown' in d: return render_markdown(''.join(d['text/markdown']))
        if 'text/latex' in d: return render_markdown(''.join(d['text/latex']))
        if 'text/plain' in d: return fence(ANSI.sub('', ''.join(d['text/plain'])), 'text')
        return None

    def widget(self, model_id)->str:
        body = self._widget(model_id, depth=0) if model_id in self.state else ''
        note = ('<p class="jsd-widget-note"><b>Interactive widget, shown as a static snapshot</b> of its state when the '
                f'site was built. To use it live, open this notebook in Jupyter (<code>jupyter lab nbs/{self.page}.ipynb</code>) and '
                f'run it, or serve it as an app with Voila (<code>voila nbs/{self.page}.ipynb</code>).</p>')
        return f'<div class="jsd-widget-snapshot" markdown="0">\n{note}\n{body or "<p>(no saved widget state)</p>"}\n</div>'

    def _widget(self, mid, depth)->str:
        m = self.state.get(mid)
        if m is None or depth > 20: return ''
        s, name = m.get('state', {}), m.get('model_name', '')
        ref = lambda v: v[len('IPY_MODEL_'):] if isinstance(v, str) and v.startswith('IPY_MODEL_') else None
        desc = html.escape(str(s.get('description') or ''))
        if name in ('HTMLModel', 'HTMLMathModel'): return f'<div>{s.get("value", "")}</div>'
        if name == 'LabelModel': return f'<div>{html.escape(str(s.get("value", "")))}</div>'
        if name == 'OutputModel':
            import markdown
            md = lambda r: r if r.lstrip().startswith('<') else markdown.markdown(r, extensions=['fenced_code', 'tables'])
            return '\n'.join(f'<div>{md(r)}</div>' for r in map(self.output, s.get('outputs', [])) if r)
        if name == 'ImageModel':
            buf = next((b for b in m.get('buffers', []) if b.get('path') == ['value']), None)
            if buf: return self.image(buf['data'], {'png': 'png', 'jpeg': 'jpg', 'jpg': 'jpg', 'gif': 'gif'}.get(s.get('format', 'png'), 'png'))
            return ''
        if 'children' in s:
            kids = [self._widget(ref(c), depth + 1) for c in s['children'] if ref(c)]
            return '<div class="jsd-widget-box">' + '\n'.join(k for k in kids if k) + '</div>'
        if 'value' in s and name.endswith(('SliderModel', 'TextModel', 'DropdownModel', 'CheckboxModel', 'ToggleButtonsModel',
                                            'RadioButtonsModel', 'SelectModel', 'TextModel', 'FloatTextModel', 'IntTextModel')):
            v = s['value']
            if name.endswith('DropdownModel') or name.endswith('ToggleButtonsModel') or name.endswith('RadioButtonsModel') or name.endswith('SelectModel'):
                labels = s.get('_options_labels') or []; v = labels[v] if isinstance(v, int) and v < len(labels) else s.get('index', v)
                if isinstance(s.get('index'), int) and s['index'] < len(labels): v = labels[s['index']]
            return f'<p class="jsd-widget-value"><b>{desc or "value"}</b> {html.escape(str(v))}</p>'
        return ''

def api_block(obj, name:str)->str:
    "Signature and docstring of one exported name, as Markdown (the parameter comments too, when it has them)."
    try: sig = str(inspect.signature(obj))
    except (TypeError, ValueError): sig = ''
    kind = 'class' if inspect.isclass(obj) else 'def'
    doc = inspect.getdoc(obj) or ''
    out = [f'#### `{name}` {{ #{name} .jsd-api }}', fence(f'{kind} {name}{sig}', 'python')]
    if doc: out.append(doc)
    try:
        from fastcore.docments import docments
        dm = {k: v for k, v in docments(obj).items() if v and k != 'return'} if callable(obj) else {}
    except Exception: dm = {}
    if dm:
        out.append('| parameter | |\n|---|---|\n' + '\n'.join(f'| `{k}` | {v.replace("|", "&#124;")} |' for k, v in dm.items()))
    return '\n\n'.join(out)

def defined_names(src:str)->list[str]:
    import ast
    try: tree = ast.parse(src)
    except SyntaxError: return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith('_')]

def default_exp(nb)->str|None:
    for c in nb.cells:
        if c.cell_type == 'code' and (d := directives(c.source).get('default_exp')): return d[0]
    return None

def render_notebook(nb, page:str, out:Path, api:dict, executed:bool)->str:
    state = nb.metadata.get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    r = Renderer(page, out, state)
    mod_name = default_exp(nb); mod = None
    if mod_name:
        try: mod = importlib.import_module(f'jsdlib.{mod_name}')
        except Exception as e: raise BuildError(f'{page}: cannot import jsdlib.{mod_name} for its API docs: {e}') from None
    skipped = nb.metadata.get('jsd_site', {}).get('skipped_cells', {})
    blocks = []
    if not executed:
        blocks.append('!!! note "Shown, not run"\n    This notebook is a step of `jsd reproduce`; it is shown here without outputs.')
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'markdown':
            blocks.append(render_markdown(c.source)); continue
        if c.cell_type != 'code': continue
        d = directives(c.source)
        if 'hide' in d or 'default_exp' in d: continue
        src = strip_directives(c.source)
        if not src: continue
        code = '' if d.get('echo:', [''])[:1] == ['false'] else fence(src, 'python')   # echo: false shows the output only
        if 'code-fold:' in d and d['code-fold:'][:1] == ['true']:
            code = f'<details class="jsd-fold" markdown="1">\n<summary>Code</summary>\n\n{code}\n\n</details>'
        if code: blocks.append(code)
        if str(i) in skipped: blocks.append(f'<p class="jsd-skipped">This cell is not run when the site is built: {html.escape(skipped[str(i)]).replace("`", "")}.</p>')
        if 'hide_output' not in d and 'output: false' not in c.source:
            blocks += [x for x in map(r.output, c.get('outputs', [])) if x]
        if mod is not None and ({'export', 'exports', 'exporti'} & set(d)) and 'exporti' not in d:
            for n in defined_names(src):
                if n in getattr(mod, '__all__', [n]) and hasattr(mod, n):
                    blocks.append(api_block(getattr(mod, n), n)); api.setdefault(f'jsdlib.{mod_name}', (page, []))[1].append(n)
    return '\n\n'.join(blocks) + '\n'

def render_api(api:dict)->str:
    out = ['# API reference', 'Every public function and class of `jsdlib`, with its signature and docstring, in the '
           'chapter that builds it. Click a name to read it in its chapter, with the code and the examples.']
    for mod, (page, names) in api.items():
        import importlib as il
        m = il.import_module(mod)
        out.append(f'## `{mod}` {{ #{mod.replace(".", "-")} }}\nChapter: [{page}]({page}.md)')
        for n in names:
            obj = getattr(m, n); doc = (inspect.getdoc(obj) or '').split('\n\n')[0]
            out.append(f'- [`{n}`]({page}.md#{n}): {doc}')
    return '\n\n'.join(out) + '\n'

EXTRA_CSS = """
.jsd-output img, img.jsd-output-img { max-width: 100%; height: auto; }
.jsd-html { overflow-x: auto; font-size: .75rem; }
.jsd-html table { border-collapse: collapse; }
.jsd-html th, .jsd-html td { padding: .15rem .5rem; border-bottom: 1px solid #ddd; text-align: right; }
.jsd-widget-snapshot { border: 1px dashed #999; padding: .5rem; margin: .5rem 0; }
.jsd-widget-note { font-size: .75rem; background: #fff8e1; padding: .3rem .5rem; }
.jsd-skipped { font-size: .7rem; color: #a00; }
math[display="block"] { margin: .6rem 0; overflow-x: auto; }
h4.jsd-api { border-top: 1px solid #ccc; padding-top: .4rem; }
"""

def with_outputs(src_path:Path, executed_dir:Path):
    "The notebook as it is now, with the outputs of its last run: prose edited since that run shows as edited."
    import nbformat
    nb, ex = nbformat.read(src_path, as_version=4), nbformat.read(executed_dir/src_path.name, as_version=4)
    mine, theirs = [c for c in nb.cells if c.cell_type == 'code'], [c for c in ex.cells if c.cell_type == 'code']
    if [c.source for c in mine] != [c.source for c in theirs]:
        raise BuildError(f'{src_path.name}: its code changed since it was run; build again (without --only) to rerun it')
    for a, b in zip(mine, theirs): a.outputs, a.execution_count = b.outputs, b.execution_count
    for k in ('widgets', 'jsd_site'):
        if k in ex.metadata: nb.metadata[k] = ex.metadata[k]
    return nb

def build_site(nbs:Path, build:Path, out:Path, executed_dir:Path):
    import nbformat
    src = build/'pages'
    if src.exists(): shutil.rmtree(src)
    src.mkdir(parents=True)
    (src/'jsd.css').write_text(EXTRA_CSS)
    api, nav = {}, []
    home = with_outputs(nbs/'index.ipynb', executed_dir)
    (src/'index.md').write_text(render_notebook(home, 'index', src, api, True))
    nav.append({'Home': 'index.md'})
    chap = []
    for p in chapters(nbs):
        nb = with_outputs(p, executed_dir)
        (src/f'{p.stem}.md').write_text(render_notebook(nb, p.stem, src, api, True))
        chap.append({f'{p.stem.split("_")[0]} {title_of(nb, p.stem)}': f'{p.stem}.md'})
    nav.append({'Chapters': chap})
    steps = []
    for p in sorted((nbs/'reproduce').glob('*.ipynb')):
        nb = nbformat.read(p, as_version=4)
        (src/'reproduce').mkdir(exist_ok=True)
        (src/'reproduce'/f'{p.stem}.md').write_text(render_notebook(nb, p.stem, src/'reproduce', {}, False))
        steps.append({title_of(nb, p.stem): f'reproduce/{p.stem}.md'})
    if steps: nav.append({'Reproduction steps': steps})
    (src/'api.md').write_text(render_api(api)); nav.append({'API reference': 'api.md'})
    cfg = {'site_name': 'jsdlib', 'site_description': settings().get('description', ''), 'docs_dir': str(src), 'site_dir': str(out.resolve()),
           'use_directory_urls': False, 'strict': True, 'nav': nav,
           'theme': {'name': 'material', 'features': ['navigation.sections', 'navigation.expand', 'navigation.top', 'search.highlight', 'toc.follow'],
                     'font': False},
           'plugins': ['search'], 'extra_css': ['jsd.css'],
           'markdown_extensions': ['tables', 'attr_list', 'md_in_html', 'admonition', 'pymdownx.details', 'pymdownx.superfences',
                                   {'toc': {'permalink': True}}, {'pymdownx.highlight': {'use_pygments': True}}],
           'validation': {'nav': {'omitted_files': 'warn', 'not_found': 'warn'},
                          'links': {'not_found': 'warn', 'anchors': 'warn', 'absolute_links': 'warn', 'unrecognized_links': 'warn'}}}
    (build/'mkdocs.yml').write_text(json.dumps(cfg, indent=1))    # JSON is YAML
    if out.exists(): shutil.rmtree(out)
    r = subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '-q', '-f', str(build/'mkdocs.yml')], capture_output=True, text=True)
    if r.returncode: raise BuildError(f'mkdocs build --strict failed (a broken link, anchor or page?):\n{(r.stdout + r.stderr)[-6000:]}')
    broken = check_links(out)
    if broken: raise BuildError(f'{len(broken)} broken internal link(s) in the built site:\n  ' + '\n  '.join(broken[:50]))

def check_links(site:Path)->list[str]:
    "Every relative href/src in the site's HTML must name a file that exists, and a #fragment an id on that page."
    from html.parser import HTMLParser
    ids, links = {}, []
    class P(HTMLParser):
        def __init__(self, f): super().__init__(); self.f = f; ids[f] = set()
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if a.get('id'): ids[self.f].add(a['id'])
            if a.get('name') and tag == 'a': ids[self.f].add(a['name'])
            for k in ('href', 'src'):
                if a.get(k) is not None: links.append((self.f, tag, a[k]))
    for f in site.rglob('*.html'): P(f).feed(f.read_text(errors='replace'))
    bad = []
    for f, tag, url in links:
        if re.match(r'^[a-zA-Z][\w+.-]*:', url) or url.startswith('//'): continue    # http:, data:, mailto:, javascript:
        path, _, frag = url.partition('#'); path = path.split('?')[0]
        target = ((site/path.lstrip('/')) if path.startswith('/') else (f.parent/path)).resolve() if path else f
        if path and target.is_dir(): target = target/'index.html'
        if not target.exists(): bad.append(f'{f.relative_to(site)}: <{tag}> {url} (no such file)'); continue
        if frag and target.suffix == '.html' and target in ids and frag not in ids[target]:
            bad.append(f'{f.relative_to(site)}: <{tag}> {url} (no id {frag!r} on that page)')
    return bad

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=str(ROOT/'_docs'), help='where the site goes (default _docs/)')
    ap.add_argument('--nbs', default=str(ROOT/'nbs'), help='the notebooks folder (default nbs/)')
    ap.add_argument('--build', default=str(ROOT/'_build'/'docs'), help='executed notebooks and page sources (default _build/docs/)')
    ap.add_argument('--fresh', action='store_true', help='run every notebook again, even those unchanged since their last run')
    ap.add_argument('--only', nargs='*', help='only these chapters (name prefixes such as 03 or 06_evaluate), for trying a change')
    ap.add_argument('--timeout', type=int, default=3600, help='seconds a single cell may run (default 3600)')
    ap.add_argument('--jobs', type=int, default=1, help='notebooks run side by side (default 1; `make test` uses 2)')
    a = ap.parse_args(argv)
    global ONLY; ONLY = a.only
    nbs, build, out = Path(a.nbs).resolve(), Path(a.build).resolve(), Path(a.out).resolve()
    t0 = time.time()
    try:
        if not (nbs/'index.ipynb').exists(): raise BuildError(f'{nbs}: no index.ipynb (the home page)')
        times = execute_all(nbs, build, a.fresh, a.timeout, a.jobs)
        t1 = time.time()
        build_site(nbs, build, out, build/'exec')
    except BuildError as e:
        print(f'docs: build failed: {e}', file=sys.stderr); return 1
    ran = {k: round(v, 1) for k, v in times.items() if v is not None}
    (out/'build.json').write_text(json.dumps({'executed_s': ran, 'reused': [k for k, v in times.items() if v is None],
                                              'execute_s': round(t1 - t0, 1), 'render_s': round(time.time() - t1, 1)}, indent=1))
    print(f'docs: {len(ran)} notebook(s) run, {len(times) - len(ran)} reused; executing {t1 - t0:.0f} s, rendering {time.time() - t1:.0f} s; '
          f'site in {out}: open {out}/index.html, or serve it (search needs this) with `python -m http.server -d {out}` '
          f'and open http://localhost:8000')
    return 0

if __name__ == '__main__': sys.exit(main())
