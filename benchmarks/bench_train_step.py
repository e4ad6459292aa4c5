"""Why the training chapter trains in channels-last layout and runs one-thread workers side by side.

Times, on this CPU and in one run: a MobileNetV3-Small training step (64 px, batch 32) in PyTorch's default NCHW layout
and in channels-last (NHWC), on 1 and 2 threads; the same step in two one-thread processes at once; and the Lite0
teacher's forward pass (160 px) in both layouts. Writes nbs/results/train_step_benchmark.json, read by the chapter.

    python benchmarks/bench_train_step.py [--steps 40] [--out nbs/results/train_step_benchmark.json]
"""
import argparse, json, subprocess, sys, time
from pathlib import Path
import torch
from jsdlib.core import write_json

def step_ms(threads:int, channels_last:bool, steps:int, batch:int=32, size:int=64)->float:
    "Median-free mean ms of a training step after 5 warm-up steps."
    from jsdlib.student import build_student
    torch.manual_seed(0); torch.set_num_threads(threads)
    m = build_student(1280, None); x = torch.randn(batch, 3, size, size)
    if channels_last: m = m.to(memory_format=torch.channels_last); x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(m.parameters(), 1e-3)
    for i in range(steps + 5):
        if i == 5: t = time.perf_counter()
        logit, proj = m.forward_train(x); loss = logit.sum() + proj.sum()
        opt.zero_grad(); loss.backward(); opt.step()
    return (time.perf_counter() - t) / steps * 1e3

def teacher_ms(channels_last:bool, reps:int=6, batch:int=32)->float:
    from jsdlib.teacher import build_teacher
    torch.set_num_threads(2)
    t = build_teacher('lite0', size=160); x = torch.randn(batch, 3, 160, 160)
    if not channels_last: t.model = t.model.to(memory_format=torch.contiguous_format)
    fwd = (lambda: t(x)) if channels_last else (lambda: t.model.forward_head(t.model.forward_features(x.contiguous()), pre_logits=True))
    with torch.no_grad():
        for i in range(reps + 2):
            if i == 2: t0 = time.perf_counter()
            fwd()
    return (time.perf_counter() - t0) / reps / batch * 1e3

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--steps', type=int, default=40); ap.add_argument('--out', default='nbs/results/train_step_benchmark.json')
    ap.add_argument('--worker', nargs=2, metavar=('THREADS', 'CL'), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: print(step_ms(int(a.worker[0]), a.worker[1] == '1', a.steps)); return
    from jsdlib.reproduce import hardware
    rows = [dict(layout='NHWC' if cl else 'NCHW', threads=th, processes=1, ms_per_step=round(step_ms(th, cl, a.steps), 1))
            for cl in (False, True) for th in (1, 2)]
    ps = [subprocess.Popen([sys.executable, __file__, '--steps', str(a.steps), '--worker', '1', '1'], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    side = [float(p.communicate()[0].strip().splitlines()[-1]) for p in ps]
    rows.append(dict(layout='NHWC', threads=1, processes=2, ms_per_step=round(sum(side) / 2, 1)))
    teach = {lay: round(teacher_ms(lay == 'NHWC'), 2) for lay in ('NCHW', 'NHWC')}
    res = dict(what='MobileNetV3-Small training step, 64 px, batch 32 (random init, projector to 1280-d); Lite0 teacher forward, 160 px, batch 32, 2 threads',
               steps=a.steps, student_steps=rows, teacher_ms_per_frame=teach, hardware=hardware())
    for r in rows: print(r)
    print('teacher ms/frame', teach)
    write_json(res, a.out); print(f'wrote {a.out}')

if __name__ == '__main__': main()
