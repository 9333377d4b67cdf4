#!/usr/bin/env bash
# The recipe of surrogate_cell/default_model/l5pc_synthetic.pt (docs/model-card.md), from an empty folder.
# Wall times are those measured on 2 CPU cores (shared with other jobs while measured). Every step can be rerun:
# generate resumes a killed run and skips a finished set; train resumes from its checkpoint in --out.
set -euo pipefail
SC=${SC:-surrogate-cell}

# every regime of the generator, the network's stationary background among them
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}}' > allregimes.json

# training data: conductance inputs on every segment, kinetics drawn per simulation; 96 simulations, 41.4 min
$SC generate --seconds 480 --sim-seconds 5 --workers 2 --seed 21 --generator allregimes.json --out train.h5

# the previous default (summed event weights on dendritic channels) passes on its recurrent core and read-out:
# every weight whose name and shape match (git revision d26beb4 of this repository)
git -C "${REPO:-.}" show d26beb4:surrogate_cell/default_model/l5pc_synthetic.pt > previous.pt

# training: TRAIN_MINUTES_PLACEHOLDER
$SC train --data train.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
    --warm-start previous.pt --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --lr 1.5e-3 \
    --minutes 55 --steps 100000 --threads 2 --out run
cp run/model.pt l5pc_synthetic.pt

# held-out evaluation: 120 s of every regime, a seed used for nothing else; HELDOUT_PLACEHOLDER
$SC generate --seconds 120 --sim-seconds 5 --workers 1 --seed 121 --generator allregimes.json --out heldout.h5
$SC evaluate --model l5pc_synthetic.pt --data heldout.h5 --lfp --bootstrap 1000 --json > heldout.json
