#!/usr/bin/env bash
# The recipe of surrogate_cell/default_model/l5pc_hay2011.pt (docs/model-card.md), from an empty folder: the
# published Hay et al. 2011 L5PC (L5PCbiophys3 on cell1.asc, the project's HayCell), conductance inputs.
# Wall times were measured on 2 CPU cores; the column example's detailed run shared the cores with the
# first data set, and the held-out sets with the training. Every step can be rerun: generate resumes a
# killed run and skips a finished set; train resumes from its checkpoint in --out.
set -euo pipefail
SC=${SC:-surrogate-cell}
REPO=${REPO:-.}      # a clone of this repository (for the synthetic model's weights)
ASC=${ASC:?give ASC=/path/to/cell1.asc (ModelDB 139653)}

# the time step: dt 0.05 ms does not agree with a 0.0125 ms reference as well as 0.025 ms does on this cell
# (F1 at 2 ms 0.81 against 0.89; docs/dataset.md), so the data keep the default 0.025 ms. 5.5 min.
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}}' > allregimes.json
$SC bench dt --morphology "$ASC" --sims 4 --sim-seconds 5 --seed 900 --generator allregimes.json --json > dtcheck.json

# training data: every regime, and the same with strong perisomatic (basket-cell) inhibition
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}, "perisomatic_inh_gain": [5.0, 60.0], "ampa_tau_rise_ms": [0.05, 1.0]}' > perisomatic.json
$SC generate --morphology "$ASC" --seconds 400 --sim-seconds 5 --workers 2 --seed 41 --generator allregimes.json --out train.h5              # TIME_TRAIN
$SC generate --morphology "$ASC" --seconds 80 --sim-seconds 5 --workers 2 --seed 42 --generator perisomatic.json --out perisomatic.h5     # TIME_PERI

# the synthetic model passes on its recurrent core and spike mechanism (every weight whose name and shape match)
cp "$REPO/surrogate_cell/default_model/l5pc_synthetic.pt" previous.pt

# two arms, run side by side with one thread each, that differ only in the LFP tasks' weight; TIME_TRAINING
common="--data train.h5 perisomatic.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
  --warm-start previous.pt --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --lr 1.5e-3 \
  --minutes 52 --steps 100000 --threads 1"
$SC train $common --lfp-loss-weight 1 --out run_lfp &
$SC train $common --lfp-loss-weight 0 --out run_v &
wait
cp SHIPPED_RUN/model.pt l5pc_hay2011.pt

# held-out evaluation: 140 s, every regime, seeds used for nothing else
$SC generate --morphology "$ASC" --seconds 120 --sim-seconds 5 --workers 2 --seed 141 --generator allregimes.json --out heldout.h5       # TIME_HELDOUT
echo '{"regimes": {"strong": 1.0}}' > strong.json
$SC generate --morphology "$ASC" --seconds 20 --sim-seconds 5 --workers 2 --seed 142 --generator strong.json --out heldout_strong.h5     # TIME_STRONG
for run in run_lfp run_v; do
    $SC evaluate --model $run/model.pt --data heldout.h5 heldout_strong.h5 --lfp --bootstrap 1000 --json > $run.heldout.json
done
