"""Scoring speed of AED-MAE beside the JSD student, whole path, on this CPU (nbs/11_aed_mae.ipynb reads the result).

    python benchmarks/bench_aed_mae.py [--run nbs/results/aed_mae_ped2] [--clip ../shared/data/ucsd_ped2/testing/frames/01]

Both paths start from the JPEG files of one Ped2 test clip and end with one score per frame:
- AED-MAE: decode + resize to the model's input (grey), stack frames t-3, t, t+3, the masked auto-encoder (teacher and
  student decoders), the per-frame components and the post-processed score (`score_clip`, `component_scores`, `combine`).
- JSD student: `jsdlib.inference.score_video` on the same folder (decode, resize, normalise, MobileNetV3-Small), at
  64 px (the reproduction's default) and 224 px (the paper's); a randomly initialised student has the same speed.
Frames/s = frames / median of 3 timed passes after a warm-up pass (`time_throughput`, as the inference chapter does),
at 2 threads and at 1; writes nbs/results/aed_mae_speed.json with the CPU named.
"""
import argparse, json, tempfile
from pathlib import Path
import pandas as pd, torch
from jsdlib.core import write_json, project_root
from jsdlib.methods.aed_mae import load_model, load_frame, score_clip, component_scores, combine
from jsdlib.speed import time_throughput, hardware_info
from jsdlib.engines import make_demo_run
from jsdlib.inference import score_video

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--run', default=str(project_root()/'nbs'/'results'/'aed_mae_ped2'))
    p.add_argument('--clip', default=str(project_root().parent/'shared'/'data'/'ucsd_ped2'/'testing'/'frames'/'01'))
    p.add_argument('--out', default=str(project_root()/'nbs'/'results'/'aed_mae_speed.json'))
    a = p.parse_args()
    frames = sorted(Path(a.clip).glob('*.jpg')); n = len(frames)
    if not n: raise SystemExit(f'{a.clip}: no jpg frames')
    model = load_model(Path(a.run)/'model.safetensors'); cfg = model.cfg
    stats = {k: tuple(v) for k, v in json.loads((Path(a.run)/'config.json').read_text())['val_stats'].items()}
    def aed():
        clip = torch.stack([torch.from_numpy(load_frame(f, cfg.size, cfg.channels)) for f in frames])
        c = component_scores(score_clip(model, clip)); c.insert(0, 'video', '01'); c.insert(1, 'frame', range(n))
        return combine(c, cfg.weights, stats, cfg.sigma)
    tmp = Path(tempfile.mkdtemp())
    rows = []
    for threads in (2, 1):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            rows.append(dict(model='AED-MAE', input=f'{cfg.size[0]}x{cfg.size[1]} grey, 3 frames', threads=threads, **time_throughput(aed, n)))
        for size in (64, 224):
            run = make_demo_run(tmp/f'student{size}', size=size)
            rows.append(dict(model='JSD student (MobileNetV3-Small)', input=f'{size}x{size} RGB', threads=threads,
                             **time_throughput(lambda: score_video(run, a.clip, batch_size=32), n)))
        print(pd.DataFrame(rows).to_string())
    write_json(dict(format='jsdlib-aed-mae-speed/1', frames=n, clip=Path(a.clip).name, hardware=hardware_info(), rows=rows,
                    note='whole path from JPEG files to one score per frame; median of 3 passes after a warm-up'), a.out)

if __name__ == '__main__': main()
