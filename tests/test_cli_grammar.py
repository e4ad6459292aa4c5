"""Issue 29, item 3: one command grammar. The new spellings work, every old one still works and prints one `note:`
line naming the new one, `jsd --help` shows the grammar and names the old spellings only as aliases, and the shared
options (`--threads`, `--seed`) are checked once, before any work, with one `error:` line."""
import pytest
from conftest import run_jsd
from jsdlib.cli import ALIASES, main, resolve_aliases

NEW = [['data', 'synth'], ['data', 'index'], ['cache', 'precompute'], ['cache', 'verify'], ['cache', 'benchmark'],
       ['student', 'train'], ['student', 'probe'], ['student', 'transfer'], ['export'], ['score'], ['benchmark'], ['app'],
       ['evaluate'], ['visualize']]

@pytest.mark.parametrize('cmd', NEW, ids=' '.join)
def test_new_spellings_parse(cmd, capsys):
    with pytest.raises(SystemExit) as e: main([*cmd, '--help'])
    out = capsys.readouterr()
    assert e.value.code == 0 and out.out.startswith(f"usage: jsd {' '.join(cmd)} ") and out.err == '', out

def test_help_lists_the_grammar_and_hides_old_spellings():
    p = run_jsd('--help')
    commands = p.stdout.split('positional arguments:')[1].split('options:')[0]
    for noun in ('data', 'cache', 'student', 'export', 'score', 'benchmark', 'app', 'evaluate', 'visualize'):
        assert f'\n    {noun}' in commands, (noun, commands)
    for old in ALIASES: assert f'\n    {old}' not in commands, (old, commands)       # not listed as commands...
    grammar = p.stdout.split('grammar:')[1]
    for old, new in ALIASES.items(): assert f"jsd {old}" in grammar and f"jsd {' '.join(new)}" in grammar   # ...but as aliases
    assert '--checkpoint' in grammar and '--run' in grammar

@pytest.mark.parametrize('old', sorted(ALIASES))
def test_old_spelling_prints_one_note(old):
    p = run_jsd(old, '--help')
    new = ' '.join(ALIASES[old])
    assert p.returncode == 0 and p.stdout.startswith(f'usage: jsd {new} '), p.stdout[:200]
    assert p.stderr.strip() == f"note: 'jsd {old}' is now 'jsd {new}'", p.stderr

def test_checkpoint_is_a_noted_alias_of_run():
    argv, notes = resolve_aliases(['export-onnx', '--checkpoint', 'r', '--out', 'm.onnx'])
    assert argv == ['export', '--run', 'r', '--out', 'm.onnx']
    assert notes == ["note: 'jsd export-onnx' is now 'jsd export'", 'note: --checkpoint is now --run']
    for verb in ('score', 'benchmark', 'app'): assert resolve_aliases([verb, '--checkpoint=x'])[0] == [verb, '--run=x']
    assert resolve_aliases(['evaluate', '--checkpoint', 'x'])[0] == ['evaluate', '--checkpoint', 'x']   # only the run verbs

def test_new_spelling_prints_no_note(tmp_path):
    p = run_jsd('score', '--run', tmp_path/'none', '--video', tmp_path/'v.mp4', '--out', tmp_path/'s.csv', check=False)
    assert p.returncode == 2 and 'note:' not in p.stderr and p.stderr.startswith('error: '), p.stderr
    p = run_jsd('score', '--checkpoint', tmp_path/'none', '--video', tmp_path/'v.mp4', '--out', tmp_path/'s.csv', check=False)
    assert p.returncode == 2 and p.stderr.splitlines()[0] == 'note: --checkpoint is now --run', p.stderr

@pytest.mark.parametrize('cmd', [['student', 'train', '--method', 'baseline', '--index', 'i.csv', '--out', 'OUT'],
                                 ['score', '--run', 'r', '--video', 'v.mp4', '--out', 'OUT'],
                                 ['app', '--run', 'r'],
                                 ['benchmark', '--run', 'r', '--out', 'OUT', '--threads', '1'],
                                 ['aed-mae', 'train', '--dataset', 'synth', '--root', 'x', '--out', 'OUT'],
                                 ['dakd', 'train', '--index', 'i.csv', '--cache', 'c', '--out', 'OUT'],
                                 ['fast-aed', 'train', '--dataset', 'synth', '--root', 'x', '--cache', 'c', '--out', 'OUT'],
                                 ['objects', 'fit', '--dataset', 'index', '--root', 'i.csv', '--out', 'OUT']],
                         ids=lambda c: ' '.join(c[:2]))
def test_threads_checked_once_before_any_work(cmd, tmp_path):
    "`--threads 0` anywhere: one line naming the option and what was expected, exit 2, nothing written."
    out = tmp_path/'out'
    cmd = [str(out) if a == 'OUT' else a for a in cmd]
    p = run_jsd(*cmd, '--threads', '0', check=False)
    assert p.returncode == 2 and p.stderr.strip() == 'error: --threads: expected an integer >= 1, got 0', p.stderr
    assert not out.exists()

def test_seed_checked(tmp_path):
    p = run_jsd('data', 'synth', '--out', tmp_path/'s', '--seed', '-1', check=False)
    assert p.returncode == 2 and p.stderr.strip().startswith('error: --seed: expected an integer'), p.stderr
    assert not (tmp_path/'s').exists()
