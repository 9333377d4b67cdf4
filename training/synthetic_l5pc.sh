#!/usr/bin/env bash
# The recipe of surrogate_cell/default_model/l5pc_synthetic.pt (docs/model-card.md), from an empty folder.
# Wall times are those measured on 2 CPU cores. Every step can be rerun: generate resumes a killed run and
# skips a finished set; train resumes from its checkpoint in --out.
set -euo pipefail
SC=${SC:-surrogate-cell}

$SC generate --seconds 120 --sim-seconds 5 --workers 2 --seed 1 --out train.h5      # 24 simulations, 18.0 min
$SC generate --seconds 280 --sim-seconds 5 --workers 2 --seed 3 --out more.h5       # 56 simulations, 38.8 min
$SC generate --seconds 200 --sim-seconds 5 --workers 2 --seed 4 --out more2.h5      # 40 simulations, 31.5 min
echo '{"regimes": {"network": 1.0}}' > network.json
$SC generate --seconds 80 --sim-seconds 5 --workers 2 --seed 8 --generator network.json --out net.h5   # 10.6 min
$SC generate --seconds 20 --sim-seconds 5 --workers 2 --seed 9 --generator network.json --out net2.h5  # 2.8 min

# step 1: 2200 steps, best at 2000, 40 min
$SC train --data train.h5 more.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
    --minutes 40 --steps 100000 --threads 1 --out run
# step 2: the soma weighted; 1200 steps, best at 600, 19 min
$SC train --data train.h5 more.h5 --init-from run/best.pt --soma-loss-weight 1 --lr 1.5e-3 \
    --minutes 40 --steps 100000 --threads 2 --out run_ft
# step 3: all 600 s of the default regimes; 2000 steps, best at 1400, 33 min
$SC train --data train.h5 more.h5 more2.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
    --init-from run_ft/best.pt --soma-loss-weight 1 --lr 1e-3 --minutes 42 --steps 100000 --threads 2 --out run_600
# step 4: with the network regime; 1400 steps, best at 800, 19 min (the order of --data sets the validation split)
$SC train --data train.h5 more.h5 net.h5 more2.h5 net2.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 \
    --tower-hidden 0 --init-from run_600/best.pt --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --lr 7e-4 \
    --minutes 36 --steps 100000 --threads 2 --out run_net
# the least-squares soma read-out, 2 min
$SC fit-soma --model run_net/model.pt --data train.h5 more.h5 net.h5 more2.h5 net2.h5 --out l5pc_synthetic.pt

# held-out evaluation: 120 s of every regime, a seed used for nothing else; 9.5 min of data
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}}' > allregimes.json
$SC generate --seconds 120 --sim-seconds 5 --workers 2 --seed 101 --generator allregimes.json --out heldout120.h5
$SC evaluate --model l5pc_synthetic.pt --data heldout120.h5 --lfp --json > heldout120.json
