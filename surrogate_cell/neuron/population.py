"""``Population``: surrogate cells for a list of gids, dealt round-robin over MPI ranks."""
from __future__ import annotations

from pathlib import Path

from ..errors import NetworkError
from ..model import SurrogateModel
from .cell import SurrogateCell, check_morphology
from .runner import RunnerConfig, get_runner


class Population:
    """Surrogate cells for ``gids``; this rank builds those with ``gid % nhost == rank``.

    Every rank declares all ``gids`` as surrogate sources, so
    :func:`~surrogate_cell.neuron.gid_connect` shortens the delay of their
    connections on every rank alike.

    Parameters
    ----------
    model : SurrogateModel or str or Path
    gids : iterable of int
        Every gid of the population (all ranks).
    expect_morphology : HayCell, SegmentTable, str or None
        See :class:`SurrogateCell`; checked once.
    config : RunnerConfig or None

    Attributes
    ----------
    gids : list of int
        All gids.
    cells : dict of int to SurrogateCell
        This rank's cells by gid.

    Examples
    --------
    >>> pop = Population(model, range(100))
    >>> for gid, cell in pop.cells.items():
    ...     connect(stims[gid], cell.synapse("dend[3]", 0.5, "exc"), weight=1.0, delay=1.0)
    """

    def __init__(self, model: SurrogateModel | str | Path, gids, *, expect_morphology=None,
                 config: RunnerConfig | None = None):
        runner = get_runner(config)
        if isinstance(model, (str, Path)):
            model = runner.load_model(model)
        if expect_morphology is not None:
            check_morphology(model, expect_morphology)
        self.gids = [int(g) for g in gids]
        if len(set(self.gids)) != len(self.gids):
            raise NetworkError("Population gids must be unique")
        nhost, rank = int(runner.pc.nhost()), int(runner.pc.id())
        runner.declare_surrogate_gids(self.gids)
        self.model = model
        self.cells = {g: SurrogateCell(model, g) for g in self.gids if g % nhost == rank}

    def __len__(self) -> int:
        return len(self.gids)

    def __getitem__(self, gid: int) -> SurrogateCell:
        return self.cells[gid]

    def is_local(self, gid: int) -> bool:
        """Whether ``gid`` lives on this rank."""
        return gid in self.cells
