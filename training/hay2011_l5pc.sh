#!/usr/bin/env bash
# The recipe of surrogate_cell/default_model/l5pc_hay2011.pt (docs/model-card.md), from an empty folder: the
# published Hay et al. 2011 L5PC (L5PCbiophys3 on cell1.asc, the project's HayCell), conductance inputs.
# Wall times were measured on 2 CPU cores; the column example's detailed run shared the cores with the
# first data set, and the held-out sets with the training. 72 min of training data, 52 min of training (wall time, the arms side by side). Every step can be rerun: generate resumes a
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
$SC generate --morphology "$ASC" --seconds 400 --sim-seconds 5 --workers 2 --seed 41 --generator allregimes.json --out train.h5              # 80 simulations, 32.2 min (14 min of it beside another job)
$SC generate --morphology "$ASC" --seconds 80 --sim-seconds 5 --workers 2 --seed 42 --generator perisomatic.json --out perisomatic.h5     # 16 simulations, 5.8 min

# the synthetic model passes on its recurrent core and spike mechanism (every weight whose name and shape match)
cp "$REPO/surrogate_cell/default_model/l5pc_synthetic.pt" previous.pt

# two arms, run side by side with one thread each, that differ only in the LFP tasks' weight (a first try at
# weight 1 was stopped after 400 steps: validation voltage loss 0.85 against 0.36)
common="--data train.h5 perisomatic.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
  --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --steps 100000 --threads 1"
$SC train $common --warm-start previous.pt --lr 1.5e-3 --minutes 44 --lfp-loss-weight 0.2 --out run_lfp02 &   # 2500 steps, 26.4 min, stopped early
$SC train $common --warm-start previous.pt --lr 1.5e-3 --minutes 52 --lfp-loss-weight 0 --out run_v &         # 1200 steps, 20.4 min, stopped early
wait
$SC train $common --init-from run_v/best.pt --lr 5e-4 --minutes 15 --lfp-loss-weight 0 --out run_v2            # 12.7 min, stopped early

# the choice, on the validation simulations of the training data (never on held-out data), by a rule fixed
# before they were evaluated: keep the LFP arm unless its mean LFP r is lower, its count r lower by more than
# 0.05 or its soma error higher by more than 0.3 mV. 18 s; it kept run_lfp02.
python - <<'PY'
import json
import numpy as np
from surrogate_cell.data import Dataset, DatasetUnion
from surrogate_cell.model import load
from surrogate_cell.training.evaluate import evaluate, lfp_fidelity, public_figures
data = DatasetUnion([Dataset("train.h5"), Dataset("perisomatic.h5")])
fig = {}
for arm in ("run_lfp02", "run_v2"):
    model = load(f"{arm}/model.pt")
    res = evaluate(model, data, sims=model.metadata["val_sims"], n_boot=0)
    fig[arm] = {**public_figures(res), **lfp_fidelity(res, data.segments, morphology=model.geometry)}
a, b = fig["run_lfp02"], fig["run_v2"]
keep = not (np.mean(a["lfp_r_per_contact"]) < np.mean(b["lfp_r_per_contact"])
            or a["spike_count_r_100ms"] < b["spike_count_r_100ms"] - 0.05
            or a["soma_subthreshold_rmse_mv"] > b["soma_subthreshold_rmse_mv"] + 0.3)
json.dump({"figures": fig, "shipped": "run_lfp02" if keep else "run_v2"}, open("choose.json", "w"), indent=1)
PY

# stage 3: 400 s more of every regime, and the kept arm's best weights trained on all 880 s (two threads)
$SC generate --morphology "$ASC" --seconds 400 --sim-seconds 5 --workers 2 --seed 43 --generator allregimes.json --out more.h5                # 80 simulations, 33.8 min (part of it beside the test suite)
arm="$(python -c "import json; print(json.load(open('choose.json'))['shipped'])")"
$SC train --data train.h5 perisomatic.h5 more.h5 --arch mh --groups 8 --hidden 128 --expert-dim 32 --tower-hidden 0 \
  --soma-loss-weight 1 --soma-subthreshold-loss-weight 1 --steps 100000 --threads 2 --init-from "$arm/best.pt" \
  --lr 7e-4 --minutes 35 --lfp-loss-weight 0.2 --out run_more                                                     # 1600 steps, 12.9 min, stopped early

# the choice, on stage 3's validation simulations (the last 26 of more.h5, which neither model trained on), by a
# rule fixed before they were evaluated: ship stage 3 if its soma error is not higher, its count r not lower by
# more than 0.02 and its mean LFP r not lower by more than 0.02. 32 s; it shipped run_more.
ARM="$arm" python - <<'PY'
import json
import os
import numpy as np
from surrogate_cell.data import Dataset, DatasetUnion
from surrogate_cell.model import load
from surrogate_cell.training.evaluate import evaluate, lfp_fidelity, public_figures
data = DatasetUnion([Dataset("train.h5"), Dataset("perisomatic.h5"), Dataset("more.h5")])
val = load("run_more/model.pt").metadata["val_sims"]
fig = {}
for arm in (os.environ["ARM"], "run_more"):
    model = load(f"{arm}/model.pt")
    res = evaluate(model, data, sims=val, n_boot=0)
    fig[arm] = {**public_figures(res), **lfp_fidelity(res, data.segments, morphology=model.geometry)}
a, b = fig["run_more"], fig[os.environ["ARM"]]
keep = (a["soma_subthreshold_rmse_mv"] <= b["soma_subthreshold_rmse_mv"]
        and a["spike_count_r_100ms"] >= b["spike_count_r_100ms"] - 0.02
        and np.mean(a["lfp_r_per_contact"]) >= np.mean(b["lfp_r_per_contact"]) - 0.02)
json.dump({"figures": fig, "shipped": "run_more" if keep else os.environ["ARM"]}, open("choose_more.json", "w"), indent=1)
PY
cp "$(python -c "import json; print(json.load(open('choose_more.json'))['shipped'])")/model.pt" l5pc_hay2011.pt

# held-out evaluation: 140 s, every regime, seeds used for nothing else
$SC generate --morphology "$ASC" --seconds 120 --sim-seconds 5 --workers 2 --seed 141 --generator allregimes.json --out heldout.h5       # 17.1 min beside the training
echo '{"regimes": {"strong": 1.0}}' > strong.json
$SC generate --morphology "$ASC" --seconds 20 --sim-seconds 5 --workers 2 --seed 142 --generator strong.json --out heldout_strong.h5     # 3.7 min beside the training
for run in run_more run_lfp02 run_v2; do                                              # 16-20 s each
    $SC evaluate --model $run/model.pt --data heldout.h5 heldout_strong.h5 --lfp --bootstrap 1000 --json > $run.heldout.json
done

# the learning curve of the model card (data seconds against held-out figures, 3 min of training per point); 30 min
$SC learning-curve --data train.h5 perisomatic.h5 --heldout heldout.h5 --seconds 60,120,240,480 --minutes 3 --threads 2 --out curve
