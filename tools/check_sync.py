"""Fail when `nbdev_clean`, `nbdev_export` or the README generator would change a file.

A snapshot of nbs/, jsdlib/ and README.md is taken, the three tools run, and any file they changed is listed.
Works on a dirty work tree too (it compares contents, not git state).
"""
import hashlib, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
bin_ = Path(sys.executable).parent

def snapshot():
    files = [root/'README.md', *sorted((root/'nbs').glob('*.ipynb')), *sorted((root/'jsdlib').rglob('*.py'))]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.exists() and '__pycache__' not in p.parts}

before = snapshot()
for cmd in ([str(bin_/'nbdev_clean')], [str(bin_/'nbdev_export')], [sys.executable, str(root/'tools'/'make_readme.py')]):
    subprocess.run(cmd, cwd=root, check=True)
after = snapshot()
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
if changed:
    print('check_sync: nbdev_clean / nbdev_export / make_readme changed these files; run `make export` and commit:')
    for k in changed: print('  ', k)
    sys.exit(1)
print(f'check_sync: {len(after)} files, notebooks, library and README in sync')
