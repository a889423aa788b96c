#!/usr/bin/env bash
# Regenerates the README's results tables from the recorded runs (see README "Results").
# usage: bash docs/results/make_tables.sh <sweeps folder, e.g. results/sweeps>
set -euo pipefail
S=${1:?usage: bash docs/results/make_tables.sh <sweeps folder>}
OUT=$(dirname "$0")
T="python $(dirname "$0")/../../scripts/table.py"
# stag_hunt_small: focal agent's own test return (self-play: mean over the 4 learned agents)
$T "$S"/i6_ppo "$S"/i6_hop_plus "$S"/i6_hop_plus_mixed "$S"/i7_* "$S"/i8_* --rows name t_max --cols coplayers --metric 'test_return_role_{name}_mean' --out "$OUT/stag_hunt_small_focal.md"
# stag_hunt_small self-play: test return summed over the 4 agents (maximum 12)
$T "$S"/i6_ppo "$S"/i6_hop_plus "$S"/i6_hop_plus_mixed "$S"/i7_* "$S"/i8_* --rows name t_max --cols coplayers --where coplayers=self-play --metric test_return_mean --out "$OUT/stag_hunt_small_selfplay.md"
# MOA top-1 accuracy on the co-players' alive steps (training episodes, last 3 logs): the current
# MOA defaults (i6_moa) and the earlier ones of the i6_hop_plus runs (2 full-batch epochs, lr 0.001)
$T "$S"/i6_moa --rows name moa_lr moa_minibatches --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1.md"
$T "$S"/i6_hop_plus --rows name --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1_before.md"
# few-shot adaptation: focal return over the first 16 adaptation episodes
$T "$S"/adapt_* "$S"/adapt9_* --rows name env_config --cols coplayers --metric adapt_focal_return_first_k --out "$OUT/adaptation_first16.md"
# few-shot adaptation among 3 frozen PPO policies (trained with 3 NS, seed 0)
$T "$S"/adaptckpt_* --rows name --cols coplayers --metric adapt_focal_return_first_k --out "$OUT/adaptation_frozen_ppo.md"
# other envs, self-play (sum over agents)
$T "$S"/i9_* --rows name t_max --cols env_config --metric test_return_mean --out "$OUT/selfplay_other_envs.md"
# subgoal discriminability probe: untrained vs self-play-trained OMG_AM posterior, then trained among [NS, NH, RAND]
for probe in probe6 probe6_mixed; do
  for metric in probe_accuracy probe_chance; do
    $T "$S"/$probe --rows from_checkpoint --metric $metric --out "$OUT/${probe}_${metric}.md"
  done
done
# MOA with 4 epochs per rollout against 3 NH
$T "$S"/i6_hop_plus_moa4 --rows name moa_epochs --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1_epochs4.md"
