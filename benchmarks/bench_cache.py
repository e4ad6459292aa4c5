"""Is distilling from a feature cache nearly free? Time one training epoch three ways, per teacher.

(a) the student alone (timm mobilenetv3_small_100, BCE), (b) JSD reading cached teacher features (BCE + cosine),
(c) JSD computing the teacher on the fly; plus the teacher's extraction frames/s. Random teacher weights (same cost).

    python benchmarks/bench_cache.py                      # generated frames, Lite0 and DINOv2 ViT-B/14
    python benchmarks/bench_cache.py --index data/synth/index.csv --frames 256
    jsd cache benchmark --index data/synth/index.csv      # the same, from the CLI

Goals: b/a <= 1.1 (reading the cache costs ~nothing), c/b >= 20 for ViT-B/14 at 224 px (it depends on the student's
size: try --student-size 96 / 224).
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path

import torch
from jsdlib.core import DEFAULTS
from jsdlib.cachebench import benchmark_cache, benchmark_verdicts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--index', default=None, help='frame index CSV; default: generate a small synth set in a temp dir')
    p.add_argument('--teachers', nargs='+', default=['lite0', 'dinov2_vitb14'])
    p.add_argument('--frames', type=int, default=128)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--student-size', type=int, default=DEFAULTS.student_size, help='student input size (default %(default)s)')
    p.add_argument('--out', default=None, help='also write the table, settings and machine to this JSON (e.g. nbs/results/cache_benchmark.json)')
    a = p.parse_args(argv)
    index = a.index
    if index is None:
        from jsdlib.data import make_synth
        from jsdlib.datasets import index_dataset
        root = Path(tempfile.mkdtemp(prefix='jsd-bench-data-'))
        n_clips = max(4, -(-a.frames // 16))
        make_synth(root/'synth', n_clips=n_clips, n_frames=16, progress=False)
        index = index_dataset('synth', root/'synth')
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]          # a busy machine makes every figure below slower: it is recorded
    r = benchmark_cache(index, teachers=a.teachers, n_frames=a.frames, batch_size=a.batch_size, repeats=a.repeats,
                        student_size=a.student_size)
    print(f'torch threads: {torch.get_num_threads()}, frames per epoch: {r.frames.iloc[0]}, batch size: {a.batch_size}')
    print(r.to_string(index=False))
    print('\n'.join(benchmark_verdicts(r)))
    total = time.perf_counter() - t0
    print(f'total {total:.0f} s')
    if a.out:
        from jsdlib.core import write_json
        settings = dict(frames=int(r.frames.iloc[0]), batch_size=a.batch_size, repeats=a.repeats, student_size=a.student_size,
                        index=a.index or 'generated synth', weights='random (timing only)')
        machine = dict(cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), torch=torch.__version__,
                       processor=platform.processor() or platform.machine(), load_1min_at_start=load0)
        write_json(dict(settings=settings, machine=machine, total_s=round(total, 1), results=r.to_dict(orient='records')), a.out)
        print(f'wrote {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
