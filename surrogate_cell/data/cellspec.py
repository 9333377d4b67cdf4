"""Which detailed cell to simulate, and its input channels.

Two kinds of cell are supported:

* ``hay``: the project's :class:`~surrogate_cell.cells.HayCell` on a morphology
  file or on the synthetic default.
* ``template``: a user's own NEURON cell, a hoc template with its mod folder
  and an optional morphology file passed to the template's constructor, e.g.
  the published Hay files (``L5PCtemplate(morphology_file)``). The template
  must expose the section lists ``somatic``, ``basal``, ``apical``,
  ``axonal`` and ``all``.

Synapse placement is the same for both: at the centre of every segment (soma
and axon included) one synapse of each receptor class, AMPA (``Exp2Syn``),
NMDA (``sc_NMDA``, Mg-blocked), GABA_A and GABA_B (``Exp2Syn``). With ``S``
segments, input channel ``r · S + s`` is receptor class ``r``
(:data:`~surrogate_cell.synapses.RECEPTORS` order) on segment-table row ``s``.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .._native import captured_native_output
from ..cells import HayCell
from ..cells.hay import HayBiophysics
from ..cells.morphology import READERS, SyntheticL5PCParams
from ..cells.segments import SegmentTable, section_name, segment_table
from ..errors import DataError, MorphologyError
from ..mechanisms import (build_mechanisms, build_mod_dir, dir_mod_files, load_mechanisms, load_mod_dir,
                          mechanism_names, mod_files, source_hash)
from ..synapses import RECEPTORS, REVERSAL_MV
from .format import canonical_json
from .inputs import SiteLayout

#: Segment-table regions that carry synapses.
#: Regions of the apical tree (for the generator's per-tree rates).
APICAL_REGIONS = ("oblique", "trunk", "tuft")
#: Section lists a template cell must expose.
TEMPLATE_LISTS = ("somatic", "basal", "apical", "axonal", "all")


def file_sha256(path: str | Path) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ChannelTable:
    """The input channels of a cell.

    Attributes
    ----------
    segment : ndarray of int64, shape (n_channels,)
        Row of the channel's segment in the segment table.
    kind : ndarray of str, shape (n_channels,)
        The receptor class: ``'ampa'``, ``'nmda'``, ``'gaba_a'`` or ``'gaba_b'``.
    reversal_mV : ndarray of float64, shape (n_channels,)
        The synapse's reversal potential (mV).
    """

    segment: np.ndarray
    kind: np.ndarray
    reversal_mV: np.ndarray

    def __len__(self) -> int:
        return len(self.segment)

    def to_dict(self) -> dict:
        """Plain arrays (kinds as bytes), the layout of ``/channels`` in the data set."""
        return {"segment": self.segment.astype(np.int64), "kind": self.kind.astype("S6"),
                "reversal_mV": self.reversal_mV.astype(np.float64)}

    @classmethod
    def from_dict(cls, d) -> "ChannelTable":
        kind = np.asarray(d["kind"])
        return cls(segment=np.asarray(d["segment"], dtype=np.int64),
                   kind=kind.astype("U6") if kind.dtype.kind == "S" else kind,
                   reversal_mV=np.asarray(d["reversal_mV"], dtype=np.float64))


def table_digest(segments: SegmentTable) -> str:
    """The cell's identity: :meth:`SegmentTable.digest` (also what models record as ``cell_digest``)."""
    return segments.digest()


def _used_mod_files(hay: bool) -> list[Path]:
    """The shipped ``.mod`` files a cell of this kind uses: the synapses, and for the
    Hay cell its channels (so that an unrelated new mechanism changes nothing)."""
    names = {"sc_NMDA"}
    if hay:
        b = asdict(HayBiophysics())
        names |= set(b["soma"]) | set(b["apical"]) | {"sc_Ih", "sc_Ca_LVAst", "sc_Ca_HVA", "sc_CaDynamics_E2"}
    used = [f for f in mod_files() if set(mechanism_names([f])) & names]
    missing = names - set(mechanism_names(used))
    if missing:
        raise DataError(f"the installed package lacks the mechanism(s) {sorted(missing)}")
    return used


@dataclass(frozen=True)
class CellSpec:
    """The detailed cell to simulate.

    Parameters
    ----------
    morphology : str or None
        Morphology file (``.asc``/``.swc`` for the Hay cell; for a template,
        the file passed to its constructor). None: the synthetic default
        (Hay cell) or a template constructed without arguments.
    template : str, tuple of str, or None
        The hoc file that defines the cell template, or several hoc files
        loaded in the order given, the one that defines the template last
        (the published Hay model: ``("L5PCbiophys3.hoc", "L5PCtemplate.hoc")``).
        None: the project's Hay cell.
    template_name : str or None
        The template's name (``L5PCtemplate``); required with ``template``.
    mod_dir : str or None
        Folder of the template's ``.mod`` files, compiled with nrnivmodl into
        the cache (optional where the template needs only built-in mechanisms).
    """

    morphology: str | None = None
    template: str | tuple | None = None
    template_name: str | None = None
    mod_dir: str | None = None

    def __post_init__(self):
        if isinstance(self.template, (list, tuple)):  # one file stays a str: its identity is unchanged
            files = tuple(str(t) for t in self.template)
            object.__setattr__(self, "template", files[0] if len(files) == 1 else files)

    @property
    def kind(self) -> str:
        return "template" if self.template is not None else "hay"

    @property
    def template_files(self) -> tuple:
        """The hoc files to load, in order (empty for the Hay cell)."""
        if self.template is None:
            return ()
        return (self.template,) if isinstance(self.template, str) else tuple(self.template)

    def validate(self) -> None:
        """Check the files before any NEURON work: one clear error per problem."""
        if self.template is None and (self.template_name is not None or self.mod_dir is not None):
            raise DataError("--template-name and --mod-dir need --template FILE.hoc")
        if self.morphology is not None:
            path = Path(self.morphology)
            if not path.is_file():
                raise MorphologyError(f"morphology file not found: {path}; give the path of a .asc or .swc file")
            if self.kind == "hay" and path.suffix.lower() not in READERS:
                raise MorphologyError(f"unknown morphology format '{path.suffix}' for {path}; "
                                      "use Neurolucida .asc or SWC .swc")
        if self.template is not None:
            if not self.template_files:
                raise DataError("--template needs at least one hoc file")
            for path in self.template_files:
                if not Path(path).is_file():
                    raise DataError(f"template file not found: {path}; give the hoc files that define the cell")
            if not self.template_name:
                raise DataError("--template needs --template-name NAME (the name after 'begintemplate')")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.template_name):
                raise DataError(f"template name '{self.template_name}' is not a hoc identifier")
            if self.mod_dir is not None:
                dir_mod_files(self.mod_dir)

    def identity(self) -> dict:
        """What defines the cell's data, by content (file hashes), not by path."""
        hay = self.kind == "hay"
        return {
            "kind": self.kind,
            "morphology_sha256": file_sha256(self.morphology) if self.morphology else None,
            "template_sha256": (None if self.template is None else file_sha256(self.template)
                                if isinstance(self.template, str) else [file_sha256(t) for t in self.template]),
            "template_name": self.template_name,
            "mod_dir_hash": source_hash(dir_mod_files(self.mod_dir)) if self.mod_dir else None,
            # the project's own parts: the synapses (and the Hay channels), biophysics, synthetic geometry
            "mechanisms_hash": source_hash(_used_mod_files(hay)),
            "biophysics": json.loads(canonical_json(asdict(HayBiophysics()))) if hay else None,
            "synthetic": (json.loads(canonical_json(asdict(SyntheticL5PCParams())))
                          if hay and not self.morphology else None),
        }

    def describe(self) -> dict:
        """Names and absolute paths, for the data set's ``cell`` attribute."""
        absolute = lambda p: str(Path(p).resolve()) if p else None  # noqa: E731
        return {
            "kind": self.kind,
            "morphology": Path(self.morphology).name if self.morphology else "synthetic",
            "morphology_path": absolute(self.morphology),
            "template": (absolute(self.template) if not isinstance(self.template, tuple)
                         else [absolute(t) for t in self.template]),
            "template_name": self.template_name,
            "mod_dir": absolute(self.mod_dir),
        }

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def compile(self) -> None:
        """Compile every mechanism library the cell needs (no NEURON loading).

        Call before MPI starts or worker processes are spawned.
        """
        build_mechanisms()
        if self.mod_dir is not None:
            build_mod_dir(self.mod_dir)

    def build(self) -> "DetailedCell":
        """Instantiate the cell in this process's NEURON."""
        self.validate()
        from neuron import h  # NEURON: only where a simulation is built

        load_mechanisms()  # the synapses (sc_AMPANMDA, sc_GABAA)
        if self.kind == "hay":
            return DetailedCell(HayCell(self.morphology))
        if self.mod_dir is not None:
            load_mod_dir(self.mod_dir)
        return DetailedCell(TemplateCell(h, self.template, self.template_name, self.morphology))


def load_hoc_file(h, path) -> None:
    """``h.load_file(path)``; a hoc error becomes one :class:`DataError` line that quotes NEURON's message.

    Raises
    ------
    DataError
        The file does not parse or fails while it runs, for instance because
        it uses a template of another hoc file that was not loaded before it.
    """
    with captured_native_output() as text:
        try:
            ok = bool(h.load_file(str(Path(path).resolve())))
        except RuntimeError:
            ok = False
    if not ok:
        raise DataError(f"NEURON could not load {path}: {hoc_error_summary(text[0])}; fix the file, or load the "
                        "hoc files it needs before it (--template A.hoc B.hoc, in order)")


def hoc_error_summary(text: str) -> str:
    """NEURON's hoc error message and its place (``file near line N``), on one line, from its printed text."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    said = [ln for ln in lines if ln.startswith("NEURON:") and "hoc_Load_file" not in ln][:1]
    where = [ln for ln in lines if ln.startswith("in ") and "near line" in ln][:1]
    return " ".join(said + where).replace("NEURON: ", "") or "hoc error"


class TemplateCell:
    """A user's hoc template cell, seen through the :class:`HayCell` interface
    that :func:`~surrogate_cell.cells.segments.segment_table` reads."""

    def __init__(self, h, template, name: str, morphology: str | None):
        h.load_file("stdlib.hoc")
        h.load_file("import3d.hoc")
        files = (template,) if isinstance(template, (str, Path)) else tuple(template)
        if not hasattr(h, name):
            for path in files:
                load_hoc_file(h, path)
            if not hasattr(h, name):
                raise DataError(f"{', '.join(map(str, files))} define(s) no template called '{name}'; "
                                "check --template-name against its 'begintemplate' line")
        self.h = h
        self.morphology = str(morphology) if morphology else "template"

        failed = False
        with captured_native_output() as text:
            try:
                cls = getattr(h, name)
                self.host = cls(str(Path(morphology).resolve())) if morphology else cls()
            except RuntimeError:
                failed = True
        if failed:
            raise DataError(f"NEURON could not instantiate {name} from {', '.join(map(str, files))}: "
                            f"{hoc_error_summary(text[0])}")
        missing = [n for n in TEMPLATE_LISTS if not hasattr(self.host, n)]
        if missing:
            raise DataError(f"template {name} lacks the section list(s) {missing}; "
                            f"it must expose {list(TEMPLATE_LISTS)}")
        if not list(self.host.somatic) or not list(self.host.apical):
            raise DataError(f"template {name} needs a non-empty 'somatic' and 'apical' list")
        h.define_shape()  # sections built from L/diam alone get 3-D points for the segment table
        self.segments = segment_table(self)

    soma = property(lambda self: list(self.host.somatic))
    dend = property(lambda self: list(self.host.basal))
    apic = property(lambda self: list(self.host.apical))
    axon = property(lambda self: list(self.host.axonal))
    all = property(lambda self: self.host.all)
    somatic = property(lambda self: self.host.somatic)
    basal = property(lambda self: self.host.basal)
    apical = property(lambda self: self.host.apical)
    axonal = property(lambda self: self.host.axonal)


class DetailedCell:
    """A built cell: its segment table, segments and input channels.

    Attributes
    ----------
    cell : HayCell or TemplateCell
    h : hoc interpreter
    segments : SegmentTable
    seg_refs : list of nrn.Segment
        One per segment-table row, in row order.
    soma_seg : nrn.Segment
        ``soma(0.5)``, where somatic spikes are detected.
    channels : ChannelTable
    digest : str
        :func:`table_digest` of the segment table.
    """

    def __init__(self, cell):
        self.cell = cell
        self.h = cell.h
        self.segments: SegmentTable = cell.segments
        self.seg_refs = [seg for seclist in (cell.somatic, cell.basal, cell.apical, cell.axonal)
                         for sec in seclist for seg in sec]
        names = np.array([section_name(seg.sec) for seg in self.seg_refs])
        xs = np.array([seg.x for seg in self.seg_refs])
        if len(names) != len(self.segments) or not (np.array_equal(names, self.segments.section)
                                                   and np.allclose(xs, self.segments.x)):
            raise DataError("the cell's segments do not match its segment table (sections in several lists?)")
        self.soma_seg = cell.soma[0](0.5)
        self.channels = input_channels(len(self.segments))
        self.digest = table_digest(self.segments)

    def layout(self):
        """The generator's view of the synapse sites (:func:`site_layout`)."""
        return site_layout(self.segments)


def input_channels(n_segments: int) -> ChannelTable:
    """The model's input channels: every receptor class on every segment, receptor-major."""
    S = int(n_segments)
    return ChannelTable(segment=np.tile(np.arange(S, dtype=np.int64), len(RECEPTORS)),
                        kind=np.repeat(np.array(RECEPTORS), S),
                        reversal_mV=np.repeat([REVERSAL_MV[r] for r in RECEPTORS], S).astype(np.float64))


def site_layout(segments: SegmentTable):
    """The generator's view of the synapse sites (:class:`~surrogate_cell.data.inputs.SiteLayout`),
    from the segment table alone, so a stored data set's inputs can be redrawn."""
    return SiteLayout(apical=np.isin(segments.region, APICAL_REGIONS),
                      perisomatic=np.isin(segments.region, ("soma", "axon")),
                      length_um=np.asarray(segments.length_um, dtype=np.float64))
