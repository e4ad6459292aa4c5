"The run folder's weights: files written by earlier versions (committed ones and each old schema) still load."
import json
from pathlib import Path
import pytest, torch
from safetensors.torch import save_file
from jsdlib.core import JsdError
from jsdlib.runs import weights_info, read_weights, save_weights, check_finished

ROOT = Path(__file__).resolve().parent.parent


def test_committed_aed_mae_files_load():
    """The committed AED-MAE run (nbs/results) and the long run's first resume state were written before the one schema
    existed; the long run's newest resume state is read too."""
    from jsdlib.methods.aed_mae import load_model
    run = ROOT/'nbs'/'results'/'aed_mae_ped2'
    info = weights_info(run/'model.safetensors')
    assert (info['kind'], info['schema']) == ('aed_mae', 'legacy') and info['config']
    m = load_model(run/'model.safetensors')
    assert not m.training and sum(p.numel() for p in m.parameters()) > 0
    legacy = ROOT/'tests'/'data'/'aed_mae_resume_epoch2_legacy.safetensors'   # the long run's epoch 2, old schema
    t, i = read_weights(legacy, 'aed_mae')                 # config only, no kind: accepted as AED-MAE
    assert i['epoch'] == '2' and len(t) > 0
    # the long run's committed resume state (the newest epoch; written by the current schema since epoch 3)
    state = sorted((ROOT/'benchmarks'/'state'/'aed_mae_long'/'resume').glob('epoch_*.safetensors'))[-1]
    t, i = read_weights(state, 'aed_mae')
    assert i['epoch'] == str(int(state.stem.split('_')[1])) and len(t) > 0


def test_old_student_probe_dakd_headers(tmp_path):
    "Files in each older header are recognised by the loaders that use them."
    from jsdlib.student import build_student, export_state, load_student_weights
    from jsdlib.runs import load_probe
    st = export_state(build_student())
    save_file(st, str(tmp_path/'student.safetensors'),
              metadata=dict(format='pt', arch='jsdlib.student/mobilenetv3_small_100', epoch='1'))
    assert weights_info(tmp_path/'student.safetensors')['kind'] == 'student'
    load_student_weights(tmp_path/'student.safetensors')
    (tmp_path/'probe').mkdir()
    save_file({k: torch.zeros(3) for k in ('mean', 'scale', 'weight', 'bias')}, str(tmp_path/'probe'/'model.safetensors'),
              metadata=dict(kind='jsdlib.transfer/linear_probe', teacher='lite0', C='0.1'))
    assert sorted(load_probe(tmp_path/'probe')) == ['bias', 'mean', 'scale', 'weight']
    with pytest.raises(JsdError, match="a 'student' file, expected 'linear_probe'"):
        read_weights(tmp_path/'student.safetensors', 'linear_probe')


def test_new_header_and_guard(tmp_path):
    p = save_weights({'w': torch.ones(1)}, tmp_path/'m.safetensors', 'dakd', config={'a': 1}, dims={'x': 2})
    i = weights_info(p)
    assert (i['kind'], i['schema'], i['config'], json.loads(i['dims'])) == ('dakd', '1', {'a': 1}, {'x': 2})
    (tmp_path/'metrics.json').write_text('{}')
    with pytest.raises(JsdError, match='holds a finished run'): check_finished(tmp_path)
    assert check_finished(tmp_path, overwrite=True) == tmp_path
