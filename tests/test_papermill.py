"A course notebook executed through papermill with an injected parameter, as the reproduction does."
import json, sys
from pathlib import Path
import papermill as pm
from conftest import ROOT

def test_data_notebook_under_papermill(tmp_path):
    out = tmp_path/'01_data.out.ipynb'
    pm.execute_notebook(str(ROOT/'nbs'/'01_data.ipynb'), str(out), parameters=dict(synth_clips=8, synth_frames=32, out_dir=str(tmp_path)),
                        kernel_name='python3', cwd=str(ROOT/'nbs'), progress_bar=False)
    nb = json.loads(out.read_text())
    injected = [c for c in nb['cells'] if 'injected-parameters' in c['metadata'].get('tags', [])]
    assert injected and 'synth_clips = 8' in ''.join(injected[0]['source'])
    # the injected value reached the code: the generated dataset has 8 clips of 32 frames
    meta = {**json.loads((tmp_path/'synth'/'metadata_train.json').read_text()), **json.loads((tmp_path/'synth'/'metadata_val.json').read_text())}
    assert len(meta) == 8 and {m["num_frames"] for m in meta.values()} == {32}
