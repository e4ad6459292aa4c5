"""How fast does the student score video, against the reference implementation's path, on this machine?

Warm-up, batch-1 latency (median, p95), batch throughput, model only / + preprocessing / end to end (decode, preprocess,
score), for the reference path (torchvision mobilenet_v3_small + head, one frame at a time, eager), PyTorch eager,
channels_last + inference_mode, ONNX Runtime (graph optimisations off/on, int8 static and dynamic with an accuracy
check), at 1 thread and all cores, on the same frames in one run. Prints the table and the ratios; a benchmark, not a test.

    python benchmarks/bench_inference.py                         # random-init student at 160 px, generated 640x360 clip
    python benchmarks/bench_inference.py --checkpoint runs/x/jsd --size 224 --frames 512 --out bench.json
    jsd benchmark --checkpoint RUN_DIR --out bench.json          # the same, from the CLI

Goals: model-only throughput >= 10x the reference path, end to end >= 5x.
"""
import argparse, sys, tempfile
from pathlib import Path

import torch
from jsdlib.core import write_json
from jsdlib.inference import benchmark, bench_table, make_demo_run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoint', default=None, help='run folder; default: a random-init student in a temp folder')
    p.add_argument('--size', type=int, default=None, help="input size (default: the run's; 160 for the demo student)")
    p.add_argument('--video', default=None, help='clip to use (default: a generated 640x360 H.264 clip)')
    p.add_argument('--frames', type=int, default=256)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--threads', type=int, nargs='+', default=None, help='thread counts to try (default: 1 and all cores)')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--no-quant', action='store_true')
    p.add_argument('--out', default=None, help='write the results JSON here')
    a = p.parse_args(argv)
    ckpt = a.checkpoint or make_demo_run(Path(tempfile.mkdtemp(prefix='jsd-bench-run-')), size=a.size or 160)
    r = benchmark(ckpt, a.video, n_frames=a.frames, batch_size=a.batch_size, size=a.size, threads=a.threads,
                  repeats=a.repeats, quantize=not a.no_quant)
    print(bench_table(r)[['median_ms', 'p95_ms', 'fps', 'x_reference', 'note']].to_string())
    if a.out: write_json(r, a.out); print(f'wrote {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
