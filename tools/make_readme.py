"""Write README.md from nbs/index.ipynb.

nbdev's own `nbdev_readme` renders through Quarto, a separate binary that cannot be installed from a package
registry here, so this small script does the same for our needs: markdown cells verbatim, code cells as fenced
python blocks (their outputs as text blocks), cells marked `#| hide` left out, nbdev directives stripped; a cell
marked `#| echo: false` is run and the markdown it returns (a table read from nbs/results/) takes its place.
"""
import json, re, sys, os, tempfile
from pathlib import Path

root = Path(__file__).resolve().parents[1]

def run_cell(src:str)->str:
    "The markdown a `#| echo: false` cell shows: the value of its last expression, run with this repository's jsdlib."
    import ast
    sys.path.insert(0, str(root))
    tree = ast.parse(src); ns = {}
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, '<index.ipynb cell>', 'exec'), ns)
    v = eval(compile(ast.Expression(last.value), '<index.ipynb cell>', 'eval'), ns) if last else ''
    return str(getattr(v, 'data', v)).strip('\n')

def render(nb_path):
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.splitlines()
        directives = [l for l in lines if re.match(r'^#\|', l)]
        if any(re.match(r'^#\|\s*(hide|exec_doc|export)', l) for l in directives) and c['cell_type'] == 'code': continue
        if c['cell_type'] == 'code' and any(re.match(r'^#\|\s*echo:\s*false', l) for l in directives):
            out.append(run_cell(src)); continue       # a table made from committed results: its markdown, not its code
        body = '\n'.join(l for l in lines if not re.match(r'^#\|', l)).strip('\n')
        if not body: continue
        if c['cell_type'] == 'markdown': out.append(body)
        elif c['cell_type'] == 'code':
            out.append('```python\n' + body + '\n```')
            for o in c.get('outputs', []):
                txt = o.get('text') or o.get('data', {}).get('text/plain')
                if txt: out.append('```\n' + ''.join(txt).rstrip('\n') + '\n```')
    return '<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file -->\n\n' + '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    text = render(root/'nbs'/'index.ipynb')
    dest = root/'README.md'
    fd, tmp = tempfile.mkstemp(dir=root, prefix='.README.', suffix='.tmp')
    with os.fdopen(fd, 'w') as f: f.write(text)
    os.replace(tmp, dest)
