"""Measures of the code's shape, per chapter notebook and in total (issue 29, "Rules").

    python tools/code_measures.py [--json FILE] [--column NAME] [--nbs nbs] [--lib jsdlib]

Per chapter notebook (`nbs/[0-9]*.ipynb`) and in total:

- **code cells**: how many code cells the notebook has;
- **median / max lines**: lines of a code cell (its source as stored, `#|` lines included, blank lines at its ends
  left out);
- **long lines**: the share of code lines (non-blank lines of code cells) longer than 100 characters;
- **docments**: the share of the chapter's public functions (in its module's `__all__`, not starting with `_`, defined
  in that module) that have a comment on every parameter, read with `fastcore.docments` (`self`/`cls` and the return
  value are not counted; a function without parameters counts as documented). The denominator is printed too.

For the library as a whole:

- **import circles**: cycles among jsdlib's modules, from the `from .x import`, `from ..x import`,
  `from jsdlib.x import`, `import jsdlib.x` and `from . import x` statements of the exported modules (`_modidx.py`
  left out), found by depth-first search. Two graphs: every such statement (imports inside functions included) and
  the module-level statements only (what runs at import time). Each cycle is listed once, as its modules.
- **duplicate pairs**: the pair count that `duplicates --repo jsdlib` (a command on PATH; it has no positional
  argument) prints on its first line; `null` when the command is missing.

`--json FILE` writes the measures as JSON; with `--column NAME` they go under that key of FILE, next to the columns
already there (e.g. `before` and `after`).
"""
import argparse, ast, json, re, shutil, statistics, subprocess, sys, importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONG = 100

def _code_cells(nb_path:Path):
    nb = json.loads(nb_path.read_text())
    return [c for c in nb['cells'] if c['cell_type'] == 'code'], nb['cells']

def _src(c)->str:
    s = c['source']; return ''.join(s) if isinstance(s, list) else s

def _module_of(cells)->str|None:
    for c in cells:
        if c['cell_type'] != 'code': continue
        m = re.search(r'^\s*#\s*\|\s*default_exp\s+([\w.]+)', _src(c), re.M)
        if m: return m.group(1)
    return None

def cell_measures(nb_path:Path)->dict:
    code, _ = _code_cells(nb_path)
    sizes, lines = [], []
    for c in code:
        ls = _src(c).strip('\n').split('\n') if _src(c).strip() else []
        sizes.append(len(ls)); lines += [l for l in ls if l.strip()]
    n_long = sum(len(l) > LONG for l in lines)
    return {'code_cells': len(code), 'median_cell_lines': statistics.median(sizes) if sizes else 0,
            'max_cell_lines': max(sizes, default=0), 'code_lines': len(lines), 'long_lines': n_long,
            'long_line_share': round(n_long / len(lines), 4) if lines else 0.0, '_sizes': sizes}

def docments_measures(mod_name:str|None)->dict:
    "Public functions of jsdlib.<mod_name> and how many have a comment on every parameter."
    if mod_name is None: return {'public_functions': 0, 'with_docments': 0, 'docments_share': None, 'missing': []}
    import inspect
    from fastcore.docments import docments
    mod = importlib.import_module(f'jsdlib.{mod_name}')
    names = [n for n in getattr(mod, '__all__', []) if not n.startswith('_')]
    n_pub, ok, missing = 0, 0, []
    for n in names:
        f = getattr(mod, n, None)
        if not inspect.isfunction(f) or f.__module__ != mod.__name__: continue
        n_pub += 1
        params = [p for p in inspect.signature(f).parameters if p not in ('self', 'cls')]
        try: d = docments(f, args_kwargs=True)
        except Exception: d = {}
        undocumented = [p for p in params if not d.get(p)]
        if undocumented: missing.append(n)
        else: ok += 1
    return {'public_functions': n_pub, 'with_docments': ok,
            'docments_share': round(ok / n_pub, 4) if n_pub else None, 'missing': missing}

# ---------------------------------------------------------------- import circles
def _modules(lib:Path)->dict:
    "{dotted name relative to the package ('core', 'methods.dakd'): path}"
    out = {}
    for p in sorted(lib.rglob('*.py')):
        if '__pycache__' in p.parts or p.name == '_modidx.py': continue
        rel = p.relative_to(lib).with_suffix('')
        parts = list(rel.parts)
        if parts[-1] == '__init__': parts = parts[:-1]
        out['.'.join(parts)] = p
    return out

def import_graph(lib:Path, top_level_only:bool)->dict:
    mods, pkg = _modules(lib), lib.name
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        tree = ast.parse(p.read_text())
        here = m.split('.') if p.name == '__init__.py' else m.split('.')[:-1]   # the package this module is in
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        for node in nodes:
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                    base = base + (node.module.split('.') if node.module else [])
                elif node.module and (node.module == pkg or node.module.startswith(pkg + '.')):
                    base = node.module.split('.')[1:]
                else: continue
                b = '.'.join(base)
                subs = ['.'.join([*base, a.name]) for a in node.names]
                hit = [s for s in subs if s in mods]           # `from . import x`: x is a module
                targets = hit or [b]
            elif isinstance(node, ast.Import):
                targets = ['.'.join(a.name.split('.')[1:]) for a in node.names if a.name.startswith(pkg + '.')]
            for t in targets:
                if t in mods and t != m and t != '': graph[m].add(t)
    return graph

def cycles(graph:dict)->list[list[str]]:
    "Every elementary cycle, by depth-first search from each node over nodes after it (each cycle found once)."
    order = sorted(graph); idx = {n: i for i, n in enumerate(order)}; found = []
    def dfs(start, node, path, on_path):
        for nxt in sorted(graph[node]):
            if nxt == start: found.append(path[:])
            elif idx[nxt] > idx[start] and nxt not in on_path:
                on_path.add(nxt); path.append(nxt); dfs(start, nxt, path, on_path); path.pop(); on_path.discard(nxt)
    for s in order: dfs(s, s, [s], {s})
    return found

def duplicate_pairs(lib:Path)->int|None:
    exe = shutil.which('duplicates')
    if exe is None: return None
    r = subprocess.run([exe, '--repo', str(lib), '--seconds', '120'], capture_output=True, text=True, cwd=lib.parent)
    first = (r.stdout.strip().splitlines() or [''])[0]
    if first.startswith('no duplicates'): return 0
    m = re.match(r'(\d+) pairs?', first)
    return int(m.group(1)) if m else None

# ---------------------------------------------------------------- all together
def measure(nbs:Path, lib:Path)->dict:
    sys.path.insert(0, str(lib.parent))
    chapters, all_sizes, tot = {}, [], {'code_lines': 0, 'long_lines': 0, 'public_functions': 0, 'with_docments': 0}
    for p in sorted(nbs.glob('[0-9]*.ipynb')):
        code, cells = _code_cells(p)
        cm = cell_measures(p); mod = _module_of(cells); dm = docments_measures(mod)
        all_sizes += cm.pop('_sizes')
        chapters[p.stem] = {'module': f'jsdlib.{mod}' if mod else None, **cm, **dm}
        for k in tot: tot[k] += chapters[p.stem][k]
    g_all, g_top = import_graph(lib, False), import_graph(lib, True)
    c_all, c_top = cycles(g_all), cycles(g_top)
    total = {'code_cells': len(all_sizes), 'median_cell_lines': statistics.median(all_sizes) if all_sizes else 0,
             'max_cell_lines': max(all_sizes, default=0), **{k: tot[k] for k in ('code_lines', 'long_lines')},
             'long_line_share': round(tot['long_lines'] / tot['code_lines'], 4) if tot['code_lines'] else 0.0,
             'public_functions': tot['public_functions'], 'with_docments': tot['with_docments'],
             'docments_share': round(tot['with_docments'] / tot['public_functions'], 4) if tot['public_functions'] else None,
             'import_cycles_all': len(c_all), 'import_cycles_module_level': len(c_top),
             'duplicate_pairs': duplicate_pairs(lib)}
    return {'chapters': chapters, 'total': total,
            'import_cycles': {'all': [' -> '.join([*c, c[0]]) for c in c_all],
                              'module_level': [' -> '.join([*c, c[0]]) for c in c_top]}}

def table(m:dict)->str:
    head = f'{"chapter":<16}{"cells":>6}{"median":>7}{"max":>5}{"long%":>7}{"docments":>12}'
    rows = [head, '-' * len(head)]
    def row(name, d):
        doc = f'{d["with_docments"]}/{d["public_functions"]}' if d['public_functions'] else '-'
        rows.append(f'{name:<16}{d["code_cells"]:>6}{d["median_cell_lines"]:>7g}{d["max_cell_lines"]:>5}'
                    f'{100 * d["long_line_share"]:>6.1f}%{doc:>12}')
    for k, d in m['chapters'].items(): row(k, d)
    rows.append('-' * len(head)); row('total', m['total'])
    t = m['total']
    rows += ['', f'docments share (all public functions): {t["docments_share"]:.1%}' if t['docments_share'] is not None else '',
             f'import circles: {t["import_cycles_all"]} counting imports inside functions, '
             f'{t["import_cycles_module_level"]} among module-level imports']
    rows += [f'  {c}' for c in m['import_cycles']['all']]
    rows.append(f'duplicate pairs (duplicates --repo jsdlib): {t["duplicate_pairs"]}')
    return '\n'.join(rows)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--json', help='write the measures to this JSON file')
    ap.add_argument('--column', help='with --json: put the measures under this key of the file, keeping other keys')
    ap.add_argument('--nbs', default=str(ROOT/'nbs')); ap.add_argument('--lib', default=str(ROOT/'jsdlib'))
    a = ap.parse_args(argv)
    m = measure(Path(a.nbs).resolve(), Path(a.lib).resolve())
    print(table(m))
    if a.json:
        out = Path(a.json)
        if a.column:
            old = json.loads(out.read_text()) if out.exists() else {}
            old[a.column] = m; m = old
        out.write_text(json.dumps(m, indent=1) + '\n')
    return 0

if __name__ == '__main__': sys.exit(main())
