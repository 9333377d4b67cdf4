"""Weights into a model: across model versions, and from a run's checkpoint file."""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import SurrogateCellError

# parameters added to the model after files were first exported, which older files lack: their zeros leave
# an older model's outputs unchanged
ADDED_SINCE_V1 = ("soma_fit_w", "soma_fit_slots", "soma_fit_b", "soma_rows", "local.sum_crow", "local.sum_col",
                  "local.sum_val", "local.rsec_crow", "local.rsec_col", "local.rsec_w", "local.exc_rows",
                  "local.inh_rows", "local.own_w")
# structural buffers of older files that the model no longer has (derived from the cell, never learned)
REMOVED_SINCE_V1 = ("local.csr_crow", "local.csr_col", "local.csr_own", "local.csr_sec")


def load_compatible(model: torch.nn.Module, weights: dict) -> None:
    """``model.load_state_dict(weights)``, strict except for :data:`ADDED_SINCE_V1`, taken from ``model``,
    and :data:`REMOVED_SINCE_V1`, dropped."""
    own = model.state_dict()
    weights = {k: v for k, v in weights.items() if k not in REMOVED_SINCE_V1}
    for key in ADDED_SINCE_V1:
        if key in own and key not in weights:
            weights[key] = own[key]
    model.load_state_dict(weights)


def load_matching(model: torch.nn.Module, weights: dict) -> tuple[list, list]:
    """Copy every tensor of ``weights`` whose name and shape ``model`` has (a warm start from a model of another
    input layout or size); returns (names copied, names of ``model`` left as they were)."""
    own = model.state_dict()
    copied = [k for k, v in weights.items() if k in own and tuple(own[k].shape) == tuple(v.shape)]
    with torch.no_grad():
        for k in copied:
            own[k].copy_(weights[k])
    return copied, sorted(set(own) - set(copied))


def run_weights(path, flag: str, what: str = "a run's best.pt or checkpoint.pt") -> dict:
    """The weights in a run's ``best.pt`` / ``checkpoint.pt`` (``flag`` and ``what`` name the option in errors)."""
    path = Path(path)
    if not path.is_file():
        raise SurrogateCellError(f"{flag} {path}: no such file; give {what}")
    try:
        saved = torch.load(path, weights_only=False)
    except Exception as exc:
        raise SurrogateCellError(f"{flag} {path} is not {what} ({type(exc).__name__})") from None
    weights = saved.get("model", saved) if isinstance(saved, dict) else None
    if not isinstance(weights, dict):
        raise SurrogateCellError(f"{flag} {path} holds no weights; give {what}")
    return weights


def read_weights(path, flag: str) -> dict:
    """The weights in an exported model file, or in a run's ``best.pt`` / ``checkpoint.pt``."""
    if Path(path).is_file():
        try:  # an exported model (TorchScript)
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
        except Exception:  # a run's weights (a pickle)
            pass
    return run_weights(path, flag, "a run's best.pt or checkpoint.pt, or an exported model")


def load_weights_file(model: torch.nn.Module, path) -> None:
    """Start from the weights of another run of the same model (fine-tuning)."""
    weights = run_weights(path, "--init-from")
    try:
        load_compatible(model, weights)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[-1].strip()
        raise SurrogateCellError(f"--init-from {path} was trained with another model configuration or data "
                                 f"({first}); give the same model options as that run") from None
