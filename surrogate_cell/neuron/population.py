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

    def record_lfp(self, electrodes, placements, **kwargs):
        """Record the LFP of this population every 1 ms; see :meth:`SurrogateRunner.record_lfp`.

        Parameters
        ----------
        electrodes : surrogate_cell.lfp.ElectrodeConfig
        placements : mapping or callable
            ``{gid: Placement or (x, y, z) µm}`` for every gid of the
            population (the same on every rank), or a function ``gid ->
            Placement``. A gid of the population without a placement is an
            error.
        **kwargs
            ``morphology``, ``dtype``, ``method`` of ``record_lfp``.

        Returns
        -------
        surrogate_cell.lfp.LFPRecorder
            ``.lfp()`` sums over ranks (collective: call it on every rank).

        Examples
        --------
        >>> probe = laminar_probe(x_um=0.0, z_um=0.0, y_um=np.arange(-200.0, 1201.0, 100.0))
        >>> rec = pop.record_lfp(probe, {g: (30.0 * g, 0.0, 0.0) for g in pop.gids})
        >>> h.finitialize(-65); pc.psolve(100)
        >>> rec.lfp()          # (15, 101) mV at rec.t = 0, 1, ..., 100 ms
        """
        if callable(placements) and not isinstance(placements, dict):
            placements = {g: placements(g) for g in self.gids}
        missing = [g for g in self.gids if g not in placements]
        if missing:
            raise NetworkError(f"no placement for gid(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} of "
                               "the population; place every cell (or use get_runner().record_lfp for a subset)")
        mine = {g: placements[g] for g in self.cells}
        return get_runner().record_lfp(electrodes, {self.cells[g]: p for g, p in mine.items()}, **kwargs)
