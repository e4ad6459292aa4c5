"Fast-AED chapter: the commands end to end, ONNX export, the reproduction, the committed Ped2 scores against the official ground truth, bad input."
import json, re
import numpy as np, pandas as pd, pytest
from sklearn.metrics import roc_auc_score
from conftest import ROOT, run_jsd, need_shared, committed_ped2_scores

RES = ROOT/'nbs'/'results'

def test_fast_aed_commands(small_synth, tmp_path):
    "synth -> teachers fitted and cached -> student run folder -> jsd evaluate -> ONNX export; a second teachers call reuses everything."
    common = ('--dataset', 'synth', '--root', small_synth(12, 24), '--cache', tmp_path/'cache', '--quiet',
              '--synthetic', 4)   # 4 synthetic-anomaly clips, not the default 200: the commands' shape is tested here
    p = run_jsd('fast-aed', 'teachers', *common, '--coreset', 64)
    assert 'patchcore:' in p.stdout and 'motion:' in p.stdout, p.stdout
    p = run_jsd('fast-aed', 'teachers', *common, '--coreset', 64)
    assert '4 of 4 shards already there' in p.stdout or 'shards already there' in p.stdout, p.stdout
    p = run_jsd('fast-aed', 'train', *common, '--out', tmp_path/'run', '--size', 32, 48, '--epochs', 1, '--batch-size', 16)
    assert 'micro_auc' in p.stdout, p.stdout
    for f in ('config.json', 'metrics.json', 'model.safetensors', 'scores_val.csv', 'scores_test.csv', 'log.csv'): assert (tmp_path/'run'/f).exists(), f
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert m['method'] == 'fast-aed' and set(m['teachers_test']) == {'patchcore', 'motion', 'mean'}
    run_jsd('evaluate', '--runs', tmp_path/'run', '--out', tmp_path/'ev.json', '--n-boot', 20, '--quiet')
    assert 'run' in json.loads((tmp_path/'ev.json').read_text())['runs']
    run_jsd('fast-aed', 'export', '--run', tmp_path/'run', '--out', tmp_path/'s.onnx')
    import onnxruntime as ort
    assert [o.name for o in ort.InferenceSession(str(tmp_path/'s.onnx')).get_outputs()] == ['score', 'scalar', 'map4', 'map16']

def test_fast_aed_bad_input(small_synth, tmp_path):
    d = small_synth(12, 24)
    p = run_jsd('fast-aed', 'train', '--dataset', 'synth', '--root', d, '--cache', tmp_path/'nocache', '--out', tmp_path/'x', check=False)
    assert p.returncode == 2 and 'no fitted map teacher here' in p.stderr, p.stderr
    p = run_jsd('fast-aed', 'train', '--dataset', 'synth', '--root', d, '--cache', tmp_path/'nocache', '--out', tmp_path/'x', '--size', 8, 8, check=False)
    assert p.returncode == 2 and '2**n_down' in p.stderr, p.stderr
    p = run_jsd('reproduce', '--method', 'fast-aed', '--scale', 'smoke', '--out', tmp_path/'r', '--set', 'teacher=lite0', check=False)
    assert p.returncode == 2 and "unknown fast-aed parameter 'teacher'" in p.stderr, p.stderr

def test_reproduce_fast_aed_smoke(tmp_path):
    out = tmp_path/'fast'
    run_jsd('reproduce', '--method', 'fast-aed', '--scale', 'smoke', '--out', out)
    rep = (out/'report.md').read_text()
    assert '| teacher: patchcore |' in rep and '| student |' in rep and 'fast_aed_maps.png' in rep, rep
    for f in ('fast_aed_timelines.png', 'fast_aed_maps.png'): assert (out/'figures'/f).exists(), f
    again = run_jsd('reproduce', '--method', 'fast-aed', '--scale', 'smoke', '--out', out)
    assert 'fast_aed: reused' in again.stdout, again.stdout

def test_committed_scores_against_official_ground_truth():
    "The committed per-frame Ped2 test scores of the default student give the committed AUC against UCSDped2.m, read without the library."
    s, y = committed_ped2_scores('fast_aed_ped2_test_scores.csv')
    res = json.loads((RES/'fast_aed_ped2.json').read_text())
    assert abs(roc_auc_score(y, s['score']) - res['runs'][res['default']]['post']['micro_auc']) < 1e-5

def test_committed_object_teacher_student_scores():
    "The Fast-AED student distilled from the object teacher: committed scores give the committed AUC (UCSDped2.m, no library)."
    s, y = committed_ped2_scores('fast_aed_objects_ped2_test_scores.csv')
    res = json.loads((RES/'fast_aed_objects_ped2.json').read_text())
    assert abs(roc_auc_score(y, s['score']) - res['runs'][res['default']]['post']['micro_auc']) < 1e-5
    assert abs(roc_auc_score(y, s['score']) - res['intervals']['default student']['micro']['value']) < 1e-4
