#!/bin/bash
# Throughput (samples/s) grows with batch size and threads, with diminishing returns;
# latency (ms) grows with the batch and falls with threads until their overhead wins.
# Batch 16 runs out of memory.
bs=${TOY_BATCH_SIZE}
th=${TOY_THREADS}
if [ "$bs" -ge 16 ]; then echo "toy-bench: out of memory at batch size $bs" >&2; exit 1; fi
echo "TOY_THROUGHPUT=$(( bs * th * 1000 / (bs + th + 2) ))" > tmp-run-env.out
echo "TOY_LATENCY_MS=$(( bs * 40 / th + th * th * 6 + 5 ))" >> tmp-run-env.out
