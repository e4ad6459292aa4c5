"The package's import structure: no import circles; the inference side never loads the training module."
import ast, json, subprocess, sys
from pathlib import Path
import jsdlib

PKG = Path(jsdlib.__file__).resolve().parent
INFERENCE_SIDE = ('jsdlib.engines', 'jsdlib.inference', 'jsdlib.app', 'jsdlib.speed')


def _modules() -> dict:
    "module name -> file, for every module of the package."
    out = {}
    for p in PKG.rglob('*.py'):
        parts = p.relative_to(PKG.parent).with_suffix('').parts
        out['.'.join(parts[:-1] if parts[-1] == '__init__' else parts)] = p
    return out


def import_graph() -> dict:
    "module -> the package's modules it imports anywhere in its code (top level or inside functions)."
    mods, graph = _modules(), {}
    for name, path in mods.items():
        pkg = name if path.name == '__init__.py' else name.rpartition('.')[0]
        deps = set()
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.ImportFrom):
                base = n.module or ''
                if n.level:
                    up = pkg.split('.')[:len(pkg.split('.')) - n.level + 1]
                    base = '.'.join(up + ([base] if base else []))
                deps |= {f'{base}.{a.name}' if f'{base}.{a.name}' in mods else base for a in n.names}
            elif isinstance(n, ast.Import): deps |= {a.name for a in n.names}
        graph[name] = {d for d in deps if d in mods and d not in (name, 'jsdlib')}
    return graph


def _cycle(graph: dict):
    "One import circle as a list of modules, or None."
    state, stack = {}, []
    def visit(m):
        state[m] = 1; stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1: return stack[stack.index(d):] + [d]
            if d not in state and (c := visit(d)): return c
        state[m] = 2; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c


def _reach(graph: dict, m: str) -> set:
    seen, todo = set(), [m]
    while todo:
        for d in graph[todo.pop()] - seen: seen.add(d); todo.append(d)
    return seen


def test_no_import_circles():
    g = import_graph()
    assert 'jsdlib.runs' in g and 'jsdlib.train' in g['jsdlib.transfer']
    assert _cycle(g) is None, f"import circle: {' -> '.join(_cycle(g))}"


def test_inference_side_does_not_import_training():
    g = import_graph()
    for m in INFERENCE_SIDE: assert 'jsdlib.train' not in _reach(g, m) | {m}, f'{m} reaches jsdlib.train'
    assert 'jsdlib.train' not in _reach(g, 'jsdlib.runs')          # the run folder sits below training


def test_importing_the_inference_side_loads_no_training():
    "Really import them (a fresh interpreter) and look at what was loaded."
    code = (f"import importlib, sys, json; [importlib.import_module(m) for m in {INFERENCE_SIDE!r}]; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('jsdlib'))))")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300,
                       cwd=PKG.parent)
    assert p.returncode == 0, p.stderr[-2000:]
    loaded = json.loads(p.stdout.strip().splitlines()[-1])
    assert set(INFERENCE_SIDE) <= set(loaded) and 'jsdlib.train' not in loaded, loaded


# Issue 29, item 5: what a learner reads on the site. The site (mkdocs) cuts code lines at the right edge, and its
# parameter tables are empty without docments; tools/code_measures.py measures both for the README's "before/after".
def _code_measures():
    sys.path.insert(0, str(PKG.parent/'tools'))
    import code_measures
    return code_measures


def test_code_lines_fit_the_page():
    "No code line of a chapter (exported or not) is longer than 100 characters."
    cm, long = _code_measures(), {}
    for nb in sorted((PKG.parent/'nbs').glob('*.ipynb')):
        code, _ = cm._code_cells(nb)
        hits = [l for c in code for l in cm._src(c).split('\n') if len(l) > cm.LONG]
        if hits: long[nb.name] = (len(hits), hits[0][:60] + '...')
    assert not long, f'code lines over {cm.LONG} characters (count, first): {long}'


def test_docments_on_public_functions():
    "At least 80% of the chapters' public functions have a comment on every parameter (fastcore docments)."
    cm = _code_measures()
    done = total = 0; missing = {}
    for nb in sorted((PKG.parent/'nbs').glob('[0-9]*.ipynb')):
        _, cells = cm._code_cells(nb)
        d = cm.docments_measures(cm._module_of(cells))
        done += d['with_docments']; total += d['public_functions']
        if d['missing']: missing[nb.stem] = d['missing']
    assert total > 300 and done / total >= 0.8, f'docments on {done}/{total} public functions; missing: {missing}'
