"""How fast does the student score video on this machine: each stage alone, end to end, every engine, the reference path?

One run, on the same frames (`jsdlib.speed.benchmark`):
- each stage's own ceiling: decode only (the codec, YUV frames; and with the conversion to full-size RGB), preprocess
  only (from decoded frames in memory: PIL resize as in training, or FFmpeg's scaler), model only (ONNX Runtime);
- end to end through the three-thread pipeline (PIL and scaler paths), and sequential;
- the engines, model only (reference path = torchvision MobileNetV3-Small + head, eager, batch 1; PyTorch eager,
  channels_last, ONNX Runtime with and without graph optimisations, int8 static/dynamic with an accuracy check),
  and the reference path end to end;
- the machine's fp32 matmul peak (torch.mm), against which the model's GFLOP/s is set.
It prints the tables and the verdict lines (ratios, not absolute frames/s) and writes the JSON. A benchmark, not a test:
run it on an idle machine.

    python benchmarks/bench_inference.py --size 224 --frames 256 --out nbs/results/inference_speed.json   # the committed run
    python benchmarks/bench_inference.py --run runs/x/jsd --frames 512 --out bench.json
    jsd benchmark --run RUN_DIR --out bench.json          # the same, from the CLI

Goals (issue 15): end to end >= 80% of decode-only and >= 3x the reference path end to end; model only >= 60% of the
matmul peak. Where one is not met, the stage rows and the core-time ceiling say what limits it.
"""
import argparse, sys, tempfile
from pathlib import Path

import pandas as pd
from jsdlib.core import write_json
from jsdlib.engines import make_demo_run
from jsdlib.speed import benchmark, bench_table, stage_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--run', '--checkpoint', dest='run', default=None,
                   help='run folder; default: a random-init student in a temp folder')
    p.add_argument('--size', type=int, default=None, help="input size (default: the run's; 160 for the demo student)")
    p.add_argument('--video', default=None, help='clip to use (default: a generated 640x360 H.264 clip)')
    p.add_argument('--frames', type=int, default=256)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--threads', type=int, nargs='+', default=None, help='thread counts to try (default: 1 and all cores)')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--no-quant', action='store_true')
    p.add_argument('--out', default=None, help='write the results JSON here')
    a = p.parse_args(argv)
    ckpt = a.run or make_demo_run(Path(tempfile.mkdtemp(prefix='jsd-bench-run-')), size=a.size or 160)
    r = benchmark(ckpt, a.video, n_frames=a.frames, batch_size=a.batch_size, size=a.size, threads=a.threads,
                  repeats=a.repeats, quantize=not a.no_quant)
    pd.set_option('display.width', 200)
    print(bench_table(r)[['median_ms', 'p95_ms', 'fps', 'note']].to_string()); print(stage_table(r).to_string())
    if a.out: write_json(r, a.out); print(f'wrote {a.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
