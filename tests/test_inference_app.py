"End-to-end test of `jsd app`: start it on a free local port, call it through gradio_client, check the answer, stop it."
import os, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest, torch

from jsdlib.core import write_json
from jsdlib.student import build_student, save_student
from conftest import BIN

gradio = pytest.importorskip('gradio', reason='gradio is not installed (pip install gradio gradio_client): the app cannot be tested')
gradio_client = pytest.importorskip('gradio_client', reason='gradio_client is not installed: the app cannot be called')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _wait(url, proc, timeout=150):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return True
        except Exception: time.sleep(0.5)
    return False


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    d = tmp_path_factory.mktemp('app')
    torch.manual_seed(0)
    save_student(build_student().eval(), d/'run'/'model.safetensors')
    write_json({"method": "baseline", "student_size": 64, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}, d/'run'/'config.json')
    write_json({"threshold": 0.5}, d/'run'/'metrics.json')
    from jsdlib.dashcam import render_clip
    from jsdlib.video import write_video
    video = write_video(render_clip(0, 24, (160, 90), clip=1)[0], d/'upload.mp4', fps=10)
    port = _free_port()
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', 'MPLBACKEND': 'Agg', 'JSD_DATA': str(d/'nodata'),
           'GRADIO_TEMP_DIR': str(d/'gradio_tmp'), 'NO_PROXY': '127.0.0.1,localhost', 'no_proxy': '127.0.0.1,localhost'}
    log = open(d/'app.log', 'w')
    proc = subprocess.Popen([str(BIN/'jsd'), 'app', '--checkpoint', str(d/'run'), '--port', str(port), '--threads', '1'],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=d)
    try:
        if not _wait(f'http://127.0.0.1:{port}/', proc):
            proc.kill(); pytest.fail(f'the app did not start on port {port}:\n{(d/"app.log").read_text()[-3000:]}')
        yield dict(url=f'http://127.0.0.1:{port}/', port=port, video=video, dir=d, proc=proc)
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()


def test_app_listens_on_loopback_only(served):
    out = subprocess.run(['ss', '-ltnp'], capture_output=True, text=True).stdout if Path('/usr/bin/ss').exists() or Path('/bin/ss').exists() else ''
    lines = [l for l in out.splitlines() if f':{served["port"]} ' in l]
    if lines: assert all('127.0.0.1:' in l for l in lines), lines
    log = (served['dir']/'app.log').read_text()
    assert 'gradio.live' not in log and f'http://127.0.0.1:{served["port"]}' in log


def test_app_scores_an_uploaded_video(served):
    from gradio_client import Client, handle_file
    c = Client(served['url'], verbose=False, download_files=str(served['dir']/'dl'))
    png, events, gallery, summary = c.predict(handle_file(str(served['video'])), '', 0, api_name='/score')
    assert Path(png).exists() and Path(png).stat().st_size > 1000
    assert '24 frames scored' in summary
    assert events['headers'][:5] == ['start', 'end', 'frames', 'peak_frame', 'peak_score']
    assert len(gallery) == min(8, len(events['data']))


def test_app_scores_a_bundled_example(served):
    from gradio_client import Client
    c = Client(served['url'], verbose=False, download_files=str(served['dir']/'dl2'))
    info = c.view_api(print_info=False, return_format='dict')
    ex = next(p for p in info['named_endpoints']['/score']['parameters'] if p['parameter_name'] == 'example')
    choices = [x for x in ex['type'].get('enum', []) if x] or ['generated dashcam clip']
    png, events, gallery, summary = c.predict(None, choices[0], 2, api_name='/score')
    assert Path(png).exists() and 'frames scored' in summary
