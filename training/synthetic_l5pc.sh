#!/usr/bin/env bash
# The recipe of surrogate_cell/default_model/l5pc_synthetic.pt (docs/model-card.md), from an empty folder; the
# default before the published cell's, kept for tests and small examples.
# Wall times were measured on 2 CPU cores shared with the other steps running beside them (generation and
# training overlapped); alone, the first data set took 16 s per simulation on 2 workers (26 min in all).
# Every step can be rerun: generate resumes a killed run and skips a finished set; train resumes from its
# checkpoint in --out.
set -euo pipefail
SC=${SC:-surrogate-cell}
REPO=${REPO:-.}   # a clone of this repository (for the previous default's weights)

# every regime of the generator, the network's stationary background among them
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}}' > allregimes.json
# the same, with strong perisomatic (basket-cell) inhibition and AMPA rise times up to 1 ms
echo '{"regimes": {"background": 0.3, "oscillatory": 0.15, "synchronous": 0.15, "strong": 0.1, "silence": 0.1, "network": 0.2}, "perisomatic_inh_gain": [5.0, 60.0], "ampa_tau_rise_ms": [0.05, 1.0]}' > perisomatic.json

# training data: conductance inputs on every segment, kinetics drawn per simulation
$SC generate --seconds 480 --sim-seconds 5 --workers 2 --seed 21 --generator allregimes.json --out train.h5            # 96 simulations, 41.4 min
$SC generate --seconds 120 --sim-seconds 5 --workers 2 --seed 22 --generator perisomatic.json --out perisomatic.h5    # 24 simulations, 9.2 min alone (27.6 min on 1 worker beside training)

# the previous default (summed event weights on dendritic channels) passes on its recurrent core and read-out:
# every weight whose name and shape match (git revision d26beb4)
git -C "$REPO" show d26beb4:surrogate_cell/default_model/l5pc_synthetic.pt > previous.pt

# stage 1: stopped early on validation at 2200 steps, 44.6 min
$SC train --data train.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
    --warm-start previous.pt --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --lr 1.5e-3 \
    --minutes 55 --steps 100000 --threads 2 --out run
# stage 2: with the perisomatic set (the order of --data sets the validation split); stopped early at 900 steps, 9.0 min
$SC train --data train.h5 perisomatic.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
    --init-from run/best.pt --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --lr 7e-4 \
    --minutes 22 --steps 100000 --threads 2 --out run2
cp run2/model.pt l5pc_synthetic.pt

# held-out evaluation: 140 s, every regime, seeds used for nothing else
$SC generate --seconds 120 --sim-seconds 5 --workers 1 --seed 121 --generator allregimes.json --out heldout.h5        # 26.1 min
echo '{"regimes": {"strong": 1.0}}' > strong.json   # the 24 draws above hold no "strong" simulation
$SC generate --seconds 20 --sim-seconds 5 --workers 1 --seed 122 --generator strong.json --out heldout_strong.h5      # 5.6 min
$SC evaluate --model l5pc_synthetic.pt --data heldout.h5 heldout_strong.h5 --lfp --bootstrap 1000 --json > heldout.json

# the model file carries its cell (written after models began to carry their geometry; the weights are unchanged)
python -c "from surrogate_cell.cells import HayCell; from surrogate_cell.training.export import with_geometry; with_geometry('l5pc_synthetic.pt', HayCell().geometry(), 'l5pc_synthetic.pt')"
