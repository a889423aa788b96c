#!/usr/bin/env bash
# Regenerates the tables of docs/results.md from the recorded runs of its sweep commands.
# usage: bash docs/results/make_tables.sh <sweeps folder, e.g. results/sweeps>
set -euo pipefail
S=$(cd "${1:?usage: bash docs/results/make_tables.sh <sweeps folder>}" && pwd)
OUT=$(cd "$(dirname "$0")" && pwd)
cd "$OUT/../.."                       # the repository root: scripts run as modules from there
T="python -m scripts.table"
# stag_hunt_small: focal agent's own test return (self-play: mean over the 4 learned agents)
$T "$S"/ppo "$S"/hop_plus "$S"/hop_plus_mixed "$S"/plan_* "$S"/short_* --rows name t_max --cols coplayers --metric 'test_return_role_{name}_mean' --out "$OUT/stag_hunt_small_focal.md"
# stag_hunt_small self-play: test return summed over the 4 agents (maximum 12)
$T "$S"/ppo "$S"/hop_plus "$S"/hop_plus_mixed "$S"/plan_* "$S"/short_* --rows name t_max --cols coplayers --where coplayers=self-play --metric test_return_mean --out "$OUT/stag_hunt_small_selfplay.md"
# hop_plus_wm with the current defaults, 200k env steps: focal return (self-play: mean over the 4 planners)
$T "$S"/wm200_hop_plus_wm "$S"/hop_plus_wm_sp200k "$S"/hop_plus_wm_sp200k_ckpt10k --rows name t_max --cols coplayers --metric 'test_return_role_{name}_mean' --out "$OUT/hop_plus_wm_focal_200k.md"
# MOA top-1 accuracy on the co-players' alive steps (training episodes, last 3 logs): the current
# MOA defaults (hop_plus_moa) and the earlier ones of the hop_plus runs (2 full-batch epochs, lr 0.001)
$T "$S"/hop_plus_moa --rows name moa_lr moa_minibatches --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1.md"
$T "$S"/hop_plus --rows name --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1_before.md"
# few-shot adaptation: focal return over the first 16 adaptation episodes
$T "$S"/adapt_* --rows name env_config --cols coplayers --metric adapt_focal_return_first_k --out "$OUT/adaptation_first16.md"
# few-shot adaptation among 3 frozen PPO policies (trained with 3 NS, seed 0)
$T "$S"/adaptckpt_* --rows name --cols coplayers --metric adapt_focal_return_first_k --out "$OUT/adaptation_frozen_ppo.md"
# other envs, self-play (sum over agents)
$T "$S"/envs_* --rows name t_max --cols env_config --metric test_return_mean --out "$OUT/selfplay_other_envs.md"
# subgoal discriminability probe: untrained vs self-play-trained OMG_AM posterior, then trained among [NS, NH, RAND]
for probe in probe probe_mixed; do
  for metric in probe_accuracy probe_chance; do
    $T "$S"/$probe --rows from_checkpoint --metric $metric --out "$OUT/${probe}_${metric}.md"
  done
done
# MOA with 4 epochs per rollout against 3 NH
$T "$S"/hop_plus_moa4 --rows name moa_epochs --cols coplayers --metric moa_top1 --last 3 --digits 3 --out "$OUT/moa_top1_epochs4.md"
