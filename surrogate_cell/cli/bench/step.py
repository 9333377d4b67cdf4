"""``surrogate-cell bench step``: ms per model step at several batch sizes, against the
paper's published configuration measured in the same run."""
from __future__ import annotations

import json

from ...model import load
from .network import parse_cell_sizes

EXAMPLES = """
examples:
  surrogate-cell bench step --json                         # the shipped model
  surrogate-cell bench step --model run/model.pt --batches 1,100,1000
"""


def register_bench(sub, formatter) -> None:
    p = sub.add_parser("step", help="model step cost (ms) at batch 1/100/1000 vs the paper's configuration",
                       description=__doc__ + EXAMPLES, formatter_class=formatter)
    p.add_argument("--model", metavar="FILE.pt", help="exported surrogate (default: the shipped model)")
    p.add_argument("--batches", default="1,100,1000", help="comma-separated batch sizes")
    p.add_argument("--paper-batch", type=int, default=10,
                   help="batch at which the paper's configuration is timed (scaled linearly to each size)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import torch  # heavy (torch): only when a model runs

    from ...training.compare import step_cost_ms  # heavy (torch): only when training code runs
    from ...training.model import count_parameters  # heavy (torch): only when training code runs
    from ...training.reference import PaperTCN  # heavy (torch): only when training code runs


    if args.threads:
        torch.set_num_threads(args.threads)
    batches = parse_cell_sizes(args.batches)
    model = load(args.model)
    C, N = model.n_channels, model.n_segments

    states: dict = {}

    @torch.inference_mode()
    def ours(b):
        # the steady state of a network: the state carried from step to step, the grouped input the runner feeds
        if b not in states:
            states[b] = (torch.zeros(b, model.module.input_projection().shape[1]), model.init_state(b))
        z, state = states[b]
        states[b] = (z, model.module.step_projected(z, state)[2])

    paper = PaperTCN(C, N).eval()

    @torch.no_grad()
    def theirs(b):
        paper(torch.zeros(b, 100, C), torch.zeros(b, 100, N))

    paper_ms = step_cost_ms(theirs, args.paper_batch, repeats=max(1, args.repeats // 2))
    rows = []
    for b in batches:
        ms = step_cost_ms(ours, b, repeats=args.repeats)
        paper_b = paper_ms * b / args.paper_batch
        rows.append({"batch": b, "ms_per_step": ms, "paper_ms_per_step": paper_b, "ratio_paper_over_ours": paper_b / ms})
    result = {"model": model.path, "arch": model.metadata.get("arch"), "threads": torch.get_num_threads(),
              "paper_parameters": count_parameters(paper),
              "paper_measured_at_batch": args.paper_batch, "rows": rows,
              "note": "ours: steady state, the state carried from step to step and the grouped input "
                      "as the runner feeds it; the paper's configuration recomputes its 100 ms window every "
                      f"step, timed at batch {args.paper_batch} and scaled linearly"}
    if args.json:
        print(json.dumps(result))
    else:
        for r in rows:
            print(f"batch {r['batch']:5d}: {r['ms_per_step']:8.3f} ms/step   paper config {r['paper_ms_per_step']:10.1f} "
                  f"ms/step   ratio {r['ratio_paper_over_ours']:.0f}x")
        print(result["note"])
    return 0
